/* SPDX-License-Identifier: MIT */
/* One traced process: inspect it, load and attach a GIL tracer, seed the
 * state at attach, and close the window into a result. `record` runs one
 * session for the target and, with --children, one per Python descendant. */
#ifndef GS_SESSION_H
#define GS_SESSION_H

#include <stdbool.h>
#include <sys/types.h>
#include "inspect/pytarget.h"
#include "model/raw.h"
#include "common.h"
#include "model/timeline.h"
#include "trace/gil_tracer.h"

/* What every session of a recording shares. */
struct session_cfg {
	bool stacks;           /* --folded/--flamegraph: walk stacks */
	bool trace;            /* --trace: stream transitions */
	int hz;                /* CPU sampling; 0 = default when stacks */
	int max_depth;
	bool bpf_stats;
	bool children;         /* the tracer serves several processes */
	bool live;             /* top, serve: snapshots while tracing */
	bool light;            /* --light: no uprobe (bpf/light.bpf.h) */
	struct tracer **tr;    /* the recording's tracer, loaded by the first session */
	/* --trace: records of every process (gs_trace_rec.tgid tells which) */
	void (*on_trace)(const struct gs_trace_rec *r, void *ctx);
	void *trace_ctx;
};

struct session {
	const struct session_cfg *cfg;
	struct py_target pt;
	int slot;              /* in the tracer, while live */
	struct timeline *tw;
	struct gs_result res;  /* filled by session__end */
	bool live;             /* tracer attached, window open */
	bool done;             /* window closed, res valid */
	bool execd;            /* the target exec'd another program: its memory
				  is no longer the one traced (session__end
				  reads nothing from it) */
	pid_t parent;          /* --children: the parent process */
	int interval_us;       /* switch interval last read, -1 unknown */
	int exit_code;         /* EXIT_* when begin failed */
	struct selfcheck_raw sc_start; /* the interpreter's GIL at attach */
	struct cpu_limits lim_start;   /* its CPU limits at attach */
	bool light;                    /* traced by --light */
	char light_refused[200];       /* --light asked, but it cannot trace this one: why */
	char err[512];
};

/* Inspect, load, attach and seed: the window opens. 0, or -errno with
 * s->err and s->exit_code set; -ENOEXEC: pid does not run CPython (yet). */
int session__begin(struct session *s, pid_t pid);
/* Once a second while live: read the switch interval. */
void session__tick(struct session *s);
/* Close the window into s->res and free the process's slot. */
int session__end(struct session *s);
void session__free(struct session *s);

#endif
