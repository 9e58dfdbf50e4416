/* SPDX-License-Identifier: MIT */
/* Which case a process (or a process tree) is in, named in the words of
 * the users' rules of thumb, with the figures that decided it. The rules
 * and every threshold below are listed in docs/verdicts.md. */
#ifndef GS_VERDICT_H
#define GS_VERDICT_H

struct verdict {
	const char *kind;
	char text[768];
};

/* A thread or a process is busy at >= 0.2 cores' worth of on-CPU time. */
#define GS_BUSY_CORES            0.2
/* "held most of the time": the GIL-bound and multi-process verdicts */
#define GS_GIL_BOUND_HELD_PCT    70.0
#define GS_GIL_BOUND_CONTENDED_PCT 50.0
#define GS_GIL_BOUND_MAX_CORES   1.3   /* more than this runs in parallel */
#define GS_HANDOFF_PCT           10.0  /* hand-offs worth naming, % of the window */
#define GS_FORCED_SHARE          0.3   /* of releases: time-slicing, not queueing */
#define GS_PARALLEL_CORES        1.3   /* native-parallel / multi-process */
#define GS_NOGIL_SHARE           0.5   /* of on-CPU time without the GIL */
#define GS_RUNQ_SHARE            0.25  /* of thread time runnable without a CPU */
#define GS_RUNQ_CORES            0.25  /* ...and that much CPU's worth */
#define GS_HELD_OFF_SHARE        0.25  /* of hold time off-CPU: oversubscribed... */
#define GS_HELD_OFF_MIN_HELD     0.2   /* ...when the GIL was held > 0.2 of the window */
#define GS_IDLE_CORES            0.05
#define GS_IDLE_HELD_PCT         5.0
#define GS_IDLE_RELEASES_PER_S   20.0
#define GS_SERIAL_HELD_PCT       50.0
#define GS_SERIAL_CONTENDED_PCT  20.0
#define GS_IO_HELD_PCT           30.0
#define GS_IO_BLOCKED_SHARE      0.5
#define GS_SUBINTERP_CORES       0.2   /* sub-interpreters' hold time / window */
/* the convoy: a starved thread waits >= 25% of its life, holds < 1 ms on
 * average and spends more time outside the GIL than holding it; a hog
 * holds >= 30% of the window; the starved wait >= 10% of the window */
#define GS_CONVOY_WAIT_SHARE     0.25
#define GS_CONVOY_HOLD_MEAN_MS   1.0
#define GS_CONVOY_HOG_SHARE      0.3
#define GS_CONVOY_MIN_WAIT_SHARE 0.1
/* the limits the process runs under, named before the GIL is blamed: a
 * CPU quota that throttled it in >= 20% of the window's periods; or
 * affinity/cpuset narrower than the machine while its threads wanted
 * (on a CPU, or runnable without one) >= 1.25x the CPUs they may use */
#define GS_THROTTLED_SHARE       0.2
#define GS_PINNED_DEMAND         1.25
/* all CPUs busy: >= 90% of them */
#define GS_ALL_CPUS_SHARE        0.9

#include <stdint.h>

struct gs_report;
struct family_report;

/* The convoy's threads (the rule above): the starved ones and the hogs. */
struct convoy {
	int nstarved, nhogs;
	double starved_wait_s, starved_life_s, hog_held_s, hog_max_ms;
	uint64_t starved_waits;
	uint32_t starved_tid, hog_tid;     /* the worst of each */
	int starved_idx;                   /* the worst starved in r->threads, -1 none */
};

void find_convoy(const struct gs_report *r, struct convoy *c);

/* The process's case. */
void gs_verdict(const struct gs_report *r, struct verdict *v);
/* The tree's: several processes running at once, or the busiest one's. */
void family_verdict(const struct family_report *f, struct verdict *v);

#endif
