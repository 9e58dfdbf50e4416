// SPDX-License-Identifier: MIT
/* Histogram slots (bpf/hist.h) and their decoding (user/model/hist_stats.c). */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/hist_stats.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static bool in_slot(uint64_t v)
{
	unsigned int s = gs_hist_slot(v);

	/* v - lo < width rather than v < lo + width: the top slot ends at 2^64 */
	return s < GS_HIST_SLOTS && v >= gs_hist_slot_lo(s) &&
	       v - gs_hist_slot_lo(s) < gs_hist_slot_width(s);
}

static void test_slots(void)
{
	unsigned int bad = 0;

	/* Every value up to 2^22 exhaustively, then slot edges, then random
	 * values of every magnitude. */
	for (uint64_t v = 0; v < (1u << 22); v++)
		bad += !in_slot(v);
	CHECK_MSG(bad == 0, "%u small values outside their slot", bad);

	bad = 0;
	for (unsigned int s = 0; s < GS_HIST_SLOTS; s++) {
		uint64_t lo = gs_hist_slot_lo(s), w = gs_hist_slot_width(s);

		bad += gs_hist_slot(lo) != s || gs_hist_slot(lo + (w - 1)) != s;
		if (s)
			bad += gs_hist_slot(lo - 1) != s - 1;
		/* width is at most 1/32 of lo: the 1.6% midpoint promise */
		if (s >= GS_HIST_SUB)
			bad += w * GS_HIST_SUB > lo;
	}
	CHECK_MSG(bad == 0, "%u slot edge errors", bad);
	CHECK_U64(gs_hist_slot(UINT64_MAX), GS_HIST_SLOTS - 1);
	CHECK_U64(gs_hist_slot_lo(GS_HIST_SLOTS - 1) + (gs_hist_slot_width(GS_HIST_SLOTS - 1) - 1),
		  UINT64_MAX);

	bad = 0;
	for (int i = 0; i < 1000000; i++) {
		uint64_t v = rnd() >> (rnd() % 64);

		bad += !in_slot(v);
	}
	CHECK_MSG(bad == 0, "%u random values outside their slot", bad);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y; /* not x - y: that overflows an int */
}

/* Quantiles from the histogram vs. from the sorted values, same rank rule. */
static void check_quantiles(const char *what, uint64_t *vals, size_t n)
{
	static const double qs[] = { 0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1 };
	static uint64_t slots[GS_HIST_SLOTS];
	struct hist_summary sum;

	memset(slots, 0, sizeof(slots));
	for (size_t i = 0; i < n; i++)
		slots[gs_hist_slot(vals[i])]++;
	qsort(vals, n, sizeof(*vals), cmp_u64);
	CHECK_U64(hist_count(slots), n);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		/* ceil(q * n) in integers: every q here has 3 decimals */
		size_t permille = (size_t)(qs[i] * 1000 + 0.5);
		size_t rank = (permille * n + 999) / 1000;
		double exact = (double)vals[rank ? rank - 1 : 0];
		double got = hist_quantile(slots, qs[i]);

		CHECK_MSG(fabs(got - exact) <= 0.02 * exact, "%s q=%g: %g vs exact %g",
			  what, qs[i], got, exact);
	}
	hist_summarize(slots, &sum);
	CHECK_U64(sum.count, n);
	CHECK(sum.p50 == hist_quantile(slots, 0.5) && sum.p99 == hist_quantile(slots, 0.99));
	CHECK_MSG(sum.max_seen_slot_hi >= vals[n - 1] &&
		  sum.max_seen_slot_hi - vals[n - 1] < gs_hist_slot_width(gs_hist_slot(vals[n - 1])),
		  "%s max %" PRIu64 " vs %" PRIu64, what, sum.max_seen_slot_hi, vals[n - 1]);
}

static void test_quantiles(void)
{
	enum { N = 200000 };
	static uint64_t vals[N];
	static uint64_t slots[GS_HIST_SLOTS];

	for (size_t i = 0; i < N; i++)
		vals[i] = 1 + rnd() % 1000000;          /* uniform 1 ns .. 1 ms */
	check_quantiles("uniform", vals, N);

	for (size_t i = 0; i < N; i++)
		vals[i] = 5000000;                      /* constant 5 ms */
	check_quantiles("constant", vals, N);

	/* Bimodal: 60% around 20 us, 40% around 30 ms (a GIL wait profile:
	 * quick handoffs plus switch-interval waits). */
	for (size_t i = 0; i < N; i++)
		vals[i] = (i % 5 < 3) ? 15000 + rnd() % 10000
				      : 25000000 + rnd() % 10000000;
	check_quantiles("bimodal", vals, N);

	/* Small exact values: one slot each, so quantiles are exact. */
	memset(slots, 0, sizeof(slots));
	for (uint64_t v = 1; v <= 10; v++)
		slots[gs_hist_slot(v)]++;
	CHECK(hist_quantile(slots, 0.5) == 5);
	CHECK(hist_quantile(slots, 0.0) == 1);
	CHECK(hist_quantile(slots, 1.0) == 10);
	CHECK(hist_quantile(slots, 0.7) == 7);
	/* 0.07 * 100 is 7.000000000000001 in doubles: still rank 7 */
	for (uint64_t v = 11; v <= 100; v++)
		slots[gs_hist_slot(v)]++;
	CHECK(hist_quantile(slots, 0.07) == 7);
}

static void test_empty(void)
{
	static uint64_t slots[GS_HIST_SLOTS];
	struct hist_summary sum;

	CHECK_U64(hist_count(slots), 0);
	CHECK(hist_quantile(slots, 0.99) == 0);
	hist_summarize(slots, &sum);
	CHECK(sum.count == 0 && sum.p50 == 0 && sum.max_seen_slot_hi == 0);
}

/* Per-thread (coarse) histograms: p99 within 12.5% of the exact value
 * over random log-uniform data, never above the known maximum, and the
 * short and long ends clamp into the first and last slots. */
static void test_thread_quantiles(void)
{
	static uint32_t slots[GS_THIST_SLOTS];
	static uint64_t vals[1000];
	uint64_t max = 0;
	double p99;
	int worst_ok = 1;

	for (int round = 0; round < 50; round++) {
		memset(slots, 0, sizeof(slots));
		max = 0;
		for (int i = 0; i < 1000; i++) {
			/* 200 ns .. ~54 s, about log-uniform */
			uint64_t base = 200ull << (rnd() % 28);
			uint64_t v = base + rnd() % base;

			vals[i] = v;
			slots[gs_thist_slot(v)]++;
			if (v > max)
				max = v;
		}
		qsort(vals, 1000, sizeof(vals[0]), cmp_u64);
		p99 = hist_thread_quantile(slots, 0.99, max);
		if (fabs(p99 - (double)vals[989]) > 0.125 * (double)vals[989] || p99 > (double)max)
			worst_ok = 0;
	}
	CHECK(worst_ok);
	CHECK_U64(gs_thist_slot(0), 0);
	CHECK_U64(gs_thist_slot(100), 0);
	CHECK_U64(gs_thist_slot(1ull << 40), GS_THIST_SLOTS - 1);
	CHECK(gs_thist_slot(1000) > 0 && gs_thist_slot(1000) < gs_thist_slot(1100) + 1);
	/* one value: its slot's midpoint, capped at the value itself */
	memset(slots, 0, sizeof(slots));
	slots[gs_thist_slot(5000000)] = 1;
	p99 = hist_thread_quantile(slots, 0.99, 5000000);
	CHECK(p99 <= 5000000 && p99 >= 5000000 * 0.875);
	memset(slots, 0, sizeof(slots));
	CHECK(hist_thread_quantile(slots, 0.99, 0) == 0);
}

int main(void)
{
	test_slots();
	test_quantiles();
	test_empty();
	test_thread_quantiles();
	return check_summary("test_hist");
}
