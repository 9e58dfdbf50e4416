// SPDX-License-Identifier: MIT
/* gilscope top and gilscope serve: arguments, and the loop that hands each
 * frame of the live driver (trace/live.h) to its writer: the ncurses
 * screen or key=value lines (render/top.h), or the metrics endpoint
 * (render/metrics_http.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common.h"
#include "live_main.h"
#include "render/metrics_http.h"
#include "render/openmetrics.h"
#include "render/top.h"
#include "trace/detach.h"
#include "trace/live.h"

static const char top_usage[] =
"Usage: gilscope top [-p PID ... | -a] [--children] [-i SECONDS]\n"
"\n"
"A live view of CPython processes' GILs, refreshed every interval with the\n"
"figures of that interval: held %, contended %, waiters, hand-offs, waits/s,\n"
"wait p99, cores used, verdict; a process expands to its threads' states.\n"
"Without a terminal it prints one key=value line per process per interval.\n"
"\n"
"  -p, --pid PID          a process to trace (repeat for more)\n"
"  -a, --all              every CPython process on the host, those running\n"
"                         now and those that start later, containers included\n"
"      --children         also the named processes' descendants\n"
"  -i, --interval SECS    seconds between refreshes (default 1, 0.2 to 60)\n"
"  -d, --duration SECS    stop after SECS seconds (default: until q or Ctrl-C)\n"
"      --exact            uprobes on the GIL's take and drop (every cycle pays a\n"
"                         trap) instead of the default, --light: no uprobe,\n"
"                         figures of waits and hand-offs exact, held time\n"
"                         estimated from CPU samples (gilscope record --help)\n"
"  -v, --verbose          explain probe placement on stderr\n"
"  -h, --help             this help\n"
"\n"
"Keys: q quit; up/down (j/k) select; Enter or t threads of the selected\n"
"process; h c w p u n sort by held, contended, waits/s, wait p99, cores, PID.\n"
"At most 64 processes are traced at once; the rest are listed as waiting\n"
"and traced as slots free. Exit status: 0; 1 bad usage or a -p process that\n"
"cannot be traced; 2 this system cannot trace (privileges, BTF, BPF).\n";

static const char serve_usage[] =
"Usage: gilscope serve [--listen [ADDR:]PORT] [-p PID ... | -a] [--children] [--threads]\n"
"\n"
"Trace CPython processes' GILs and serve their figures at\n"
"http://ADDR:PORT/metrics for Prometheus (OpenMetrics or the Prometheus\n"
"text format, as the scraper asks): counters since attach of GIL held,\n"
"contended and hand-off seconds, waits, forced and voluntary releases, CPU\n"
"seconds with and without the GIL, thread-state seconds, and histograms of\n"
"hold and wait durations; labels pid, comm, python_version, container.\n"
"\n"
"      --listen [ADDR:]PORT  where to listen (default 127.0.0.1:9723; an\n"
"                         address other than loopback must be given)\n"
"  -p, --pid PID          a process to trace (repeat for more)\n"
"  -a, --all              every CPython process on the host, now and later\n"
"      --children         also the named processes' descendants\n"
"      --threads          per-thread series too (one per thread: mind the\n"
"                         cardinality)\n"
"  -i, --interval SECS    seconds between refreshes of the figures (default 1)\n"
"      --exact            uprobes instead of the default --light (see top --help)\n"
"  -d, --duration SECS    stop after SECS seconds (default: until Ctrl-C)\n"
"  -v, --verbose          explain probe placement on stderr\n"
"  -h, --help             this help\n"
"\n"
"Processes that exit leave the output. Exit status: 0; 1 bad usage (a\n"
"--listen that does not parse included) or a -p process that cannot be\n"
"traced; 2 this system cannot trace, or the address cannot be listened on\n"
"(in use, not this host's).\n";

struct live_opts {
	bool serve;
	pid_t pids[GS_MAX_LIVE_PIDS];
	size_t npids;
	bool all, children, threads, verbose, exact;
	double interval, duration;
	const char *listen;
};

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	stop = sig;
}

static int bad(const char *fmt, const char *arg)
{
	fputs("gilscope: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return EXIT_TARGET;
}

static int parse(int argc, char **argv, struct live_opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "children", no_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", no_argument, NULL, 'T' },
		{ "exact", no_argument, NULL, 'E' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	char *end;
	long v;
	int c;

	o->interval = 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:aci:d:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v <= 0 || v > 4194304)
				return bad("invalid PID '%s': expected a positive number", optarg);
			if (o->npids >= GS_MAX_LIVE_PIDS)
				return bad("too many -p (at most %s)", "64");
			o->pids[o->npids++] = (pid_t)v;
			break;
		case 'a':
			o->all = true;
			break;
		case 'c':
			o->children = true;
			break;
		case 'E':
			o->exact = true;
			break;
		case 'T':
			if (!o->serve)
				return bad("%s is an option of gilscope serve", "--threads");
			o->threads = true;
			break;
		case 'l':
			if (!o->serve)
				return bad("%s is an option of gilscope serve", "--listen");
			o->listen = optarg;
			break;
		case 'i':
		case 'd':
			errno = 0;
			{
				double d = strtod(optarg, &end);

				if (errno || end == optarg || *end || !(d > 0) || d > 1e7 ||
				    (c == 'i' && (d < 0.2 || d > 60)))
					return bad(c == 'i' ? "invalid interval '%s': expected seconds from 0.2 to 60"
							    : "invalid duration '%s': expected seconds > 0", optarg);
				if (c == 'i')
					o->interval = d;
				else
					o->duration = d;
			}
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fputs(o->serve ? serve_usage : top_usage, stdout);
			exit(EXIT_OK);
		default:
			return bad("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad("unexpected argument '%s' (see --help)", argv[optind]);
	if (!o->all && !o->npids)
		return bad("%s", "nothing to trace: give -p PID (repeatable) or -a (every CPython process)");
	if (o->all && o->npids)
		return bad("%s", "-a traces every process already: give -p or -a, not both");
	if (o->all && o->children)
		return bad("%s", "-a traces every process already: --children goes with -p");
	return 0;
}

/* The loop: frames to the writer until a stop. */
static int run(struct live_opts *o)
{
	struct live_cfg cfg = { .all = o->all, .pids = o->pids, .npids = o->npids, .children = o->children,
				.interval_s = o->interval, .views = o->serve ? LIVE_CUM : LIVE_IV,
				.light = !o->exact };
	struct sigaction sa = { .sa_handler = on_stop };
	struct om_opts om = { .threads = o->threads };
	struct metrics_http *http = NULL;
	struct top_ui *ui = NULL;
	struct live *l = NULL;
	uint64_t t_end = o->duration > 0 ? gs_mono_ns() + (uint64_t)(o->duration * 1e9) : 0;
	char err[512] = "";
	int e, code = EXIT_OK;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* a --listen that does not parse is bad usage; one that cannot be
	 * listened on (in use, not an address of this host) is the system's */
	if (o->serve && (e = metrics_http__start(&http, o->listen ? o->listen : "127.0.0.1:9723", err, sizeof(err))))
		return fprintf(stderr, "gilscope: %s\n", err), e == -EINVAL ? EXIT_TARGET : EXIT_SYSTEM;
	if ((e = live__open(&l, &cfg, &code, err, sizeof(err)))) {
		metrics_http__stop(http);
		fprintf(stderr, "gilscope: %s\n", err);
		return code ? code : EXIT_SYSTEM;
	}
	fprintf(stderr, o->exact ? "gilscope: --exact: uprobes on the GIL's take and drop (a trap every cycle)\n"
				 : "gilscope: --light: no uprobe; waits and hand-offs from futex calls, held time from "
				   "CPU samples (--exact for uprobes)\n");
	code = EXIT_OK;
	if (o->serve) {
		metrics_http__publish(http, live__frame(l), &om);
		fprintf(stderr, "gilscope: serving /metrics on port %d (%s); Ctrl-C to stop\n",
			metrics_http__port(http), o->listen ? o->listen : "127.0.0.1:9723");
	} else if ((e = top_ui__open(&ui, isatty(STDOUT_FILENO) && isatty(STDIN_FILENO), stdout, err, sizeof(err)))) {
		live__close(l);
		fprintf(stderr, "gilscope: %s\n", err);
		return EXIT_SYSTEM;
	}
	while (!stop) {
		e = live__poll(l, 100, err, sizeof(err));
		if (e < 0) {
			/* a read the stop signal interrupted is no failure */
			if (!stop) {
				code = EXIT_SYSTEM;
				fprintf(stderr, "gilscope: %s\n", err);
			}
			err[0] = 0;
			break;
		}
		if (o->serve && e != LIVE_NOTHING)
			metrics_http__publish(http, live__frame(l), &om);
		/* scrapes waiting for this frame's text: rendered here, where
		 * the frame stays unchanged until the next live__poll */
		metrics_http__render_pending(http);
		if (!o->serve && e == LIVE_TICK)
			top_ui__draw(ui, live__frame(l));
		if (ui && top_ui__keys(ui))
			break;
		/* -p alone: nothing left to trace */
		if (!o->all && !o->children && !live__ntraced(l))
			break;
		if (t_end && gs_mono_ns() >= t_end)
			break;
	}
	top_ui__close(ui);
	metrics_http__stop(http);
	live__close(l);
	reaper__wait();
	if (code != EXIT_OK && err[0])
		fprintf(stderr, "gilscope: %s\n", err);
	return code;
}

int live_main(int argc, char **argv)
{
	struct live_opts o = { .serve = !strcmp(argv[0], "serve") };
	int e = parse(argc, argv, &o);

	if (e)
		return e;
	gs_verbose = o.verbose;
	return run(&o);
}
