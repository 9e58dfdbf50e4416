/* SPDX-License-Identifier: MIT */
/* --children: the figures of a process tree as a whole (the target and
 * every traced descendant, summed over the target's window), and the
 * descendants that could not be traced. */
#ifndef GS_FAMILY_H
#define GS_FAMILY_H

#include "model/figures.h"

/* A descendant gilscope did not trace, and why. */
struct child_skip {
	pid_t pid, parent;
	char comm[16];
	char reason[160];
	bool exited;               /* gone: not to be tried again */
};

struct family_report {
	const struct gs_report *root;
	const struct gs_report *kids;   /* [nkids] children's reports */
	size_t nkids;
	const struct child_skip *skip;  /* [nskip] descendants not traced */
	size_t nskip;
	uint64_t lost;                  /* processes the tree could not follow */
	uint64_t preexec_dropped;       /* empty images replaced by exec */
	bool host_wide;                 /* record -a: every CPython process, not a tree */
	int processes;                  /* traced: root + kids */
	int busy_processes;             /* on-CPU >= GS_BUSY_CORES each */
	double window_s;                /* the target's window */
	double on_cpu_s, with_gil_s, without_gil_s, parallelism;
	uint64_t probe_hits;            /* every process's uprobe hits */
	double cost_cpu_pct;            /* their trap price, % of one CPU over the
					   target's window (a floor); < 0 not known */
	int ncpus;
	struct cpu_stats *cpu;          /* [ncpus], shares of the target's window */
	/* [(1 + nkids) * ncpus]: process i's busy share of CPU c over the
	 * target's window at [i * ncpus + c]; process 0 is the root */
	double *proc_cpu_pct;
	struct verdict verdict;
};

/* The process (0: root, i: kids[i - 1]). */
static inline const struct gs_report *family_report__proc(const struct family_report *f, size_t i)
{
	return i ? &f->kids[i - 1] : f->root;
}

int family_report__build(struct family_report *f, const struct gs_report *root,
			 const struct gs_report *kids, size_t nkids);
void family_report__free(struct family_report *f);

#endif
