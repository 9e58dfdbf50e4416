/* SPDX-License-Identifier: MIT */
/* Reading the log-linear histograms of bpf/hist.h back as values (ns). */
#ifndef GS_HIST_STATS_H
#define GS_HIST_STATS_H

#include <stdint.h>
#include <linux/types.h> /* __u64, used by hist.h */

#include "hist.h"

struct hist_summary {
	uint64_t count;
	double p50, p90, p99;
	uint64_t max_seen_slot_hi; /* largest value the highest non-empty slot holds */
};

/* Midpoint of slot s: within 1/64 of any value in it. */
double hist_slot_mid(unsigned int s);

/* Total of GS_HIST_SLOTS counts. */
uint64_t hist_count(const uint64_t *slots);

/* Quantile q in [0,1]: the midpoint of the slot holding the value of rank
 * ceil(q * count) (1-based, at least 1); 0 when the histogram is empty. */
double hist_quantile(const uint64_t *slots, double q);

/* Quantile q of a per-thread (coarse, GS_THIST_SLOTS) histogram: the
 * midpoint of the slot holding rank ceil(q * count), capped at max (the
 * largest value seen, 0 = unknown). */
double hist_thread_quantile(const uint32_t *slots, double q, uint64_t max);

/* count, p50/p90/p99 and max_seen_slot_hi in one call; all 0 when empty. */
void hist_summarize(const uint64_t *slots, struct hist_summary *out);

/* Classic cumulative buckets, for export (render/openmetrics.c). The bounds
 * are four per octave from 2^10 ns (1.024 us) to 2^34 ns (17.2 s), each at
 * the slot edge (gs_hist_slot_lo) nearest a quarter octave: 32, 38, 45 and
 * 54 thirty-seconds of each power of two, so no bucket is wider than 20%
 * of its lower bound, and a bucket's count is exact: the events of the
 * slots below its bound. Durations are whole nanoseconds: one exactly at
 * a bound, to the nanosecond, counts in the next bucket. */
#define HIST_BUCKET_OCT_FIRST 10
#define HIST_BUCKET_OCT_LAST 34
#define HIST_BUCKET_PER_OCT 4
#define HIST_BUCKETS ((HIST_BUCKET_OCT_LAST - HIST_BUCKET_OCT_FIRST) * HIST_BUCKET_PER_OCT + 1)

struct hist_buckets {
	uint64_t le_ns[HIST_BUCKETS];   /* ascending upper bounds, slot edges */
	uint64_t below[HIST_BUCKETS];   /* events below le_ns[i]: cumulative */
	uint64_t count;                 /* every event (the +Inf bucket) */
};

/* The upper bound of bucket i < HIST_BUCKETS, ns. */
uint64_t hist_bucket_le_ns(unsigned int i);

/* The cumulative buckets of GS_HIST_SLOTS slot counts. */
void hist_buckets(const uint64_t *slots, struct hist_buckets *out);

#endif
