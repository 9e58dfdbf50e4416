/* SPDX-License-Identifier: MIT */
/* The live model (gilscope top, gilscope serve): every traced process's
 * figures of the last interval, and since it was attached, rebuilt once an
 * interval from snapshots of the BPF maps (trace/live.h) diffed here. The
 * writers (render/top.c, render/openmetrics.c) only format a live_frame. */
#ifndef GS_LIVE_H
#define GS_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "model/figures.h"
#include "model/raw.h"

struct live_proc {
	pid_t pid;
	char comm[16];
	char container[64];          /* "" on the host (inspect/container.h) */
	char python[32];             /* "3.13.5" */
	const struct py_target *pt;  /* borrowed from its session */
	double attached_real_s;      /* CLOCK_REALTIME as its window opened */
	bool partial;                /* attached inside the last interval */
	/* the last interval: cum_raw minus the previous snapshot */
	struct gs_result iv_raw;
	struct gs_report iv;
	/* since attach: the raw counters and histograms are cumulative */
	struct gs_result cum_raw;
	struct gs_report cum;
};

/* A CPython (or Python-looking) process that is not traced, and why. */
struct live_skip {
	pid_t pid;
	char comm[16];
	char container[64];
	char reason[160];
};

struct live_frame {
	uint64_t seq;                /* 1, 2, ... one per interval */
	double start_s, end_s;       /* the interval, CLOCK_MONOTONIC */
	double end_real_s;           /* its end, CLOCK_REALTIME */
	bool host_wide;              /* -a */
	bool light;                  /* traced by --light (no uprobe) */
	struct live_proc **procs;    /* by PID */
	size_t nprocs;
	struct live_skip *skips;     /* by PID */
	size_t nskips;
	unsigned max_procs;          /* traced at once at most */
	uint64_t attached_total;     /* processes traced since the start */
	uint64_t exited_total;       /* of those, ended (they leave procs) */
	double self_cpu_pct;         /* gilscope's own CPU over the interval,
					% of one CPU; < 0 unknown */
};

/* out = cur - prev: the interval (prev->t1, cur->t1] of one process.
 * Counters, histograms, CPU times and each thread's state times are
 * subtracted (a thread absent from prev counts whole); waits and holds
 * count in the interval they end in; maxima are since attach; a thread's
 * wait p99 is not computed (no live view shows it). prev NULL:
 * a copy of cur. 0 or -ENOMEM; out is freed with gs_result__free. */
int live_diff(struct gs_result *out, const struct gs_result *cur, const struct gs_result *prev);

/* --light in a live view: split the threads' on-CPU time of snapshot cur
 * into held and native (model/light.h) interval by interval, on top of
 * prev's split (NULL: the first snapshot, split by its own ticks), and
 * mark cur split. A ratio over all the time since attach would move the
 * past's split with every new tick: a cumulative held counter would grow
 * faster than time while the share rises, and fall when it drops. */
void live_light_split(struct gs_result *cur, const struct gs_result *prev);

/* p->iv and p->cum from p->iv_raw and p->cum_raw (freed first if built). */
int live_proc__build(struct live_proc *p);
/* Only those a view shows: LIVE_IV (top), LIVE_CUM (serve); the other
 * stays empty (zeroed). */
enum { LIVE_IV = 1, LIVE_CUM = 2 };
int live_proc__build_some(struct live_proc *p, unsigned views);
void live_proc__free(struct live_proc *p);

#endif
