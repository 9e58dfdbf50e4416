/* SPDX-License-Identifier: MIT */
/* What `gilscope top` shows of one live frame (model/live.h), as owned
 * rows: render/top.c keeps them after the frame is freed, to redraw on
 * keys and resizes, and only formats them. The figures that are not in
 * gs_report as such (waits per second, a thread's state shares of the
 * interval) are derived here, and so is the order of the rows. */
#ifndef GS_TOP_ROWS_H
#define GS_TOP_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "model/live.h"

/* One thread over the interval: the share of the interval (%) it spent in
 * each state. Held counts holding the GIL on- and off-CPU; off-CPU is
 * blocked or sleeping without it, runnable the part of that off-CPU time
 * spent waiting for a CPU (not in off-CPU). A thread alive through the
 * interval sums to ~100; a merged row of exited threads may sum to more. */
struct top_thread_row {
	uint32_t tid;                /* 0: merged exited threads */
	uint32_t merged;             /* how many, 0: one thread */
	char name[16];
	bool exited;
	double held_pct, native_pct, wait_pct, offcpu_pct, runq_pct;
};

/* One traced process over the interval. */
struct top_proc_row {
	pid_t pid;
	char comm[16];
	char container[64];          /* "" on the host */
	char python[32];
	bool partial;                /* attached inside the interval */
	double window_s;             /* its interval (shorter when partial) */
	double held_pct, contended_pct, avg_waiters;
	uint64_t handoffs, waits;    /* in the interval */
	double waits_per_s;
	double wait_p99_us;          /* 0 without waits */
	double cores;                /* on-CPU time / window */
	char verdict[32];            /* the verdict's kind, as the JSON names it */
	struct top_thread_row *threads; /* busiest first (held + native + wait) */
	size_t nthreads;
};

struct top_view {
	uint64_t seq;
	double interval_s;           /* the frame's interval */
	double end_real_s;           /* its end, CLOCK_REALTIME */
	bool host_wide;
	bool light;              /* traced by --light (no uprobe) */
	double self_cpu_pct;         /* < 0 unknown */
	unsigned max_procs;
	uint64_t attached_total, exited_total;
	struct top_proc_row *procs;
	size_t nprocs;
	struct live_skip *skips;     /* copies */
	size_t nskips;
};

/* The sort keys of the process rows. Each has a natural direction
 * (top_sort__descending): the figures largest first, PIDs smallest
 * first; reverse turns it round. Ties go by PID, ascending. */
enum top_sort {
	TOP_SORT_HELD = 0,
	TOP_SORT_CONTENDED,
	TOP_SORT_WAITS,              /* waits per second */
	TOP_SORT_P99,                /* wait p99 */
	TOP_SORT_CORES,
	TOP_SORT_PID,
	TOP_NR_SORTS,
};

const char *top_sort__name(enum top_sort k);
bool top_sort__descending(enum top_sort k);

/* A thread's row from its figures over an interval of window_s. */
void top_thread_row__build(struct top_thread_row *row, const struct thread_figs *t, double window_s);
/* A process's row (its threads included) from its interval report. 0 or
 * -ENOMEM; freed with top_proc_row__free. */
int top_proc_row__build(struct top_proc_row *row, const struct live_proc *p);
void top_proc_row__free(struct top_proc_row *row);

/* The view of a frame: every process's row and a copy of the skips, in
 * the frame's order. 0 or -ENOMEM (v is then empty). */
int top_view__build(struct top_view *v, const struct live_frame *f);
/* The same, the processes' thread rows only if threads (the plain lines
 * show none: 6,400 rows a second built for nothing). */
int top_view__build_some(struct top_view *v, const struct live_frame *f, bool threads);
void top_view__free(struct top_view *v);
/* Order the process rows by key (reverse: the other way round). */
void top_view__sort(struct top_view *v, enum top_sort key, bool reverse);
/* The index of pid's row, -1 if it has none. */
long top_view__find(const struct top_view *v, pid_t pid);

#endif
