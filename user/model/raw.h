/* SPDX-License-Identifier: MIT */
/* What one recording produced: raw aggregates read back from BPF plus the
 * in-flight state closed at the end of the window. Derived figures
 * (percentages, percentiles, verdict) are computed by report.c. */
#ifndef GS_RESULT_H
#define GS_RESULT_H

#include <stdbool.h>
#include <stdint.h>
#include "gil.h"
#include "inspect/cpulimits.h"
#include "pystack.h"

struct thread_rec {
	uint32_t tid;
	char name[16];
	struct gs_thread st;      /* ns[] include the in-flight interval */
	double wait_p99_ns;
	int ns_tid;               /* its TID in the target's PID namespace at the
				     window's close, 0 unknown (exited) */
	bool exited;
	uint32_t merged;          /* a row of this many exited threads (tid 0,
				     model/threads.h), 0: one thread */
};

struct stack_count {
	struct gs_stack_key k;
	uint64_t weight;          /* ns (wait, blame) or samples (gil, nogil) */
};

struct stack_entry {
	uint64_t id;
	struct gs_pystack st;
};

struct code_entry {
	uint64_t addr;
	struct gs_code c;
};

/* A sub-interpreter's own GIL (3.12+). */
struct subgil_rec {
	uint64_t addr;
	struct gs_subgil g;
	uint64_t inflight_hold_ns;  /* holds still open at t1 */
};

/* Kernel statistics of one BPF program over the window. */
struct prog_stat {
	const char *name;
	uint64_t runs;            /* run_cnt (0 unless stats were enabled) */
	uint64_t run_ns;          /* run_time_ns */
	uint64_t misses;          /* recursion_misses: runs the kernel skipped */
	uint32_t insns;           /* translated instructions */
};

/* GS_NR_PROGS: the programs bpf/gil.h lists in GS_REPORTED_PROGS. */

/* The self-check's raw material (user/model/selfcheck.h): what BPF saw at the
 * acquisitions, and the interpreter's own state read from the target's
 * memory at the window's edges. */
struct selfcheck_raw {
	bool have_bpf;
	uint32_t bpf_holder;          /* TID BPF believes holds the GIL at the end */
	uint64_t first_tstate;        /* holder at the first acquisition seen */
	uint64_t changes;             /* holder changes after it */
	uint64_t sn_first, sn_last;   /* switch_number at the first/last acquisition */
	uint32_t seen, unreadable;    /* acquisitions read / unreadable */
	bool have_exit;               /* the counter as the target's last thread exited */
	uint64_t sn_exit;
	/* user-space reads: at attach (after the probes went in), and just
	 * before and just after BPF stopped counting */
	bool have_start, have_end;
	uint64_t sn_start, holder_start;
	uint64_t sn_end_a, sn_end_b;
	int locked_a, locked_b;
	uint32_t holder_tid_a, holder_tid_b;
	bool holder_tid_known;        /* the version records the holder's TID (3.11+) */
	bool exited;                  /* the target ended before the window did */
};

struct gs_result {
	uint64_t t0, t1;              /* window, CLOCK_MONOTONIC ns */
	bool live;                    /* a live view's snapshot (model/live.h):
					 figures without the prediction */
	bool light;                   /* --light (model/light.h): no uprobe */
	bool light_split;             /* its threads' on-CPU held/native time
					 split already, interval by interval
					 (live_light_split): not again */
	int light_hz;                 /* its CPU-sampling rate */
	char light_refused[200];      /* --light asked, exact mode used: why */
	uint64_t counters[GS_NR_COUNTERS];
	uint64_t hist[GS_NR_HISTS][GS_HIST_SLOTS];
	uint64_t inflight_hold_ns;    /* holds still open at t1 */
	uint64_t inflight_cwait_ns;   /* contended waits still open at t1 */
	uint64_t handoff_max_ns;      /* longest hand-off of the main GIL */
	int ncpus;
	struct gs_cpu *cpu;           /* [ncpus] */
	struct thread_rec *threads;   /* model/threads.h */
	size_t nthreads, cap;
	size_t exited_rows;           /* rows of single exited threads */
	size_t merged_row;            /* index + 1 of the merged row, 0 none */
	uint64_t prog_misses;         /* BPF program runs the kernel skipped */
	struct prog_stat progs[GS_NR_PROGS];
	bool prog_stats;              /* run counts/times were collected */
	double trap_ns;               /* one uprobe trap on this machine, -1 unknown */
	int interval_us;              /* switch interval at the end, -1 unknown */
	int seed_locked;              /* GIL state read at attach */
	uint32_t seed_holder;         /* TID credited with the GIL at attach, 0 none */
	/* Python stacks, raw from BPF (symbolized by stacks.c) */
	struct stack_count *counts;
	size_t ncounts;
	struct stack_entry *stacks;   /* sorted by id */
	size_t nstacks;
	struct code_entry *codes;     /* sorted by addr */
	size_t ncodes;
	int py_minor;
	uint64_t gil_addr;            /* the main GIL, 0 unknown */
	struct subgil_rec *subgils;
	size_t nsubgils;
	struct selfcheck_raw sc;
	/* the CPU limits at the window's edges (inspect/cpulimits.h) */
	struct cpu_limits lim_start, lim_end;
};

void gs_result__free(struct gs_result *r);

#endif
