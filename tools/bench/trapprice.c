// SPDX-License-Identifier: MIT
/* trapprice: what one uprobe hit costs on this machine, by the kind of
 * instruction the probe sits on (tools/bench/bench.py measures it at the
 * start of every run; issue 16).
 *
 * Two functions of this program are probed in turn with the trap floor's
 * empty BPF program (floor.bpf.c), for this process only:
 *   site_push  starts with `push %rbp`, as most function entries do: the
 *              kernel puts an int3 there and emulates the instruction;
 *   site_nop5  starts with the 5-byte nop `0f 1f 44 00 00` (what
 *              -fpatchable-function-entry and some compilers' padding put
 *              there): a kernel with optimized uprobes (6.18, x86-64)
 *              rewrites it into a call to its uprobe trampoline after the
 *              first hits.
 * Each is called N times before (unprobed) and after the probe goes in;
 * the price is the added time per call, the best of R rounds. Prints one
 * line per site: `trapprice: SITE NS ns` (wall time per hit), or why it
 * could not be timed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "floor.skel.h"

/* The probed sites: in assembly, so their first instruction is exactly the
 * one named (a C function's depends on the compiler and its flags). */
__asm__(".text\n"
	".globl site_push\n.type site_push,@function\n"
	"site_push:\n\tpush %rbp\n\tmov %rsp,%rbp\n\tpop %rbp\n\tret\n"
	".size site_push, .-site_push\n"
	".globl site_nop5\n.type site_nop5,@function\n"
	"site_nop5:\n\t.byte 0x0f,0x1f,0x44,0x00,0x00\n\tret\n"
	".size site_nop5, .-site_nop5\n");
void site_push(void);
void site_nop5(void);

static const char usage[] =
"Usage: trapprice [-n CALLS] [-r ROUNDS]\n"
"\n"
"Time a uprobe hit on a function starting with push %rbp (an int3 the kernel\n"
"emulates) and on one starting with a 5-byte nop (which a kernel with\n"
"optimized uprobes turns into a call): ns added per call, the best of\n"
"ROUNDS rounds of CALLS calls (default 200000 x 5).\n";

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ns per call of fn, the best of rounds. */
static double per_call(void (*volatile fn)(void), long calls, int rounds)
{
	double best = -1;

	for (int r = 0; r < rounds; r++) {
		double t0 = now_ns(), t;

		for (long i = 0; i < calls; i++)
			fn();
		t = (now_ns() - t0) / calls;
		if (best < 0 || t < best)
			best = t;
	}
	return best;
}

static int price(struct floor_bpf *skel, const char *name, void (*fn)(void), long calls, int rounds)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = name);
	struct bpf_link *l;
	double base, hit;

	base = per_call(fn, calls, rounds);
	l = bpf_program__attach_uprobe_opts(skel->progs.floor_hit, getpid(), "/proc/self/exe", 0, &uo);
	if (!l) {
		printf("trapprice: %s cannot be probed: %s\n", name, strerror(errno));
		return 1;
	}
	per_call(fn, calls / 10 + 1, 1);    /* the kernel optimizes after the first hits */
	hit = per_call(fn, calls, rounds);
	bpf_link__destroy(l);
	printf("trapprice: %s %.0f ns\n", name, hit - base);
	return 0;
}

int main(int argc, char **argv)
{
	struct floor_bpf *skel;
	long calls = 200000;
	int rounds = 5, opt, bad = 0;

	while ((opt = getopt(argc, argv, "n:r:h")) != -1) {
		switch (opt) {
		case 'n':
			calls = strtol(optarg, NULL, 10);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (calls < 1 || rounds < 1 || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	libbpf_set_print(quiet);
	if (!(skel = floor_bpf__open_and_load())) {
		fprintf(stderr, "trapprice: cannot load the BPF program: %s\n", strerror(errno));
		return 1;
	}
	bad += price(skel, "site_push", site_push, calls, rounds);
	bad += price(skel, "site_nop5", site_nop5, calls, rounds);
	floor_bpf__destroy(skel);
	return bad ? 1 : 0;
}
