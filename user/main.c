// SPDX-License-Identifier: MIT
/* gilscope: is the GIL my bottleneck, where, and what should I do about it?
 *
 * Lifecycle: parse -> check privileges -> inspect target -> load BPF ->
 * attach -> seed state -> poll until stopped -> read back -> report. */
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "launch.h"
#include "pytarget.h"
#include "report.h"
#include "stacks.h"
#include "trace_json.h"
#include "tracer.h"

/* Exit codes, documented in --help and the README. */
enum { EXIT_OK = 0, EXIT_TARGET = 1, EXIT_SYSTEM = 2 };

static const char usage[] =
"Usage: gilscope record (-p PID | -- COMMAND [ARGS...]) [options]\n"
"\n"
"Trace the GIL of a CPython 3.6-3.14 process with eBPF and report how long it\n"
"is held and waited for, what every thread does, which CPUs do the work, and\n"
"which case the process is in (GIL-bound, I/O-bound, native-parallel, ...).\n"
"\n"
"  -p, --pid PID          attach to a running process\n"
"  -- COMMAND [ARGS...]   launch COMMAND (arguments passed unchanged) and trace\n"
"                         it from its first Python instruction\n"
"  -d, --duration SECS    stop after SECS seconds (default: until Ctrl-C,\n"
"                         SIGTERM or the target's exit)\n"
"      --json FILE        also write the report as JSON to FILE ('-': stdout;\n"
"                         the text report then goes to stderr)\n"
"\n"
"Where the GIL goes (Python stacks; any combination):\n"
"      --folded FILE      folded stacks (flamegraph.pl, speedscope): views\n"
"                         wait, gil, nogil, blame; weights in us or samples\n"
"      --flamegraph FILE  interactive SVG flame graph of the same views\n"
"      --trace FILE       Chrome trace JSON (Perfetto, chrome://tracing): a\n"
"                         per-thread timeline of GIL ownership\n"
"  -F, --freq HZ          CPU sampling rate for the gil/nogil views (default 199)\n"
"      --max-depth N      frames per stack (default and maximum 64)\n"
"      --bpf-stats        count runs and time of gilscope's BPF programs (JSON\n"
"                         \"bpf\"; adds ~40 ns per probe run)\n"
"  -v, --verbose          explain probe placement; show libbpf's log\n"
"  -h, --help             this help\n"
"  -V, --version          print the version\n"
"\n"
"Exit status: 0 success; 1 bad usage or a target that cannot be traced (no\n"
"such PID, not CPython, Python 2 or PyPy, unsupported version, GIL code not\n"
"found); 2 this system cannot trace (not root / no CAP_BPF+CAP_PERFMON, no\n"
"kernel BTF, BPF load or attach failure). In launch mode the command's exit\n"
"status is part of the report; gilscope still exits 0.\n";

struct opts {
	pid_t pid;
	char **cmd;
	double duration;
	const char *json;
	const char *folded, *flamegraph, *trace;
	int hz, max_depth;
	bool verbose, bpf_stats;
};

static volatile sig_atomic_t stop_signal;
static bool verbose;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("gilscope: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static void note(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	fputs("gilscope: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!verbose && level != LIBBPF_WARN)
		return 0;
	if (!verbose)
		return 0; /* failures are reported in one line by the caller */
	return vfprintf(stderr, fmt, ap);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", required_argument, NULL, 'J' },
		{ "folded", required_argument, NULL, 'f' },
		{ "flamegraph", required_argument, NULL, 'g' },
		{ "trace", required_argument, NULL, 't' },
		{ "freq", required_argument, NULL, 'F' },
		{ "max-depth", required_argument, NULL, 'D' },
		{ "bpf-stats", no_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	char *end;
	long v;
	int c;

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage, stdout);
		exit(EXIT_OK);
	}
	if (argc >= 2 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
		printf("gilscope %s\n", GS_VERSION);
		exit(EXIT_OK);
	}
	if (argc < 2 || strcmp(argv[1], "record") != 0)
		return die(EXIT_TARGET, argc < 2 ? "missing command: try 'gilscope record -p PID' or --help"
					   : "unknown command '%s': the command is 'record' (see --help)", argv[1]);
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	/* '+': stop at the first non-option, so the launched command's own
	 * options are never parsed as ours. */
	while ((c = getopt_long(argc, argv, "+p:d:F:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v <= 0 || v > 4194304)
				return die(EXIT_TARGET, "invalid PID '%s': expected a positive number", optarg);
			o->pid = (pid_t)v;
			break;
		case 'd':
			errno = 0;
			o->duration = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->duration > 0) || o->duration > 1e7)
				return die(EXIT_TARGET, "invalid duration '%s': expected seconds > 0, e.g. -d 10", optarg);
			break;
		case 'J':
			o->json = optarg;
			break;
		case 'f':
			o->folded = optarg;
			break;
		case 'S':
			o->bpf_stats = true;
			break;
		case 'g':
			o->flamegraph = optarg;
			break;
		case 't':
			o->trace = optarg;
			break;
		case 'F':
		case 'D':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > (c == 'F' ? 10000 : GS_MAX_FRAMES))
				return die(EXIT_TARGET, c == 'F' ? "invalid frequency '%s': expected 1-10000 Hz"
								  : "invalid depth '%s': expected 1-64 frames", optarg);
			if (c == 'F')
				o->hz = (int)v;
			else
				o->max_depth = (int)v;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(EXIT_OK);
		case 'V':
			printf("gilscope %s\n", GS_VERSION);
			exit(EXIT_OK);
		default:
			if (optopt && strchr("pdF", optopt))
				return die(EXIT_TARGET, "option -%c needs a value (see --help)", optopt);
			return die(EXIT_TARGET, "unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		o->cmd = &argv[optind];
	if (!o->pid == !o->cmd)
		return die(EXIT_TARGET, o->pid ? "give either -p PID or a command after --, not both"
					       : "nothing to trace: give -p PID or -- COMMAND (see --help)");
	return 0;
}

/* CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) load and attach the programs;
 * reading another process's memory needs ptrace rights on top. */
static bool has_privileges(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	if (geteuid() == 0)
		return true;
	if (syscall(SYS_capget, &h, d))
		return false;
#define HAS(c) (d[(c) / 32].effective & (1u << ((c) % 32)))
	return HAS(CAP_SYS_ADMIN) || (HAS(CAP_BPF) && HAS(CAP_PERFMON));
#undef HAS
}

struct session {
	struct opts *o;
	struct py_target pt;
	struct tracer *tr;
	struct trace_writer *tw;
	int exit_code;         /* set when a callback fails */
	char err[512];
};

static void explain_target(const struct py_target *pt)
{
	note("PID %d: CPython %s, runtime %s (bias 0x%llx)", pt->pid, pt->version, pt->runtime_obj,
	     (unsigned long long)pt->bias);
	for (int i = 0; i < pt->nprobes; i++) {
		static const char *const why[] = {
			"entry: wait starts; its return: GIL taken (found by name in the symbol table)",
			"entry: GIL released (found by name in the symbol table)",
			"call to pthread_cond_signal(switch_cond): GIL taken (found by decoding take_gil)",
			"call to pthread_cond_timedwait(cond): GIL busy, wait starts (found by decoding take_gil)",
			"call to pthread_cond_signal: a hold starts (switch_cond) or ends (cond), by the GIL's address",
			"call to pthread_cond_timedwait: a wait starts when it is the GIL's cond",
		};

		if (pt->call_sites && pt->probes[i].role == PROBE_TAKE)
			continue;
		note("  probe %s at file offset 0x%llx: %s", pt->probes[i].symbol,
		     (unsigned long long)pt->probes[i].offset, why[pt->probes[i].role]);
	}
	note("  strategy %s: %s", pt->strategy, pt->strategy_why);
	if (!pt->call_sites && !pt->keyed)
		note("  take_gil's call sites were not found (or GILSCOPE_NO_CALL_SITES is set): using a uretprobe");
	if (pt->keyed)
		note("  GIL at cond=0x%llx switch_cond=0x%llx; drop request %s", (unsigned long long)pt->gil_cond_addr,
		     (unsigned long long)pt->gil_switch_cond_addr,
		     pt->drop_req_addr || pt->drop_req_ptr_addr ? "flag read at each release"
							    : "unknown for this version: releases count as voluntary");
	note("  %d code range(s) mark a release as forced (the eval loop's drop-request path)", pt->nforced);
}

/* Inspect, load, attach and seed: everything before the window opens. */
static void on_trace(const struct gs_trace_rec *r, void *ctx)
{
	struct session *s = ctx;

	if (s->tw)
		trace_writer__add(s->tw, r);
}

static int session_begin(struct session *s, pid_t pid)
{
	struct tracer_opts topts = {};
	struct gil_snapshot snap;
	bool want_stacks;
	int e;

	e = py_target__inspect(pid, &s->pt, s->err, sizeof(s->err));
	if (e) {
		s->exit_code = e == -EACCES || e == -EPERM ? EXIT_SYSTEM : EXIT_TARGET;
		return e;
	}
	explain_target(&s->pt);
	want_stacks = s->o->folded || s->o->flamegraph;
	if ((want_stacks || s->o->trace) && !s->pt.can_walk)
		fprintf(stderr, "gilscope: no Python stack layout for CPython %s: stacks are left out\n", s->pt.version);
	topts.stacks = want_stacks;
	topts.sample_hz = want_stacks ? (s->o->hz ? s->o->hz : 199) : 0;
	topts.max_depth = s->o->max_depth;
	topts.bpf_stats = s->o->bpf_stats;
	if (s->o->trace) {
		topts.on_trace = on_trace;
		topts.trace_ctx = s;
	}
	if ((e = tracer__load(&s->pt, &topts, &s->tr, s->err, sizeof(s->err))) ||
	    (e = tracer__attach(s->tr, &s->pt, s->err, sizeof(s->err)))) {
		s->exit_code = EXIT_SYSTEM;
		py_target__release(&s->pt);
		return e;
	}
	/* The trace's time 0 is the window's start. */
	if (s->o->trace && !(s->tw = trace_writer__new(s->pt.pid, s->pt.comm, tracer__t0(s->tr)))) {
		s->exit_code = EXIT_SYSTEM;
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -ENOMEM;
	}
	/* Read the GIL after the probes are live: a switch in between is
	 * then seen by the probes, and the seed defers to them. */
	if (py_target__read_gil(&s->pt, &snap) != 0)
		snap.locked = -2;
	note("GIL at attach: locked=%d holder tstate=0x%llx tid=%u pthread=0x%llx", snap.locked,
	     (unsigned long long)snap.holder_tstate, snap.holder_tid, (unsigned long long)snap.holder_pthread);
	e = tracer__start(s->tr, &s->pt, snap.locked >= -1 ? &snap : NULL, s->err, sizeof(s->err));
	if (e)
		s->exit_code = EXIT_SYSTEM;
	py_target__release(&s->pt);   /* the probes hold the file now */
	return e;
}

static int at_entry(pid_t pid, void *ctx)
{
	struct session *s = ctx;
	int e = session_begin(s, pid);

	if (e == -ENOEXEC) {
		note("PID %d runs %s, not CPython yet: waiting for its next exec", pid, s->pt.exe);
		return 0;
	}
	return e ? e : 1;
}

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait until a signal, the duration, or the target's exit. Harvests exited
 * threads and samples the switch interval once a second. */
static void poll_loop(struct session *s, int pidfd, struct launch_status *ls, int *interval_us)
{
	uint64_t start = mono_ms(), last = start;
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
	struct gil_snapshot snap;

	for (;;) {
		/* With --trace the ring buffer is drained between checks. */
		int n = s->tw ? (tracer__poll(s->tr, 100), poll(&pfd, pidfd >= 0 ? 1 : 0, 0))
			      : poll(&pfd, pidfd >= 0 ? 1 : 0, 200);
		uint64_t now = mono_ms();

		if (stop_signal)
			break;
		if (n > 0 && (pfd.revents & (POLLIN | POLLHUP))) {
			ls->exited = true;
			break;
		}
		if (pidfd < 0 && kill(s->pt.pid, 0) && errno == ESRCH) {
			ls->exited = true;
			break;
		}
		if (now - last >= 1000 || *interval_us < 0) {
			if (py_target__read_gil(&s->pt, &snap) == 0 && snap.locked >= 0)
				*interval_us = (int)snap.interval_us;
			if (now - last >= 1000) {
				tracer__harvest(s->tr);
				last = now;
			}
		}
		if (s->o->duration > 0 && now - start >= (uint64_t)(s->o->duration * 1000))
			break;
	}
}

static const char *thread_name(uint32_t tid, void *ctx)
{
	const struct gs_result *res = ctx;

	for (size_t i = 0; i < res->nthreads; i++)
		if (res->threads[i].tid == tid)
			return res->threads[i].name;
	return "thread";
}

/* --folded, --flamegraph, --trace. Returns an exit code. */
static int write_extras(struct session *s, const struct gs_result *res, const struct stack_report *sr)
{
	const struct opts *o = s->o;
	FILE *f;
	int e = 0;

	if (o->folded) {
		if (!(f = fopen(o->folded, "w")))
			return die(EXIT_TARGET, "cannot write %s: %s", o->folded, strerror(errno));
		e = stack_report__write_folded(sr, f);
		if (fclose(f) || e)
			return die(EXIT_TARGET, "cannot write %s", o->folded);
	}
	if (o->flamegraph) {
		struct fg_view views[GS_NR_VIEWS];
		char title[128];

		for (int v = 0; v < GS_NR_VIEWS; v++)
			views[v] = (struct fg_view){ sr->views[v].name, sr->views[v].title, sr->views[v].unit,
						     sr->views[v].stacks, sr->views[v].n };
		snprintf(title, sizeof(title), "gilscope: PID %d (%s), CPython %s", s->pt.pid, s->pt.comm,
			 s->pt.version);
		if (!(f = fopen(o->flamegraph, "w")))
			return die(EXIT_TARGET, "cannot write %s: %s", o->flamegraph, strerror(errno));
		e = flamegraph__write_svg(f, title, views, GS_NR_VIEWS);
		if (fclose(f) || e)
			return die(EXIT_TARGET, "cannot write %s", o->flamegraph);
	}
	if (o->trace && s->tw) {
		for (size_t i = 0; i < res->nthreads; i++) {
			char name[48];

			snprintf(name, sizeof(name), "%s [%u]", res->threads[i].name, res->threads[i].tid);
			trace_writer__thread_name(s->tw, res->threads[i].tid, name);
		}
		if (!(f = fopen(o->trace, "w")))
			return die(EXIT_TARGET, "cannot write %s: %s", o->trace, strerror(errno));
		e = trace_writer__write(s->tw, f, res->t1, res->counters[GS_C_TRACE_LOST]);
		if (fclose(f) || e)
			return die(EXIT_TARGET, "cannot write %s", o->trace);
	}
	return EXIT_OK;
}

static int write_reports(const struct gs_report *rep, const char *json)
{
	FILE *text = stdout, *jf = NULL;
	int e = 0;

	if (json && !strcmp(json, "-")) {
		text = stderr;
		jf = stdout;
	} else if (json) {
		jf = fopen(json, "w");
		if (!jf)
			return die(EXIT_TARGET, "cannot write %s: %s", json, strerror(errno));
	}
	gs_report__print_text(rep, text);
	fflush(text);
	if (jf) {
		e = gs_report__print_json(rep, jf);
		if (jf != stdout && fclose(jf) != 0)
			e = -errno;
		if (e)
			return die(EXIT_TARGET, "cannot write %s: %s", json, strerror(-e));
	}
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct opts o = {};
	struct session s = { .o = &o };
	struct launch_status ls = {};
	struct gs_result res = {};
	struct gs_report rep = {};
	struct stack_report sr = {};
	struct sigaction sa = { .sa_handler = on_signal };
	int e, pidfd = -1, status = 0, interval_us = -1;

	if ((e = parse_args(argc, argv, &o)))
		return e;
	verbose = o.verbose;
	libbpf_set_print(libbpf_log);
	if (!has_privileges())
		return die(EXIT_SYSTEM, "tracing needs root or CAP_BPF+CAP_PERFMON (and CAP_SYS_PTRACE): run it with sudo");
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return die(EXIT_SYSTEM, "this kernel has no BTF (/sys/kernel/btf/vmlinux): gilscope needs CONFIG_DEBUG_INFO_BTF=y");

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (o.cmd) {
		/* The command shares our terminal: Ctrl-C reaches it too and
		 * we report once it is gone. */
		ls.launched = true;
		e = launch__start(o.cmd, at_entry, &s, &o.pid, &status);
		if (e == -ECHILD) {
			if (WIFSIGNALED(status))
				return die(EXIT_TARGET, "'%s' was killed by signal %d before it started CPython",
					   o.cmd[0], WTERMSIG(status));
			return die(EXIT_TARGET, "'%s' exited with status %d without starting CPython (not a Python program?)",
				   o.cmd[0], WEXITSTATUS(status));
		}
		if (e && s.err[0])
			return die(s.exit_code ? s.exit_code : EXIT_TARGET, "%s", s.err);
		if (e)
			return die(EXIT_TARGET, "cannot run '%s': %s", o.cmd[0], strerror(-e));
	} else {
		e = session_begin(&s, o.pid);
		if (e) {
			tracer__free(s.tr);
			return die(s.exit_code, "%s", s.err);
		}
	}
	fprintf(stderr, "gilscope: tracing PID %d (CPython %s)%s\n", s.pt.pid, s.pt.version,
		o.duration > 0 ? "" : "; Ctrl-C to stop");
	pidfd = pidfd_open(s.pt.pid);
	poll_loop(&s, pidfd, &ls, &interval_us);
	if (ls.launched && ls.exited && waitpid(s.pt.pid, &status, 0) == s.pt.pid) {
		ls.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		ls.exit_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	}
	e = tracer__stop(s.tr, &s.pt, &res);
	if (e) {
		tracer__free(s.tr);
		return die(EXIT_SYSTEM, "cannot read the results back: %s", strerror(-e));
	}
	res.interval_us = interval_us;
	/* Stacks exist only when a stack output asked for them. */
	if ((o.folded || o.flamegraph) && stack_report__build(&sr, &res, thread_name, &res) == 0)
		rep.stacks = &sr;
	gs_report__build(&rep, &s.pt, &res, &ls);
	e = write_reports(&rep, o.json);
	if (!e)
		e = write_extras(&s, &res, &sr);
	stack_report__free(&sr);
	trace_writer__free(s.tw);
	gs_report__free(&rep);
	gs_result__free(&res);
	tracer__free(s.tr);
	if (pidfd >= 0)
		close(pidfd);
	return e;
}
