/* SPDX-License-Identifier: MIT */
/* Symbolized Python stacks per view, from the raw maps read back from BPF:
 * one model shared by the folded, SVG, text and JSON writers (render/). */
#ifndef GS_STACKS_H
#define GS_STACKS_H

#include <stdio.h>
#include "model/sym_stack.h"
#include "pystack.h"
#include "model/raw.h"

struct view_stacks {
	const char *name;         /* "wait", "gil", "nogil", "blame" */
	const char *title;
	const char *unit;         /* "us" or "samples" */
	struct sym_stack *stacks;  /* frames root first: view, thread, outermost ... leaf */
	size_t n;
	uint64_t total;           /* in unit */
};

struct stack_report {
	struct view_stacks views[GS_NR_VIEWS];
	char **strings;           /* every frame string, owned */
	size_t nstrings, capstrings;
	char **index;             /* open-addressing set over strings */
	size_t capidx;
	uint64_t unsymbolized;    /* frames whose code object was not captured */
};

/* name_of(tid) gives the thread's display name. 0 or -ENOMEM. */
int stack_report__build(struct stack_report *sr, const struct gs_result *res,
			const char *(*name_of)(uint32_t tid, void *ctx), void *ctx);
void stack_report__free(struct stack_report *sr);

/* One of a view's heaviest stacks, and its share of the view's total. */
struct top_stack {
	const struct sym_stack *s;
	double share;             /* 0-1 */
};

/* The heaviest stacks of a view, heaviest first: how many were written. */
size_t stack_report__top(const struct stack_report *sr, int view, struct top_stack *top, size_t max);

/* Render one code object's frame as "qualname (file:line)" (exposed for tests). */
void stack_frame_name(const struct gs_code *c, int minor, uint32_t off, char *buf, size_t len);

#endif
