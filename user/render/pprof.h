/* SPDX-License-Identifier: MIT */
/* The stack views as a pprof profile (profile.proto, gzip-compressed), for
 * Pyroscope, Parca and `go tool pprof`: one sample type per view, the
 * thread and the process as labels. */
#ifndef GS_PPROF_H
#define GS_PPROF_H

#include <stdint.h>
#include <stdio.h>
#include "model/stacks.h"

/* One traced process's stacks. */
struct pprof_proc {
	const struct stack_report *sr;
	int pid;
};

/* Every process's stacks into one profile. Sample types are the views of
 * procs[0] in its order, "us" views as "nanoseconds" (weights x 1000);
 * each sample has one value per view, the others 0. time_nanos: the
 * window's start in Unix ns (0: left out); duration_nanos its length.
 * 0 or -errno. */
int pprof__write(FILE *f, const struct pprof_proc *procs, size_t n, int64_t time_nanos,
		 int64_t duration_nanos);

#endif
