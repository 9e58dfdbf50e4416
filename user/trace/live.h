/* SPDX-License-Identifier: MIT */
/* The live driver of gilscope top and gilscope serve: one BPF object for
 * every traced process (at most GS_MAX_PROCS at once), processes found by
 * trace/discover.h and attached as they appear, ended as they exit, and
 * once an interval a snapshot of every process's maps diffed into the
 * live model (model/live.h). */
#ifndef GS_LIVE_TRACE_H
#define GS_LIVE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "model/live.h"
#include "trace/session.h"

struct live_cfg {
	bool all;               /* -a: every CPython process on the host */
	const pid_t *pids;      /* -p */
	size_t npids;
	bool children;          /* --children: and their descendants */
	double interval_s;      /* between frames */
	unsigned views;         /* LIVE_IV, LIVE_CUM (model/live.h): the figures built;
				   0 (record -a): none, no snapshots */
	bool light;             /* --light sessions (the default of top, serve) */
	bool keep_ended;        /* record -a: a process that ends keeps its
				   session (and result) for live__sessions */
};

enum live_event {
	LIVE_NOTHING = 0,
	LIVE_TICK,              /* an interval ended: the frame is new */
	LIVE_CHANGED,           /* a process ended: it left the frame */
};

struct live;

/* Load nothing yet, attach the named PIDs (a PID that cannot be traced is
 * an error then: exit code in *exit_code, reason in err). */
int live__open(struct live **out, const struct live_cfg *cfg, int *exit_code, char *err, size_t errlen);
/* Wait up to timeout_ms for an interval's end or a process's. An event,
 * or -errno (err set) when tracing cannot go on. */
int live__poll(struct live *l, int timeout_ms, char *err, size_t errlen);
/* The current frame (valid until the next live__poll). */
const struct live_frame *live__frame(const struct live *l);
/* Processes still traced (with -p and no --children: 0 means all ended). */
size_t live__ntraced(const struct live *l);
/* record -a: end every window still open; every session traced (with
 * keep_ended, those that ended before too), each with its result, into
 * *out (owned by l). Their count. */
size_t live__end_all(struct live *l, struct session ***out);
void live__close(struct live *l);

#endif
