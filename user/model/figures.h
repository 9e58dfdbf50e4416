/* SPDX-License-Identifier: MIT */
/* The figures of one process's recording, derived once from its raw
 * result (model/raw.h). The writers in render/ only format these fields:
 * none of them computes a figure of its own. */
#ifndef GS_FIGURES_H
#define GS_FIGURES_H

#include <stdio.h>
#include "inspect/pytarget.h"
#include "model/raw.h"
#include "model/selfcheck.h"
#include "model/predict.h"
#include "model/verdict.h"

struct dist_stats {
	uint64_t count;
	double total_s, mean_us, p50_us, p90_us, p99_us, max_us;
};

enum cpu_allowed { CPU_ALLOWED_UNKNOWN = 0, CPU_ALLOWED, CPU_NOT_ALLOWED };

struct cpu_stats {
	double busy_pct, with_gil_pct, without_gil_pct;
	enum cpu_allowed allowed;   /* in the process's affinity and cpuset */
};

struct lost_item {
	const char *key;   /* JSON key */
	const char *what;  /* words for the text report */
	uint64_t n;
	bool is_loss;      /* data lost (vs a counted oddity) */
};

#define GS_MAX_LOST 24

/* How the target ended, launch mode only. */
struct launch_status {
	bool launched;
	bool exited;       /* the target ended inside the window */
	int exit_code;     /* -1 if killed by a signal */
	int exit_signal;   /* 0 if it exited normally */
};

/* One thread: seconds in each state over the window, its holds and waits. */
struct thread_figs {
	const struct thread_rec *t;  /* tid, name, counts, exited */
	double held_s;               /* on-CPU holding the GIL */
	double held_offcpu_s;        /* holding it off-CPU */
	double native_s;             /* on-CPU without it */
	double wait_s, wait_oncpu_s; /* waiting for it (of which on-CPU) */
	double offcpu_s;             /* off-CPU without it */
	double runq_s;               /* of offcpu_s: runnable, without a CPU */
	double gil_s;                /* holding it, on- or off-CPU */
	double outside_s;            /* without it, on- or off-CPU */
	double hold_mean_us, hold_max_us, wait_p99_us, wait_max_us;
};

/* The CPU limits the process ran under (inspect/cpulimits.h). */
struct limits_figs {
	bool known;                  /* read at the window's start */
	int cpus_online;
	int cpus_allowed;            /* the process's affinity */
	int thread_cpus_min, thread_cpus_max; /* over its threads */
	const char *cpus_allowed_list;
	int cpuset_cpus;             /* -1 unknown */
	const char *cpuset_list;
	int cpus_pinned;             /* CPUs it may run on: affinity and cpuset */
	int cpus_usable;             /* what it may use at most: those, and
					the quota rounded up */
	double quota_cpus;           /* the binding CPU quota, < 0 none */
	const char *cgroup;          /* the cgroup that sets it */
	bool throttle_known;         /* counters at both edges */
	uint64_t periods, throttled_periods;
	double throttled_s;
	double throttled_share;      /* of the window's quota periods */
};

struct stack_report;

/* One GIL: the main interpreter's, or a sub-interpreter's own (3.12+). */
struct gil_stats {
	uint64_t addr;              /* 0 unknown */
	bool main;
	double held_pct;
	struct dist_stats hold, wait;
	uint64_t forced, voluntary;
};

struct family_report;

struct gs_report {
	const struct py_target *pt;
	pid_t parent;               /* --children: the parent of a child */
	const struct family_report *family; /* root with --children, else NULL */
	const struct stack_report *stacks; /* NULL without stack outputs */
	const struct gs_result *res;
	struct launch_status launch;
	int exit_code, exit_signal; /* the launched command's, -1 when it did
				       not end in the window or was not launched
				       (exit_signal: -1 also when it exited) */
	double window_s;
	double window_start_s, window_end_s; /* CLOCK_MONOTONIC */
	int switch_interval_us;     /* at the end, -1 unknown */
	double held_pct, contended_pct, avg_waiters;
	struct dist_stats hold, wait;
	/* hand-offs: a release that left threads waiting, to the next
	 * acquisition; handoff_pct: the GIL free while wanted */
	struct dist_stats handoff;
	double handoff_pct;
	uint64_t partial_holds;
	double partial_hold_s;
	uint64_t acquisitions, forced, voluntary;
	uint64_t voluntary_handoffs; /* of voluntary: releases that left a waiter */
	double forced_share;        /* of releases */
	double handoff_share;       /* of releases: those that left a waiter */
	double held_s, held_offcpu_s, wait_s, native_s, offcpu_s;
	double runq_s;              /* of offcpu_s: runnable, waiting for a CPU */
	double on_cpu_s, with_gil_s, without_gil_s;
	double early_s;             /* of on_cpu_s: charged by the kernel before the
				       runs' switch-ins (woken on an idle CPU) */
	double parallelism;         /* cores' worth of CPU: on_cpu_s / window_s */
	double sub_held_s;          /* of held_s + held_offcpu_s: sub-interpreters' GILs */
	struct gil_stats *gils;     /* [ngils]: the main GIL first */
	int ngils;
	int ncpus;
	struct cpu_stats *cpu;      /* [ncpus] */
	struct thread_figs *threads; /* [nthreads], in the raw result's order */
	size_t nthreads;
	unsigned live_threads, busy_threads;
	/* What being traced cost the target: its uprobe hits, each at least
	 * one trap's price on this machine (trap_ns). */
	uint64_t probe_hits;
	double probe_hits_per_s, hits_per_acquire;
	double trap_ns;             /* < 0 not known */
	double cost_cpu_pct;        /* % of one CPU, a floor; < 0 not known */
	/* --light (model/light.h): how its figures were made */
	struct light_figs {
		bool on;
		int hz;                 /* CPU-sampling rate of its observations */
		uint64_t futex_calls;   /* futex calls on the GIL seen */
		uint64_t reads, reads_locked, reads_bad; /* reads of the GIL's state */
		uint64_t ticks, ticks_held; /* ticks that split on-CPU time */
		uint64_t unseen_holds;  /* holds with an unmarked end, timed to a read */
		double unseen_hold_s;
		uint64_t stolen, rewaits, early_takes, quick_waits;
		uint64_t contended_releases; /* releases with a waiter, each seen */
	} light;
	const char *light_refused;  /* --light asked but not used: why (NULL) */
	const struct prog_stat *progs; /* [GS_NR_PROGS]: unused ones have no name */
	bool prog_stats;            /* run counts and times were collected */
	struct limits_figs limits;
	struct lost_item lost[GS_MAX_LOST];
	int nlost;
	uint64_t lost_events;       /* sum of the is_loss items */
	struct verdict verdict;
	struct prediction prediction; /* threads -> processes */
	struct selfcheck check;     /* the interpreter's switch count vs gilscope's */
};

/* The CPU share (% of one CPU) that hits traps of trap_ns took over a
 * window of win s; -1 when the trap price is not known. */
static inline double gs_trap_cpu_pct(uint64_t hits, double trap_ns, double win)
{
	return trap_ns > 0 && win > 0 ? 100.0 * (hits * trap_ns / 1e9) / win : -1;
}

/* One thread's figures from its raw record. */
void thread_figs__build(struct thread_figs *f, const struct thread_rec *t, bool light);

int gs_report__build(struct gs_report *r, const struct py_target *pt,
		     const struct gs_result *res, const struct launch_status *ls);
void gs_report__free(struct gs_report *r);

#endif
