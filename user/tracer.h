/* SPDX-License-Identifier: MIT */
/* The BPF side's lifecycle for one target: open/configure/load, attach,
 * seed the initial state, harvest exited threads, stop and read back. */
#ifndef GS_TRACER_H
#define GS_TRACER_H

#include <stddef.h>
#include "pytarget.h"
#include "result.h"

struct tracer;

struct tracer_opts {
	bool stacks;            /* walk Python stacks (wait, blame views) */
	int sample_hz;          /* CPU sampling (gil, nogil views); 0 = off */
	int max_depth;          /* frames per stack, <= GS_MAX_FRAMES */
	bool bpf_stats;         /* enable kernel run counts/times for our programs */
	/* --trace: every transition record, in ring-buffer order */
	void (*on_trace)(const struct gs_trace_rec *r, void *ctx);
	void *trace_ctx;
};

/* Open and load the BPF object configured for pt. 0 or -errno, with a
 * one-line reason in err. */
int tracer__load(const struct py_target *pt, const struct tracer_opts *opts,
		 struct tracer **out, char *err, size_t errlen);
/* Wait up to timeout_ms for trace records and deliver them (--trace
 * only; returns at once otherwise). Returns -EINTR on a signal. */
int tracer__poll(struct tracer *tr, int timeout_ms);
/* Attach GIL uprobes and scheduler tracepoints. */
int tracer__attach(struct tracer *tr, const struct py_target *pt, char *err, size_t errlen);
/* Start the window: record t0, seed every live thread's state, crediting
 * the GIL to the holder found in snap (may be NULL). */
int tracer__start(struct tracer *tr, const struct py_target *pt,
		  const struct gil_snapshot *snap, char *err, size_t errlen);
/* Window start (CLOCK_MONOTONIC ns), valid after tracer__attach. */
uint64_t tracer__t0(const struct tracer *tr);
/* Move exited threads out of the BPF maps (keeps them bounded). */
int tracer__harvest(struct tracer *tr);
/* End the window: detach, close in-flight intervals, fill res. */
int tracer__stop(struct tracer *tr, const struct py_target *pt, struct gs_result *res);
void tracer__free(struct tracer *tr);

#endif
