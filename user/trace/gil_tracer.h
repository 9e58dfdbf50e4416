/* SPDX-License-Identifier: MIT */
/* The BPF side's lifecycle: one object per recording, traced processes
 * added to it one by one (the target, and with --children its
 * descendants), each with its own slot: attach, seed the state at attach,
 * harvest exited threads, end its window and read it back. The object is
 * bpf/gil.bpf.c; the types and map layouts both sides use are in
 * bpf/gil.h. */
#ifndef GS_TRACER_H
#define GS_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include "inspect/pytarget.h"
#include "model/raw.h"

struct tracer;

struct tracer_opts {
	bool stacks;            /* walk Python stacks (wait, blame views) */
	int sample_hz;          /* CPU sampling (gil, nogil views; --light's
				   observations); 0 = off */
	bool light;             /* --light: futex calls and observations of the
				   GIL, no uprobe (bpf/light.bpf.h) */
	int max_depth;          /* frames per stack, <= GS_MAX_FRAMES */
	bool bpf_stats;         /* enable kernel run counts/times for our programs */
	bool multi;             /* several processes (--children, top, serve) */
	bool live;              /* snapshots while tracing (top, serve): multi too */
	/* --trace: every transition record, in ring-buffer order */
	void (*on_trace)(const struct gs_trace_rec *r, void *ctx);
	void *trace_ctx;
};

/* Open and load the BPF object, configured for pt (the target: its
 * version gives the stack layout, its probes the programs to load).
 * 0 or -errno, with a one-line reason in err. */
int tracer__load(const struct py_target *pt, const struct tracer_opts *opts,
		 struct tracer **out, char *err, size_t errlen);
/* Wait up to timeout_ms for trace records and deliver them (--trace
 * only; returns at once otherwise). */
int tracer__poll(struct tracer *tr, int timeout_ms);
/* Trace pt: its window opens as its uprobes attach (and, the first time,
 * the scheduler tracepoints). *slot names it from then on. */
int tracer__add(struct tracer *tr, const struct py_target *pt, int *slot, char *err, size_t errlen);
/* Seed every live thread of the slot's process, crediting the GIL to the
 * holder found in snap (may be NULL). */
int tracer__seed(struct tracer *tr, int slot, const struct py_target *pt,
		 const struct gil_snapshot *snap, char *err, size_t errlen);
/* Window start of a slot (CLOCK_MONOTONIC ns). */
uint64_t tracer__t0(const struct tracer *tr, int slot);
/* Move exited threads out of the BPF maps (keeps them bounded). */
int tracer__harvest(struct tracer *tr);
/* End a slot's window: close its in-flight intervals, fill res, free the
 * slot (its uprobes detach in the background). */
int tracer__end(struct tracer *tr, int slot, const struct py_target *pt, struct gs_result *res);
/* Live views (opts.live): read every slot's maps now, the live threads'
 * state included (they go on being traced); then tracer__snapshot fills
 * one slot's cumulative result since its attach, as tracer__end would
 * have at this moment (without the sub-interpreter GILs, the stacks and
 * the self-check). 0 or -errno. */
int tracer__sample(struct tracer *tr);
int tracer__snapshot(struct tracer *tr, int slot, struct gs_result *res);
/* Live views: execs on the host since the load, in *n; -ENOENT: not
 * counted. */
int tracer__execs(const struct tracer *tr, uint64_t *n);
/* Time one uprobe trap on this machine (user/trace/trapcost.h), for the
 * report's tracing cost; every later tracer__end passes it on. */
void tracer__time_trap(struct tracer *tr);
void tracer__free(struct tracer *tr);
/* Loaded for --light. */
bool tracer__light(const struct tracer *tr);

/* --light's default CPU-sampling rate: its observations of the GIL (an
 * odd rate, off the beat of 1/5/10 ms periodic work) */
#define GS_LIGHT_HZ 499

#endif
