// SPDX-License-Identifier: MIT
/* Decoding log-linear histogram slots (slot layout: bpf/hist.h). */
#include <string.h>

#include "model/hist_stats.h"

double hist_slot_mid(unsigned int s)
{
	/* Mean of the integers lo .. lo+width-1; exact for one-value slots. */
	return (double)gs_hist_slot_lo(s) + (double)(gs_hist_slot_width(s) - 1) / 2;
}

uint64_t hist_count(const uint64_t *slots)
{
	uint64_t n = 0;

	for (unsigned int s = 0; s < GS_HIST_SLOTS; s++)
		n += slots[s];
	return n;
}

/* rank = ceil(q * count), 1-based, within [1, count]. */
static uint64_t rank_of(uint64_t count, double q)
{
	uint64_t rank;
	double r;

	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	/* rank = ceil(q * count), but q * count carries rounding error
	 * (0.07 * 100 = 7.000000000000001): shave a hair off so an exact rank
	 * is not bumped to the next one. Done by hand to need no libm. */
	r = q * (double)count;
	r -= r * 1e-12;
	rank = (uint64_t)r;
	if ((double)rank < r)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > count)
		rank = count;
	return rank;
}

double hist_quantile(const uint64_t *slots, double q)
{
	uint64_t count = hist_count(slots), rank, seen = 0;

	if (!count)
		return 0;
	rank = rank_of(count, q);
	for (unsigned int s = 0; s < GS_HIST_SLOTS; s++) {
		seen += slots[s];
		if (seen >= rank)
			return hist_slot_mid(s);
	}
	return 0; /* not reached: seen ends at count >= rank */
}

void hist_summarize(const uint64_t *slots, struct hist_summary *out)
{
	/* hist_quantile's answers, in one pass for the three (a live view
	 * summarizes three histograms of 1,920 slots per process a second) */
	double *q[3] = { &out->p50, &out->p90, &out->p99 };
	uint64_t rank[3], seen = 0;
	unsigned int k = 0;

	memset(out, 0, sizeof(*out));
	out->count = hist_count(slots);
	if (!out->count)
		return;
	rank[0] = rank_of(out->count, 0.50);
	rank[1] = rank_of(out->count, 0.90);
	rank[2] = rank_of(out->count, 0.99);
	for (unsigned int s = 0; s < GS_HIST_SLOTS && k < 3; s++) {
		seen += slots[s];
		while (k < 3 && seen >= rank[k])
			*q[k++] = hist_slot_mid(s);
	}
	for (unsigned int s = GS_HIST_SLOTS; s-- > 0;) {
		if (slots[s]) {
			/* lo + (width - 1): the top slot's end is 2^64 - 1, no overflow */
			out->max_seen_slot_hi = gs_hist_slot_lo(s) + (gs_hist_slot_width(s) - 1);
			break;
		}
	}
}

double hist_thread_quantile(const uint32_t *slots, double q, uint64_t max)
{
	uint64_t count = 0, rank, seen = 0;
	double lo, hi, mid;

	for (unsigned int c = 0; c < GS_THIST_SLOTS; c++)
		count += slots[c];
	if (!count)
		return 0;
	rank = rank_of(count, q);
	for (unsigned int c = 0; c < GS_THIST_SLOTS; c++) {
		seen += slots[c];
		if (seen < rank)
			continue;
		lo = c ? (double)gs_hist_slot_lo(gs_thist_fine(c)) : 0;
		hi = c + 1 < GS_THIST_SLOTS ? (double)gs_hist_slot_lo(gs_thist_fine(c + 1)) : (double)max;
		mid = (lo + hi) / 2;
		/* never past the longest wait, which is known exactly */
		return max && mid > (double)max ? (double)max : mid;
	}
	return 0;
}

uint64_t hist_bucket_le_ns(unsigned int i)
{
	/* 32 * 2^(k/4), rounded to a slot edge (in 32nds of the octave) */
	static const unsigned int quarter[HIST_BUCKET_PER_OCT] = { 32, 38, 45, 54 };
	unsigned int oct = HIST_BUCKET_OCT_FIRST + i / HIST_BUCKET_PER_OCT;

	/* (32 + sub) << (row - 1) is slot (row, sub)'s edge: row = oct - 4 */
	return (uint64_t)quarter[i % HIST_BUCKET_PER_OCT] << (oct - GS_HIST_SUB_BITS);
}

void hist_buckets(const uint64_t *slots, struct hist_buckets *out)
{
	uint64_t seen = 0;
	unsigned int s = 0;

	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
		unsigned int end;

		out->le_ns[i] = hist_bucket_le_ns(i);
		end = gs_hist_slot(out->le_ns[i]);  /* the bound opens this slot */
		for (; s < end; s++)
			seen += slots[s];
		out->below[i] = seen;
	}
	out->count = hist_count(slots);
}
