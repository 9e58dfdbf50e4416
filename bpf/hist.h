/* SPDX-License-Identifier: MIT */
/* Log-linear histogram slots, shared by BPF (computes slots) and user space
 * (turns slots back into values). Values below 2^GS_HIST_SUB_BITS get one
 * slot each; above, every power of two is split into 2^GS_HIST_SUB_BITS
 * equal slots, so a slot's width is at most 1/32 of its lower bound and its
 * midpoint is within 1/64 (1.6%) of any value in it. */
#ifndef GILSCOPE_HIST_H
#define GILSCOPE_HIST_H

#ifndef __VMLINUX_H__ /* user space; BPF code gets the types from vmlinux.h */
#include <linux/types.h>
#endif

#define GS_HIST_SUB_BITS 5
#define GS_HIST_SUB (1u << GS_HIST_SUB_BITS)
/* msb ranges over [SUB_BITS, 63]: (64 - SUB_BITS) rows of SUB slots, plus
 * the exact row for small values. */
#define GS_HIST_SLOTS ((64 - GS_HIST_SUB_BITS + 1) * GS_HIST_SUB)

/* Index of the most significant set bit, v != 0; branch-light so the BPF
 * verifier sees a short straight line. */
static inline unsigned int gs_msb64(__u64 v)
{
	unsigned int r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8)  { v >>= 8;  r += 8; }
	if (v >> 4)  { v >>= 4;  r += 4; }
	if (v >> 2)  { v >>= 2;  r += 2; }
	if (v >> 1)  { r += 1; }
	return r;
}

static inline unsigned int gs_hist_slot(__u64 v)
{
	unsigned int msb, sub;

	if (v < GS_HIST_SUB)
		return (unsigned int)v;
	msb = gs_msb64(v);
	sub = (unsigned int)(v >> (msb - GS_HIST_SUB_BITS)) & (GS_HIST_SUB - 1);
	return (msb - GS_HIST_SUB_BITS + 1) * GS_HIST_SUB + sub;
}

/* Smallest value that lands in slot s. */
static inline __u64 gs_hist_slot_lo(unsigned int s)
{
	unsigned int row = s / GS_HIST_SUB, sub = s % GS_HIST_SUB;

	if (row == 0)
		return sub;
	return (__u64)(GS_HIST_SUB + sub) << (row - 1);
}

/* Width of slot s (number of distinct values it covers). */
static inline __u64 gs_hist_slot_width(unsigned int s)
{
	unsigned int row = s / GS_HIST_SUB;

	return row == 0 ? 1 : (__u64)1 << (row - 1);
}

/* Per-thread wait histograms are coarser, to live in the thread's own map
 * entry: a quarter octave per slot (8 fine slots, so a slot's midpoint is
 * within 12% of any value in it), from 128 ns (shorter waits count in the
 * first slot) to 2^36 ns = 69 s (longer ones in the last). */
#define GS_THIST_SHIFT 3
#define GS_THIST_FIRST 12 /* (fine slot of 128 ns) >> GS_THIST_SHIFT */
#define GS_THIST_SLOTS 120

static inline unsigned int gs_thist_slot(__u64 v)
{
	unsigned int c = gs_hist_slot(v) >> GS_THIST_SHIFT;

	c = c < GS_THIST_FIRST ? 0 : c - GS_THIST_FIRST;
	return c < GS_THIST_SLOTS ? c : GS_THIST_SLOTS - 1;
}

/* The first fine slot of coarse slot c. */
static inline unsigned int gs_thist_fine(unsigned int c)
{
	return (c + GS_THIST_FIRST) << GS_THIST_SHIFT;
}

#endif /* GILSCOPE_HIST_H */
