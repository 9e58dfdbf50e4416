/* SPDX-License-Identifier: MIT */
/* --trace output: the ring buffer's thread transitions (struct gs_trace_rec)
 * as a Chrome Trace Event Format file ({"traceEvents":[...]}), which Perfetto
 * UI and chrome://tracing open. One track per thread with a span per state,
 * an instant per forced switch, and a "GIL waiters" counter track.
 *
 * Records are buffered and ordered by (ts, arrival) at write time: the ring
 * buffer's records from different CPUs reach user space slightly out of
 * global order. */
#ifndef GS_TRACE_JSON_H
#define GS_TRACE_JSON_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h> /* __u32/__u64, used by gil.h */

#include "gil.h"

struct trace_writer;

/* t0_ns (CLOCK_MONOTONIC) is time 0 of the file; records before it are
 * moved to it. Times in the file are rounded to 125 ns (see trace_json.c).
 * process_name may be NULL ("pid N"). */
struct trace_writer *trace_writer__new(pid_t pid, const char *process_name, uint64_t t0_ns);
void trace_writer__free(struct trace_writer *w);

/* Buffer one record, in any order. 0, or -ENOMEM: the record is then
 * counted as lost in the file. */
int trace_writer__add(struct trace_writer *w, const struct gs_trace_rec *r);

/* Name tid's track (the last name given wins; default "tid N"). A tid with
 * no record gets no track. 0 or -ENOMEM. */
int trace_writer__thread_name(struct trace_writer *w, uint32_t tid, const char *name);

/* Write the whole file. t1_ns closes every open span (a later record moves
 * it); lost = records the ring buffer dropped. 0, -ENOMEM, or -EIO if
 * writing f failed. The writer keeps its records: it may write again. */
int trace_writer__write(struct trace_writer *w, FILE *f, uint64_t t1_ns, uint64_t lost);

#endif
