/* SPDX-License-Identifier: MIT */
/* What the advice to use processes instead of threads would bring: the
 * speedup of the same work split evenly over worker processes, from the
 * window's measured serial part (Python holding the GIL) and parallel
 * part (native code without it). The rules and their assumptions are in
 * docs/verdicts.md ("Predictions"). */
#ifndef GS_PREDICT_H
#define GS_PREDICT_H

#include <stdbool.h>

/* Worth predicting: >= 2 threads and Python holding the GIL >= 20% of
 * the window. The low end takes 15% off the ideal (process start-up,
 * passing work and results between processes, other load). */
#define GS_PREDICT_MIN_HELD_SHARE 0.2
#define GS_PREDICT_OVERHEAD       0.15

struct prediction {
	bool have;
	const char *advice;         /* "processes" */
	int workers;                /* worker processes: the CPUs it may use */
	double low, high;           /* speedup over the threads' window */
	double serial_s, parallel_s; /* Python with the GIL; native without */
	char assumptions[256];
};

struct gs_report;

void predict(const struct gs_report *r, struct prediction *p);

#endif
