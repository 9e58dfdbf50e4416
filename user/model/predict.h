/* SPDX-License-Identifier: MIT */
/* What the verdict's advice would bring, from the window's measured
 * figures: the speedup of the same work in worker processes, or in fewer
 * or more threads, or the wait of a convoyed thread at a lower switch
 * interval. The rules and their assumptions are in docs/verdicts.md
 * ("Predictions"). */
#ifndef GS_PREDICT_H
#define GS_PREDICT_H

#include <stdbool.h>

/* Processes are worth predicting with >= 2 threads and Python holding the
 * GIL >= 20% of the window. The low end of a speedup takes 15% off the
 * ideal (starting workers, passing work and results, other load). */
#define GS_PREDICT_MIN_HELD_SHARE 0.2
#define GS_PREDICT_OVERHEAD       0.15
/* Processes' low end takes 20% off: their start-up and data besides, all
 * CPUs busy at once run slower than one alone (measured on the
 * development VM: two pure-Python spinners at once took up to 7% longer
 * than one; 2 worker processes reached 0.82-0.94 of the ideal). */
#define GS_PREDICT_PROC_OVERHEAD  0.20
/* The thread pool: the largest group of threads whose on-CPU times and
 * GIL acquisitions are within a factor 1.5 of one of them's (a main
 * thread that starts and joins the pool, or a coordinator, is not in it). */
#define GS_PREDICT_POOL_SPREAD    1.5
#define GS_PREDICT_POOL_CENTERS   256  /* threads tried as the centre */
/* A thread count is advised when it changes the count and ... */
#define GS_PREDICT_SATURATE_SLACK 0.1  /* ...is the fewest threads that get
					  within 10% of the GIL's or the
					  CPUs' limit */
#define GS_PREDICT_MAX_GROWTH     2    /* at most twice the threads */
#define GS_PREDICT_MIN_GAIN       1.1  /* "more" must gain >= 10% */
/* "Fewer threads": the on-CPU time was measured with more runnable threads
 * than CPUs, sharing caches and switching among them; fewer threads may
 * need up to 5% less of it (measured: 4 zlib threads on 2 CPUs, 2 threads
 * of the same work ran 1.00-1.04x as fast). */
#define GS_PREDICT_SHARING        0.05
/* The convoy: the switch interval advised (1 ms, or half the current one
 * when that is 2 ms or less). */
#define GS_PREDICT_SWITCH_US      1000

struct prediction {
	bool have;
	const char *advice;          /* "processes", "fewer threads",
					"more threads", "switch interval" */
	int workers;                 /* processes: the CPUs it may use */
	int threads_now, threads;    /* threads: the pool now, advised */
	int interval_now_us, interval_us; /* switch interval: now, advised */
	double low, high;            /* speedup (processes, threads) */
	double wait_now_us, wait_low_us, wait_high_us; /* the convoyed thread's
							   wait per acquisition */
	double span_s;               /* the time the speedup is over */
	double serial_s, parallel_s; /* Python with the GIL; native without */
	double blocked_s;            /* off-CPU, not runnable (threads) */
	char assumptions[384];
};

struct gs_report;

/* Fill p from r's figures and verdict (r->verdict set first). */
void predict(const struct gs_report *r, struct prediction *p);

#endif
