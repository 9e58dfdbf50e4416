// SPDX-License-Identifier: MIT
/* floor: the trap floor of the overhead benchmark (tools/bench/bench.py).
 *
 * Attaches one empty BPF program at each OBJECT:FILE_OFFSET, for one
 * process only, the way gilscope attaches its GIL probes (a perf-event
 * uprobe link with a PID filter), and keeps the probes until SIGINT or
 * SIGTERM or until the process is gone. What the process then loses is the
 * price of the traps alone: no BPF work, no tracepoints.
 *
 * With -t, the tracepoint floor of --light instead: empty programs on the
 * tracepoints --light attaches (futex syscall entry and exit, the
 * scheduler's switch), which fire for every process, and no uprobe. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "floor.skel.h"

#define MAX_PROBES 64

static const char usage[] =
"Usage: floor -p PID OBJECT:FILE_OFFSET[%return] [OBJECT:FILE_OFFSET...]\n"
"       floor -t -p PID\n"
"\n"
"Attach an empty BPF uprobe program at each file offset (0x... or decimal) of\n"
"each OBJECT, for process PID only; '%return' makes it a return probe on the\n"
"function at that offset. Print 'floor: attached N probes to PID' once all\n"
"are in place, then wait for SIGINT/SIGTERM or PID's exit.\n"
"\n"
"-t: instead, empty programs on the tracepoints gilscope --light uses\n"
"(syscalls:sys_enter_futex, syscalls:sys_exit_futex, sched_switch), for every\n"
"process; 'floor: attached 3 tracepoints' once in place; PID only bounds the\n"
"wait.\n";

struct spot {
	const char *path;
	unsigned long long offset;
	bool ret;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

/* Failures are said in one line each by the caller. */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static const char *errstr(int e)
{
	/* ENOTSUPP, kernel-internal: the offset is not an instruction the
	 * kernel can probe */
	return e == 524 ? "not an instruction the kernel can probe there" : strerror(e);
}

/* OBJECT:OFFSET[%return], split in place at the last ':'. */
static int parse_spot(char *arg, struct spot *s)
{
	char *colon = strrchr(arg, ':'), *end, *sfx;
	const char *num;

	if (!colon || colon == arg || !colon[1])
		return -EINVAL;
	*colon = '\0';
	num = colon + 1;
	sfx = strchr(num, '%');
	s->ret = sfx && !strcmp(sfx, "%return");
	if (sfx && !s->ret)
		return -EINVAL;
	if (sfx)
		*sfx = '\0';
	errno = 0;
	if (!strncmp(num, "0x", 2) || !strncmp(num, "0X", 2))
		s->offset = strtoull(num + 2, &end, 16);
	else
		s->offset = strtoull(num, &end, 10);
	if (errno || end == num || *end || *num == '-' || *num == '+')
		return -EINVAL;
	s->path = arg;
	return 0;
}

/* Sleep until SIGINT/SIGTERM or PID's exit. */
static void wait_for_end(long pid)
{
	while (!stop && (!kill(pid, 0) || errno != ESRCH))
		usleep(100 * 1000);
}

/* The BPF object loaded and the stop signals caught, for live process
 * pid; NULL (said) otherwise. */
static struct floor_bpf *load(long pid)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct floor_bpf *skel;

	if (kill(pid, 0) && errno == ESRCH) {
		fprintf(stderr, "floor: no process %ld\n", pid);
		return NULL;
	}
	libbpf_set_print(libbpf_log);
	skel = floor_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "floor: cannot load the BPF programs: %s\n", strerror(errno));
		return NULL;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return skel;
}

/* floor -t: the tracepoint floor. */
static int attach_tracepoints(long pid)
{
	struct floor_bpf *skel;
	struct bpf_program *progs[3];
	struct bpf_link *links[3] = {};
	int i, ret = 1;

	if (!(skel = load(pid)))
		return 1;
	progs[0] = skel->progs.floor_futex_enter;
	progs[1] = skel->progs.floor_futex_exit;
	progs[2] = skel->progs.floor_switch;
	for (i = 0; i < 3; i++) {
		links[i] = bpf_program__attach(progs[i]);
		if (!links[i]) {
			fprintf(stderr, "floor: cannot attach %s: %s\n", bpf_program__name(progs[i]),
				strerror(errno));
			goto out;
		}
	}
	fprintf(stderr, "floor: attached 3 tracepoints\n");
	wait_for_end(pid);
	ret = 0;
out:
	for (i = 0; i < 3; i++)
		bpf_link__destroy(links[i]);
	floor_bpf__destroy(skel);
	return ret;
}

int main(int argc, char **argv)
{
	struct bpf_link *links[MAX_PROBES] = {};
	struct spot spots[MAX_PROBES];
	struct floor_bpf *skel;
	int opt, n, i, e, ret = 1;
	bool tracepoints = false;
	char *end;
	long pid = 0;

	while ((opt = getopt(argc, argv, "p:th")) != -1) {
		switch (opt) {
		case 't':
			tracepoints = true;
			break;
		case 'p':
			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || pid <= 0 || pid > INT_MAX) {
				fprintf(stderr, "floor: bad PID '%s'\n", optarg);
				return 1;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 1;
		}
	}
	n = argc - optind;
	if (tracepoints && pid && n == 0)
		return attach_tracepoints(pid);
	if (tracepoints) {
		fprintf(stderr, "floor: -t takes -p PID and no probe\n%s", usage);
		return 1;
	}
	if (!pid || n < 1) {
		fprintf(stderr, "floor: %s\n%s", !pid ? "-p PID is required" : "no probe given", usage);
		return 1;
	}
	if (n > MAX_PROBES) {
		fprintf(stderr, "floor: %d probes given, at most %d\n", n, MAX_PROBES);
		return 1;
	}
	for (i = 0; i < n; i++) {
		const char *arg = argv[optind + i];
		char *copy = strdupa(arg);

		if (parse_spot(copy, &spots[i])) {
			fprintf(stderr, "floor: bad probe '%s': want OBJECT:FILE_OFFSET[%%return]\n", arg);
			return 1;
		}
		if (access(spots[i].path, R_OK)) {
			fprintf(stderr, "floor: %s: %s\n", spots[i].path, strerror(errno));
			return 1;
		}
	}
	if (!(skel = load(pid)))
		return 1;
	for (i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = spots[i].ret);

		links[i] = bpf_program__attach_uprobe_opts(skel->progs.floor_hit, pid, spots[i].path,
							   spots[i].offset, &uo);
		if (!links[i]) {
			e = errno;
			fprintf(stderr, "floor: cannot attach a %s to %s at 0x%llx in PID %ld: %s\n",
				spots[i].ret ? "uretprobe" : "uprobe", spots[i].path, spots[i].offset,
				pid, errstr(e));
			goto out;
		}
	}
	fprintf(stderr, "floor: attached %d probes to PID %ld\n", n, pid);
	wait_for_end(pid);
	ret = 0;
out:
	for (i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	floor_bpf__destroy(skel);
	return ret;
}
