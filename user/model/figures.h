/* SPDX-License-Identifier: MIT */
/* Derived figures of one recording, computed once and shared by the text
 * and JSON writers. */
#ifndef GS_REPORT_H
#define GS_REPORT_H

#include <stdio.h>
#include "inspect/pytarget.h"
#include "model/raw.h"
#include "model/selfcheck.h"

struct dist_stats {
	uint64_t count;
	double total_s, mean_us, p50_us, p90_us, p99_us, max_us;
};

struct cpu_stats {
	double busy_pct, with_gil_pct, without_gil_pct;
};

struct lost_item {
	const char *key;   /* JSON key */
	const char *what;  /* words for the text report */
	uint64_t n;
	bool is_loss;      /* data lost (vs a counted oddity) */
};

#define GS_MAX_LOST 24

struct verdict {
	const char *kind;
	char text[768];
};

/* How the target ended, launch mode only. */
struct launch_status {
	bool launched;
	bool exited;       /* the target ended inside the window */
	int exit_code;     /* -1 if killed by a signal */
	int exit_signal;   /* 0 if it exited normally */
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
	double window_s;
	double held_pct, contended_pct, avg_waiters;
	struct dist_stats hold, wait;
	/* hand-offs: a release that left threads waiting, to the next
	 * acquisition; handoff_pct: the GIL free while wanted */
	struct dist_stats handoff;
	double handoff_pct;
	uint64_t partial_holds;
	double partial_hold_s;
	uint64_t forced, voluntary;
	double held_s, held_offcpu_s, wait_s, native_s, offcpu_s;
	double runq_s;              /* of offcpu_s: runnable, waiting for a CPU */
	double on_cpu_s, with_gil_s, without_gil_s, parallelism;
	double sub_held_s;          /* of held_s + held_offcpu_s: sub-interpreters' GILs */
	struct gil_stats *gils;     /* [ngils]: the main GIL first */
	int ngils;
	struct cpu_stats *cpu;      /* [res->ncpus] */
	unsigned live_threads, busy_threads;
	/* What being traced cost the target: its uprobe hits, each at least
	 * one trap's price on this machine (res->trap_ns). */
	uint64_t probe_hits;
	double probe_hits_per_s, hits_per_acquire;
	double cost_cpu_pct;        /* % of one CPU, a floor; < 0 not known */
	struct lost_item lost[GS_MAX_LOST];
	int nlost;
	uint64_t lost_events;       /* sum of the is_loss items */
	struct verdict verdict;
	struct selfcheck check;     /* the interpreter's switch count vs gilscope's */
};

/* --children: the target and every traced descendant, summed. */
struct child_skip;
struct family_report {
	const struct gs_report *root;
	const struct gs_report *kids;   /* [nkids] children's reports */
	size_t nkids;
	const struct child_skip *skip;  /* [nskip] descendants not traced */
	size_t nskip;
	uint64_t lost;                  /* processes the tree could not follow */
	uint64_t preexec_dropped;       /* empty images replaced by exec */
	int processes;                  /* traced: root + kids */
	int busy_processes;             /* on-CPU >= 0.2 cores each */
	double window_s;                /* the target's window */
	double on_cpu_s, with_gil_s, without_gil_s, parallelism;
	uint64_t probe_hits;            /* every process's uprobe hits */
	double cost_cpu_pct;            /* their trap price, % of one CPU over the
					   target's window (a floor); < 0 not known */
	int ncpus;
	struct cpu_stats *cpu;          /* [ncpus], shares of the target's window */
	struct verdict verdict;
};

/* The CPU share (% of one CPU) that hits traps of trap_ns took over a
 * window of win s; -1 when the trap price is not known. */
static inline double gs_trap_cpu_pct(uint64_t hits, double trap_ns, double win)
{
	return trap_ns > 0 && win > 0 ? 100.0 * (hits * trap_ns / 1e9) / win : -1;
}

int family_report__build(struct family_report *f, const struct gs_report *root,
			 const struct gs_report *kids, size_t nkids);
void family_report__free(struct family_report *f);

int gs_report__build(struct gs_report *r, const struct py_target *pt,
		     const struct gs_result *res, const struct launch_status *ls);
void gs_report__free(struct gs_report *r);

void gs_verdict(const struct gs_report *r, struct verdict *v);

void gs_report__print_text(const struct gs_report *r, FILE *f);
int gs_report__print_json(const struct gs_report *r, FILE *f);

#endif
