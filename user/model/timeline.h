/* SPDX-License-Identifier: MIT */
/* --trace: the per-thread timeline of GIL ownership, as the ring buffer's
 * thread transitions (struct gs_trace_rec) arrive during the window.
 * Records are only buffered here, in any order (the ring buffer's records
 * from different CPUs reach user space slightly out of global order);
 * render/chrome_trace.c orders and writes them. */
#ifndef GS_TIMELINE_H
#define GS_TIMELINE_H

#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h> /* __u32/__u64, used by gil.h */

#include "gil.h"

struct tw_rec {
	struct gs_trace_rec r;
	uint64_t seq;           /* arrival order: the tie-break for equal ts */
};

struct tw_name {
	uint32_t tid;
	char *name;
};

struct timeline {
	pid_t pid;
	char *process_name;
	uint64_t t0;
	struct tw_rec *recs;
	size_t nrecs, recs_cap;
	struct tw_name *names;
	size_t nnames, names_cap;
	uint64_t seq;
	uint64_t dropped;       /* records timeline__add() could not buffer */
};

/* t0_ns (CLOCK_MONOTONIC) is time 0 of the timeline; records before it
 * are moved to it. process_name may be NULL ("pid N"). */
struct timeline *timeline__new(pid_t pid, const char *process_name, uint64_t t0_ns);
void timeline__free(struct timeline *w);

/* Buffer one record, in any order. 0, or -ENOMEM: the record is then
 * counted as lost in the file. */
int timeline__add(struct timeline *w, const struct gs_trace_rec *r);

/* Name tid's track (the last name given wins; default "tid N"). A tid with
 * no record gets no track. 0 or -ENOMEM. */
int timeline__thread_name(struct timeline *w, uint32_t tid, const char *name);

#endif
