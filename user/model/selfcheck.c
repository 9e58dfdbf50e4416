// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "model/selfcheck.h"

/* Probe hits that matched no GIL event at all, beyond which the probes are
 * taken to be keyed on the wrong thing. */
#define GS_SELFCHECK_STRAY_HITS 50

uint64_t selfcheck__tolerance(uint64_t interp)
{
	uint64_t t = interp / 100;

	return t > 2 ? t : 2;
}

static void problem(struct selfcheck *c, const char *fmt, ...)
{
	va_list ap;

	c->ok = false;
	if (c->nproblems >= GS_SELFCHECK_MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	vsnprintf(c->problems[c->nproblems++], sizeof(c->problems[0]), fmt, ap);
	va_end(ap);
}

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* The interpreter's switch count over the window, from the best reads
 * there are (out->gilscope set: the closing reads clamp to it). */
static void interp_count(const struct selfcheck_raw *raw, struct selfcheck *out)
{
	if (raw->have_start && raw->have_end && raw->sn_end_b >= raw->sn_end_a && raw->sn_end_a >= raw->sn_start) {
		/* BPF stopped between the two closing reads: any count in
		 * between is the interpreter's at that moment */
		out->interp = clamp_u64(out->gilscope, raw->sn_end_a - raw->sn_start, raw->sn_end_b - raw->sn_start);
		out->have_interp = true;
		out->interp_at = "window edges";
	} else if (raw->have_start && raw->have_exit && raw->sn_exit >= raw->sn_start) {
		out->interp = raw->sn_exit - raw->sn_start;
		out->have_interp = true;
		out->interp_at = "the target's exit";
	} else if (raw->have_start && raw->seen && raw->sn_last >= raw->sn_start) {
		out->interp = raw->sn_last - raw->sn_start;
		out->have_interp = true;
		out->interp_at = "the last acquisition seen (the target ended first)";
	} else if (raw->seen && raw->sn_last >= raw->sn_first) {
		out->interp = raw->sn_last - raw->sn_first;
		out->gilscope = raw->changes;
		out->have_interp = true;
		out->interp_at = "the first and the last acquisition seen";
	}
}

void selfcheck__eval(const struct selfcheck_raw *raw, bool applies, uint64_t acquisitions,
		     uint64_t releases, uint64_t probe_hits, struct selfcheck *out)
{
	memset(out, 0, sizeof(*out));
	out->ok = true;
	out->applies = applies;
	out->tolerance = selfcheck__tolerance(0);
	if (!applies)
		return;
	/* gilscope's count: the holder changes seen after the first
	 * acquisition, plus the first one if its holder is not the one the
	 * interpreter recorded at the window's start */
	if (raw->seen) {
		out->gilscope = raw->changes;
		if (raw->have_start && raw->first_tstate != raw->holder_start)
			out->gilscope++;
	}
	interp_count(raw, out);
	out->tolerance = selfcheck__tolerance(out->interp);
	if (!out->have_interp)
		problem(out, "the interpreter's own switch counter could not be read: nothing confirms the figures");
	else if ((out->interp > out->gilscope ? out->interp - out->gilscope : out->gilscope - out->interp) >
		 out->tolerance)
		problem(out, "the interpreter counted %llu GIL switches, gilscope saw %llu: the probes missed "
			"GIL events, so holds, waits and thread states are wrong",
			(unsigned long long)out->interp, (unsigned long long)out->gilscope);
	if (raw->unreadable && !raw->seen)
		problem(out, "the GIL's holder and switch counter were unreadable at all %u acquisitions",
			raw->unreadable);
	if (probe_hits >= GS_SELFCHECK_STRAY_HITS && !acquisitions && !releases)
		problem(out, "%llu probe hits matched no GIL event: the probes are not where the GIL is",
			(unsigned long long)probe_hits);
	/* The interpreter's holder at the close, steady across both reads
	 * (locked by the same thread, no switch between), must be the one
	 * gilscope has; gilscope may have just seen it release (0). */
	if (raw->have_end && raw->holder_tid_known && raw->locked_a == 1 && raw->locked_b == 1 &&
	    raw->sn_end_a == raw->sn_end_b && raw->holder_tid_a && raw->holder_tid_a == raw->holder_tid_b &&
	    raw->bpf_holder && raw->bpf_holder != raw->holder_tid_a)
		problem(out, "at the end the interpreter says thread %u holds the GIL, gilscope says thread %u",
			raw->holder_tid_a, raw->bpf_holder);
}

void selfcheck__eval_light(const struct selfcheck_raw *raw, bool applies, uint64_t handoffs, uint64_t reads,
			   uint64_t reads_locked, uint64_t reads_bad, struct selfcheck *out)
{
	memset(out, 0, sizeof(*out));
	out->ok = true;
	out->applies = applies;
	out->light = true;
	out->tolerance = selfcheck__tolerance(0);
	if (!applies)
		return;
	/* every hand-off to a waiter is a switch (the waiter is not the
	 * last holder): the interpreter counts at least as many */
	out->gilscope = handoffs;
	{
		struct selfcheck_raw r = *raw;

		r.have_end = false;    /* no clamp: the counts differ by design */
		if (raw->have_start && raw->have_end && raw->sn_end_a >= raw->sn_start) {
			out->interp = raw->sn_end_a - raw->sn_start;
			out->have_interp = true;
			out->interp_at = "window edges";
		} else {
			interp_count(&r, out);
		}
	}
	out->tolerance = selfcheck__tolerance(out->interp);
	if (!out->have_interp)
		problem(out, "the interpreter's own switch counter could not be read: nothing confirms the figures");
	else if (out->gilscope > out->interp + out->tolerance)
		problem(out, "gilscope timed %llu hand-offs of the GIL, but the interpreter switched it only %llu "
			"times: the futex calls seen are not the GIL's",
			(unsigned long long)out->gilscope, (unsigned long long)out->interp);
	if (reads_bad)
		problem(out, "%llu of %llu reads of the GIL's state found `locked` neither 0 nor 1: the address "
			"read is not the GIL's", (unsigned long long)reads_bad, (unsigned long long)reads);
	else if (out->have_interp && out->interp >= GS_SELFCHECK_LIGHT_MIN && reads >= GS_SELFCHECK_LIGHT_MIN &&
		 !reads_locked)
		problem(out, "the interpreter switched the GIL %llu times, but none of %llu reads found it "
			"locked: the address read is not the GIL's",
			(unsigned long long)out->interp, (unsigned long long)reads);
}
