/* SPDX-License-Identifier: MIT */
/* A self-contained interactive flame graph: one SVG file, no external
 * resources, that a browser opens offline. Every view is drawn into the
 * same file; clickable buttons switch between them. In the browser a frame
 * shows its details on hover and zooms on click; Ctrl-F (or the Search
 * button) highlights the frames matching a regular expression and shows
 * their share of the view. */
#ifndef GS_FLAMEGRAPH_H
#define GS_FLAMEGRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "model/sym_stack.h"


struct fg_view {
	const char *name;   /* "wait", "gil", "nogil", "blame" */
	const char *title;  /* e.g. "GIL wait time by waiting stack" */
	const char *unit;   /* "us" or "samples" */
	const struct sym_stack *stacks;
	size_t n;
};

/* Write one SVG holding every view (a selector switches between them).
 *
 * Per view, stacks with identical prefixes merge into a tree whose
 * children are ordered by name (strcmp); a frame's width is its share of
 * the view's total weight (stacks of depth 0 count in the total but draw
 * nothing). Frames narrower than 0.1% of the total are left out, and a
 * footnote says how many and how much weight they hold. The first two
 * frames of a stack (gilscope puts the view name and the thread there)
 * get their own cool colours; the rest a warm colour hashed from the name.
 * Names are taken as UTF-8: ill-formed sequences and control characters
 * are shown as U+FFFD, and all text is escaped for XML.
 *
 * Returns 0, or -errno: -EINVAL for bad arguments, -ENOMEM, -EOVERFLOW
 * when a view's total weight does not fit in 64 bits, or the error of a
 * failed write (the FILE is flushed, not closed). */
int flamegraph__write_svg(FILE *f, const char *title, const struct fg_view *views,
			  size_t nviews);

#endif
