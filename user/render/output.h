/* SPDX-License-Identifier: MIT */
/* Every output of a recording, from its model: the text report, and the
 * files the command line asked for. */
#ifndef GS_OUTPUT_H
#define GS_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include "model/process.h"

#define OUTPUT_FILES 5

struct output_files {
	const char *json;           /* "-": stdout, the text then on stderr */
	const char *folded, *flamegraph;
	const char *pprof;          /* every process in one profile */
	const char *trace;          /* descendants' go to FILE.PID */
	/* set by output__open: each file, opened before tracing starts */
	FILE *json_f, *folded_f, *flamegraph_f, *trace_f, *pprof_f;
	bool made[OUTPUT_FILES];    /* output__open created it (json, folded,
				       flamegraph, trace, pprof) */
	bool written;               /* output__write ran */
};

/* Open every file the command line names, before tracing starts, so that
 * a path that cannot be written fails at once rather than after the
 * window (--trace's FILE.PID for descendants: their folder must be
 * writable). EXIT_OK, or EXIT_TARGET after one line on stderr. */
int output__open(struct output_files *o);

/* Tracing failed before any output was written: close the files and
 * remove those output__open created. */
void output__abandon(struct output_files *o);

/* The text report to text (unless --json -), then each file. Stacks of
 * every process go into the same folded/SVG files (thread frames name the
 * process); traces are one file per process. procs[0] is the target.
 * EXIT_OK, or EXIT_TARGET after a one-line "cannot write" on stderr. */
int output__write(struct output_files *o, FILE *text, struct proc_model *procs, size_t n);

#endif
