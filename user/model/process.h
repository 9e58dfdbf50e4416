/* SPDX-License-Identifier: MIT */
/* The model of one recording: each traced process's figures (and its
 * stacks when an output wants them), and with --children the tree's. What
 * the writers in render/ format. */
#ifndef GS_PROCESS_H
#define GS_PROCESS_H

#include <stdbool.h>
#include "model/family.h"
#include "model/stacks.h"

struct timeline;

struct proc_model {
	struct gs_report rep;
	struct stack_report sr;
	bool has_sr;                /* sr built (a stack output was asked for) */
	struct timeline *tw;    /* its --trace timeline (borrowed), or NULL */
};

/* Figures of one process from its raw result; stacks too when with_stacks.
 * with_pid: thread frames read "name (pid N)" (--children). ls: launch
 * mode's exit status, or NULL. 0 or -ENOMEM. */
int proc_model__build(struct proc_model *p, const struct py_target *pt, const struct gs_result *res,
		      const struct launch_status *ls, bool with_stacks, bool with_pid);
void proc_model__free(struct proc_model *p);

/* --children: procs[0] is the target, procs[1..n) its traced descendants.
 * Builds the tree's figures and hangs them on procs[0].rep.family. */
struct family_model {
	struct family_report rep;
	struct gs_report *kids;     /* copies of procs[1..n).rep */
};

int family_model__build(struct family_model *f, struct proc_model *procs, size_t n);
void family_model__free(struct family_model *f, struct proc_model *procs);

#endif
