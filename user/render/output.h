/* SPDX-License-Identifier: MIT */
/* Every output of a recording, from its model: the text report, and the
 * files the command line asked for. */
#ifndef GS_OUTPUT_H
#define GS_OUTPUT_H

#include <stdio.h>
#include "model/process.h"

struct output_files {
	const char *json;           /* "-": stdout, the text then on stderr */
	const char *folded, *flamegraph;
	const char *pprof;          /* every process in one profile */
	const char *trace;          /* descendants' go to FILE.PID */
};

/* The text report to text (unless --json -), then each file. Stacks of
 * every process go into the same folded/SVG files (thread frames name the
 * process); traces are one file per process. procs[0] is the target.
 * EXIT_OK, or EXIT_TARGET after a one-line "cannot write" on stderr. */
int output__write(const struct output_files *o, FILE *text, struct proc_model *procs, size_t n);

#endif
