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
#include "common.h"
#include "trace/children.h"
#include "trace/launch.h"
#include "inspect/pytarget.h"
#include "trace/detach.h"
#include "model/process.h"
#include "render/output.h"
#include "trace/session.h"
#include "model/stacks.h"
#include "model/timeline.h"
#include "trace/gil_tracer.h"
#include "live_main.h"
#include "trace/live.h"


static const char usage[] =
"Usage: gilscope record (-p PID | -a | -- COMMAND [ARGS...]) [options]\n"
"       gilscope top [-p PID ... | -a] [--children] [-i SECONDS]   (top --help)\n"
"       gilscope serve [--listen [ADDR:]PORT] [-p PID ... | -a]   (serve --help)\n"
"\n"
"Trace the GIL of a CPython 3.6-3.15 process with eBPF and report how long it\n"
"is held and waited for, what every thread does, which CPUs do the work, and\n"
"which case the process is in (GIL-bound, I/O-bound, native-parallel, ...).\n"
"\n"
"  -p, --pid PID          attach to a running process\n"
"  -a, --all              every CPython process on the host, those running at\n"
"                         the start and those that start later (at most 64 at\n"
"                         once), containers included: a report per process and\n"
"                         for all of them (no stack outputs, no --trace)\n"
"  -- COMMAND [ARGS...]   launch COMMAND (arguments passed unchanged) and trace\n"
"                         it from its first Python instruction\n"
"  -d, --duration SECS    stop after SECS seconds (default: until Ctrl-C,\n"
"                         SIGTERM or the target's exit); a launched COMMAND\n"
"                         keeps running after the window\n"
"      --children         also trace every CPython process the target forks or\n"
"                         spawns (multiprocessing, pre-fork servers), and its\n"
"                         descendants already running: a report per process\n"
"                         and for all of them (CPUs, parallelism, verdict)\n"
"      --json FILE        also write the report as JSON to FILE ('-': stdout;\n"
"                         the text report then goes to stderr)\n"
"      --light            no uprobe: a GIL taken and dropped with nobody\n"
"                         waiting costs the target nothing. Waits, hand-offs,\n"
"                         forced releases and contended holds stay exact\n"
"                         (futex calls); held/native on-CPU time is estimated\n"
"                         from CPU samples (-F, default 499 Hz). CPython 3.7+\n"
"                         on glibc; otherwise exact mode (docs/light-mode.md)\n"
"\n"
"Where the GIL goes (Python stacks; any combination):\n"
"      --folded FILE      folded stacks (flamegraph.pl, speedscope): views\n"
"                         wait, gil, nogil, blame; weights in us or samples\n"
"      --flamegraph FILE  interactive SVG flame graph of the same views\n"
"      --pprof FILE       the same views as a gzipped pprof profile (go tool\n"
"                         pprof, Pyroscope, Parca): a sample type per view\n"
"                         (wait, blame in ns), thread and pid labels\n"
"      --trace FILE       Chrome trace JSON (Perfetto, chrome://tracing): a\n"
"                         per-thread timeline of GIL ownership (--children:\n"
"                         one file per process, FILE.PID for descendants)\n"
"  -F, --freq HZ          CPU sampling rate for the gil/nogil views (default\n"
"                         199; --light: 499)\n"
"      --max-depth N      frames per stack (default and maximum 64)\n"
"      --bpf-stats        count runs and time of gilscope's BPF programs (JSON\n"
"                         \"bpf\"; adds ~40 ns per probe run)\n"
"  -v, --verbose          explain probe placement; show libbpf's log\n"
"  -h, --help             this help\n"
"  -V, --version          print the version\n"
"\n"
"Exit status: 0 success; 1 bad usage, an output file that cannot be written\n"
"(checked before tracing starts), or a target that cannot be traced (no\n"
"such PID, not CPython, Python 2 or PyPy, unsupported version, GIL code not\n"
"found); 2 this system cannot trace (not root / no CAP_BPF+CAP_PERFMON, no\n"
"kernel BTF, BPF load or attach failure); 3 the report was written but its\n"
"self-check failed: the interpreter's own count of GIL switches disagrees\n"
"with gilscope's (or the probes matched no GIL event), so the figures are\n"
"not trustworthy (the report says why at its top). In launch mode the\n"
"command's exit status is part of the report; gilscope does not take it.\n";

struct opts {
	pid_t pid;
	char **cmd;
	double duration;
	const char *json;
	const char *folded, *flamegraph, *trace, *pprof;
	int hz, max_depth;
	bool verbose, bpf_stats, children, all, light;
};

static volatile sig_atomic_t stop_signal;

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

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!gs_verbose && level != LIBBPF_WARN)
		return 0;
	if (!gs_verbose)
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
		{ "pprof", required_argument, NULL, 'P' },
		{ "trace", required_argument, NULL, 't' },
		{ "freq", required_argument, NULL, 'F' },
		{ "max-depth", required_argument, NULL, 'D' },
		{ "bpf-stats", no_argument, NULL, 'S' },
		{ "children", no_argument, NULL, 'c' },
		{ "all", no_argument, NULL, 'a' },
		{ "light", no_argument, NULL, 'L' },
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
					   : "unknown command '%s': the commands are record, top and serve (see --help)", argv[1]);
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	/* '+': stop at the first non-option, so the launched command's own
	 * options are never parsed as ours. */
	while ((c = getopt_long(argc, argv, "+p:d:F:avhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->all = true;
			break;
		case 'L':
			o->light = true;
			break;
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
		case 'c':
			o->children = true;
			break;
		case 'g':
			o->flamegraph = optarg;
			break;
		case 'P':
			o->pprof = optarg;
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
	if (o->all) {
		if (o->pid || o->cmd)
			return die(EXIT_TARGET, "-a traces every CPython process: give -a, -p PID or -- COMMAND, one of them");
		if (o->children)
			return die(EXIT_TARGET, "-a traces every process already: --children goes with -p or a command");
		if (o->folded || o->flamegraph || o->pprof || o->trace)
			return die(EXIT_TARGET, "-a does not take stack or trace outputs yet (--folded, --flamegraph, "
				   "--pprof, --trace): use -p PID --children for a process tree");
		return 0;
	}
	if (!o->pid == !o->cmd)
		return die(EXIT_TARGET, o->pid ? "give either -p PID or a command after --, not both"
					       : "nothing to trace: give -p PID, -a or -- COMMAND (see --help)");
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


/* One recording: the target's session and, with --children, its tree's. */
struct run {
	struct opts *o;
	struct tracer *tr;        /* one BPF object for every process */
	struct session_cfg cfg;
	struct session root;
	struct children kids;
	bool follow;              /* --children */
	struct output_files of;   /* opened before tracing starts */
};

/* --children follows a CPython process's tree, not yet another program's. */
#define NOT_ROOT_HINT "; --children needs a CPython target: give it the Python parent of the processes to trace " \
	"(a shell or supervisor that starts them is not followed yet)"

static int run_begin(struct run *r, pid_t pid)
{
	int e = session__begin(&r->root, pid);

	if (e || !r->follow)
		return e;
	/* Before the target runs on (launch mode): its first fork is seen. */
	e = children__start(&r->kids, pid, &r->cfg, r->root.err, sizeof(r->root.err));
	if (e)
		r->root.exit_code = EXIT_SYSTEM;
	return e;
}

static int at_entry(pid_t pid, void *ctx)
{
	struct run *r = ctx;
	int e = run_begin(r, pid);

	if (e == -ENOEXEC) {
		gs_note("PID %d runs %s, not CPython yet: waiting for its next exec, or a Python runtime it loads itself", pid, r->root.pt.exe);
		return 0;
	}
	return e ? e : 1;
}

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* --trace: each record goes to its process's timeline. */
static void on_trace(const struct gs_trace_rec *rec, void *ctx)
{
	struct run *r = ctx;
	struct session *s = NULL;

	if ((pid_t)rec->tgid == r->root.pt.pid)
		s = &r->root;
	for (size_t i = r->kids.n; !s && i-- > 0;)
		if (r->kids.s[i]->pt.pid == (pid_t)rec->tgid && r->kids.s[i]->live)
			s = r->kids.s[i];
	if (s && s->tw)
		timeline__add(s->tw, rec);
}

/* Wait until a signal, the duration, or the target's exit. Follows the
 * process tree, drains trace records, and once a second harvests exited
 * threads and reads the switch interval. */
static void poll_loop(struct run *r, int pidfd, struct launch_status *ls)
{
	uint64_t start = (gs_mono_ns() / 1000000), last = start;
	/* the target's exit, and (--children) a process event: a new child
	 * is attached as soon as its fork is known */
	struct pollfd pfd[2] = { { .fd = pidfd, .events = POLLIN },
				 { .fd = r->follow ? children__fd(&r->kids) : -1, .events = POLLIN } };
	struct session *root = &r->root;
	dev_t dev0, dev1;
	ino_t ino0, ino1;
	/* the program traced: another one (an exec) ends the window */
	bool have_exe = gs_exe_id(root->pt.pid, &dev0, &ino0);

	for (;;) {
		int n;
		uint64_t now;

		if (r->cfg.trace)
			tracer__poll(r->tr, r->follow ? 0 : 100);   /* waits on the ring buffer */
		n = poll(pfd, 2, r->follow && children__retrying(&r->kids) ? 5 :
				 r->cfg.trace ? (r->follow ? 50 : 0) : 200);
		if (r->follow && (n <= 0 || pfd[1].revents))
			children__poll(&r->kids, 0);
		now = (gs_mono_ns() / 1000000);
		if (stop_signal)
			break;
		if (n > 0 && (pfd[0].revents & (POLLIN | POLLHUP))) {
			ls->exited = true;
			break;
		}
		if (pidfd < 0 && kill(root->pt.pid, 0) && errno == ESRCH) {
			ls->exited = true;
			break;
		}
		if (have_exe && gs_exe_id(root->pt.pid, &dev1, &ino1) && (dev1 != dev0 || ino1 != ino0)) {
			fprintf(stderr, "gilscope: PID %d exec'd another program: the window ends there (the report "
				"covers the program traced until then)\n", (int)root->pt.pid);
			root->execd = true;
			break;
		}
		if (now - last >= 1000) {
			tracer__harvest(r->tr);
			session__tick(root);
			for (size_t i = 0; r->follow && i < r->kids.n; i++)
				session__tick(r->kids.s[i]);
			last = now;
		}
		if (r->o->duration > 0 && now - start >= (uint64_t)(r->o->duration * 1000))
			break;
	}
}

/* Every output of the models, then their self-checks (written, but the
 * interpreter's own count contradicts the figures: EXIT_UNTRUSTED); frees
 * the models. An exit code. */
static int write_all(struct run *r, struct proc_model *procs, size_t n, struct family_model *fam)
{
	int e = output__write(&r->of, stdout, procs, n);

	for (size_t i = 0; !e && i < n; i++)
		if (!procs[i].rep.check.ok) {
			fprintf(stderr, "gilscope: PID %d: the self-check failed: %s\n", procs[i].rep.pt->pid,
				procs[i].rep.check.nproblems ? procs[i].rep.check.problems[0] : "");
			e = EXIT_UNTRUSTED;
		}
	family_model__free(fam, procs);
	for (size_t i = 0; i < n; i++)
		proc_model__free(&procs[i]);
	return e;
}

/* Close every window (children first: theirs then lie inside the
 * target's), build each process's model, write every output. */
static int finish(struct run *r, const struct launch_status *ls)
{
	bool with_stacks = r->o->folded || r->o->flamegraph || r->o->pprof;
	struct family_model fam = {};
	struct proc_model *procs;
	size_t n = 1;
	int e;

	if (r->follow)
		children__end_all(&r->kids);
	if ((e = session__end(&r->root)))
		return die(EXIT_SYSTEM, "cannot read the results back: %s", strerror(-e));
	for (size_t i = 0; r->follow && i < r->kids.n; i++)
		n += r->kids.s[i]->done;
	if (!(procs = calloc(n, sizeof(*procs))))
		return die(EXIT_SYSTEM, "out of memory");
	proc_model__build(&procs[0], &r->root.pt, &r->root.res, ls, with_stacks, r->follow);
	procs[0].rep.parent = r->root.parent;
	procs[0].tw = r->root.tw;
	n = 1;
	for (size_t i = 0; r->follow && i < r->kids.n; i++) {
		struct session *s = r->kids.s[i];

		if (!s->done)
			continue;
		proc_model__build(&procs[n], &s->pt, &s->res, NULL, with_stacks, true);
		procs[n].rep.parent = s->parent;
		procs[n++].tw = s->tw;
	}
	if (r->follow) {
		family_model__build(&fam, procs, n);
		fam.rep.skip = r->kids.skip;
		fam.rep.nskip = r->kids.nskip;
		fam.rep.lost = children__lost(&r->kids);
		fam.rep.preexec_dropped = r->kids.preexec_dropped;
	}
	e = write_all(r, procs, n, &fam);
	free(procs);
	return e;
}

/* Trace, then write every output (open already). An exit code. */
static int record(struct run *r)
{
	struct opts o = *r->o;
	struct launch_status ls = {};
	struct sigaction sa = { .sa_handler = on_signal };
	int e, pidfd = -1, status = 0;

	r->cfg = (struct session_cfg){ .stacks = o.folded || o.flamegraph || o.pprof, .trace = o.trace != NULL, .hz = o.hz,
				      .max_depth = o.max_depth, .bpf_stats = o.bpf_stats, .children = o.children,
				      .light = o.light, .tr = &r->tr, .on_trace = on_trace, .trace_ctx = r };
	r->root.cfg = &r->cfg;
	r->follow = o.children;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (o.cmd) {
		/* The command shares our terminal: Ctrl-C reaches it too and
		 * we report once it is gone. */
		ls.launched = true;
		e = launch__start(o.cmd, at_entry, r, &o.pid, &status);
		if (e == -ECHILD) {
			if (WIFSIGNALED(status))
				return die(EXIT_TARGET, "'%s' was killed by signal %d before it started CPython",
					   o.cmd[0], WTERMSIG(status));
			return die(EXIT_TARGET, "'%s' exited with status %d without starting CPython (not a Python program?)%s",
				   o.cmd[0], WEXITSTATUS(status), o.children ? NOT_ROOT_HINT : "");
		}
		if (e && r->root.err[0])
			return die(r->root.exit_code ? r->root.exit_code : EXIT_TARGET, "%s", r->root.err);
		if (e)
			return die(EXIT_TARGET, "cannot run '%s': %s", o.cmd[0], strerror(-e));
	} else {
		e = run_begin(r, o.pid);
		if (e) {
			tracer__free(r->tr);
			session__free(&r->root);
			return die(r->root.exit_code, "%s%s", r->root.err, e == -ENOEXEC && o.children ? NOT_ROOT_HINT : "");
		}
	}
	fprintf(stderr, "gilscope: tracing PID %d (CPython %s)%s%s\n", r->root.pt.pid, r->root.pt.version,
		r->follow ? " and its descendants" : "", o.duration > 0 ? "" : "; Ctrl-C to stop");
	/* The target is traced: our own trap timing no longer delays it. */
	tracer__time_trap(r->tr);
	pidfd = pidfd_open(r->root.pt.pid);
	poll_loop(r, pidfd, &ls);
	if (ls.launched && ls.exited && waitpid(r->root.pt.pid, &status, 0) == r->root.pt.pid) {
		ls.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		ls.exit_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	}
	e = finish(r, &ls);
	reaper__wait();
	tracer__free(r->tr);
	if (r->follow)
		children__free(&r->kids);
	session__free(&r->root);
	if (pidfd >= 0)
		close(pidfd);
	return e;
}

/* record -a: every CPython process on the host over the window, through
 * the live driver (trace/live.h) without its figures; then one report per
 * process and one for all, in the --children report's shape: the process
 * traced longest (the lowest PID of those) heads it, every other one is a
 * "child" with its real parent. */
static int record_all(struct run *r)
{
	struct live_cfg cfg = { .all = true, .interval_s = 1, .views = 0, .keep_ended = true,
				.light = r->o->light };
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t start = gs_mono_ns();
	struct family_model fam = {};
	struct proc_model *procs = NULL;
	struct child_skip *skip = NULL;
	struct session **ss;
	struct live *l = NULL;
	char err[512] = "";
	size_t n = 0, head = 0;
	int e, code = EXIT_OK;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((e = live__open(&l, &cfg, &code, err, sizeof(err))))
		return die(code ? code : EXIT_SYSTEM, "%s", err);
	fprintf(stderr, "gilscope: tracing every CPython process on this host%s\n",
		r->o->duration > 0 ? "" : "; Ctrl-C to stop");
	while (!stop_signal) {
		e = live__poll(l, 200, err, sizeof(err));
		if (e < 0 && !stop_signal) {
			live__close(l);
			return die(EXIT_SYSTEM, "%s", err);
		}
		if (r->o->duration > 0 && gs_mono_ns() - start >= (uint64_t)(r->o->duration * 1e9))
			break;
	}
	n = live__end_all(l, &ss);
	for (size_t i = 0; i < n; i++)
		if (ss[i]->done && (!ss[head]->done || ss[i]->res.t0 < ss[head]->res.t0 ||
				    (ss[i]->res.t0 == ss[head]->res.t0 && ss[i]->pt.pid < ss[head]->pt.pid)))
			head = i;
	if (!n || !ss[head]->done) {
		live__close(l);
		reaper__wait();
		return die(EXIT_TARGET, "no CPython process was traced in the window");
	}
	procs = calloc(n, sizeof(*procs));
	if (!procs) {
		live__close(l);
		return die(EXIT_SYSTEM, "out of memory");
	}
	{
		size_t k = 0;
		const struct live_frame *f = live__frame(l);

		proc_model__build(&procs[k++], &ss[head]->pt, &ss[head]->res, NULL, false, true);
		for (size_t i = 0; i < n; i++) {
			if (i == head || !ss[i]->done)
				continue;
			proc_model__build(&procs[k], &ss[i]->pt, &ss[i]->res, NULL, false, true);
			procs[k++].rep.parent = ss[i]->parent;
		}
		family_model__build(&fam, procs, k);
		fam.rep.host_wide = true;
		if (f->nskips && (skip = calloc(f->nskips, sizeof(*skip)))) {
			for (size_t i = 0; i < f->nskips; i++) {
				skip[i].pid = f->skips[i].pid;
				memcpy(skip[i].comm, f->skips[i].comm, sizeof(skip[i].comm));
				snprintf(skip[i].reason, sizeof(skip[i].reason), "%s", f->skips[i].reason);
			}
			fam.rep.skip = skip;
			fam.rep.nskip = f->nskips;
		}
		e = write_all(r, procs, k, &fam);
	}
	free(procs);
	free(skip);
	live__close(l);
	reaper__wait();
	return e;
}

int main(int argc, char **argv)
{
	struct opts o = {};
	struct run r = { .o = &o };
	int e;

	if (argc >= 2 && (!strcmp(argv[1], "top") || !strcmp(argv[1], "serve"))) {
		bool help = false;

		for (int i = 2; i < argc; i++)
			help |= !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help");
		libbpf_set_print(libbpf_log);
		if (!help && !has_privileges())
			return die(EXIT_SYSTEM, "tracing needs root or CAP_BPF+CAP_PERFMON (and CAP_SYS_PTRACE): run it with sudo");
		if (!help && access("/sys/kernel/btf/vmlinux", R_OK) != 0)
			return die(EXIT_SYSTEM, "this kernel has no BTF (/sys/kernel/btf/vmlinux): gilscope needs CONFIG_DEBUG_INFO_BTF=y");
		return live_main(argc - 1, argv + 1);
	}
	if ((e = parse_args(argc, argv, &o)))
		return e;
	gs_verbose = o.verbose;
	libbpf_set_print(libbpf_log);
	if (!has_privileges())
		return die(EXIT_SYSTEM, "tracing needs root or CAP_BPF+CAP_PERFMON (and CAP_SYS_PTRACE): run it with sudo");
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return die(EXIT_SYSTEM, "this kernel has no BTF (/sys/kernel/btf/vmlinux): gilscope needs CONFIG_DEBUG_INFO_BTF=y");
	/* a path that cannot be written fails now, not after the window */
	r.of = (struct output_files){ .json = o.json, .folded = o.folded, .flamegraph = o.flamegraph,
				      .trace = o.trace, .pprof = o.pprof };
	if ((e = output__open(&r.of)))
		return e;
	e = o.all ? record_all(&r) : record(&r);
	output__abandon(&r.of);     /* removes what it created if nothing was written */
	return e;
}
