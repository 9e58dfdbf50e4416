/* SPDX-License-Identifier: MIT */
/* --trace output: a timeline (model/timeline.h) as a Chrome Trace Event
 * Format file ({"traceEvents":[...]}), which Perfetto UI and
 * chrome://tracing open. One track per thread with a span per state, an
 * instant per forced switch, and a "GIL waiters" counter track. Times in
 * the file are rounded to 125 ns. */
#ifndef GS_CHROME_TRACE_H
#define GS_CHROME_TRACE_H

#include <stdio.h>
#include "model/timeline.h"

/* Write the whole file. t1_ns closes every open span (a later record moves
 * it); lost = records the ring buffer dropped. 0, -ENOMEM, or -EIO if
 * writing f failed. The timeline keeps its records: it may be written
 * again. */
int chrome_trace__write(struct timeline *w, FILE *f, uint64_t t1_ns, uint64_t lost);

#endif
