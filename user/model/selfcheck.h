/* SPDX-License-Identifier: MIT */
/* Never silently wrong: the interpreter's own count of GIL switches
 * against gilscope's, and the other signs that the probes missed events.
 *
 * CPython's take_gil increments gil->switch_number whenever a thread
 * other than gil->last_holder takes the GIL (3.6-3.15). gilscope reads the
 * counter from the target's memory when the window opens and when it
 * closes, and counts the same thing in BPF from the holders it sees at
 * each acquisition. The two must agree: an acquisition the probes missed
 * (a wrong GIL address, an inlined copy nobody probed, an unknown layout)
 * makes them differ. */
#ifndef GS_SELFCHECK_H
#define GS_SELFCHECK_H

#include <stdbool.h>
#include <stdint.h>
#include "model/raw.h"

#define GS_SELFCHECK_MAX_PROBLEMS 4

struct selfcheck {
	bool applies;                 /* a GIL to check (false: free-threaded) */
	bool have_interp;             /* the interpreter's count is known */
	uint64_t interp, gilscope;    /* GIL switches in the window */
	uint64_t tolerance;           /* selfcheck__tolerance(interp) */
	const char *interp_at;        /* "window edges", "the last acquisition
					 seen" (the target ended first) */
	bool light;                   /* --light: gilscope counts the hand-offs
					 it timed, at most the interpreter's */
	bool ok;                      /* every figure can be trusted */
	int nproblems;
	char problems[GS_SELFCHECK_MAX_PROBLEMS][256];
};

/* Largest disagreement still counted as agreement: 1% of the interpreter's
 * count, and at least 2 (a switch between the last probe going in and the
 * first read of the counter is seen by one side only, as is one between
 * the reads around the window's close). */
uint64_t selfcheck__tolerance(uint64_t interp);

/* Judge one recording. applies: the target has a GIL whose counter
 * gilscope knows where to read (pt->switchnum_addr != 0, not
 * free-threaded); acquisitions, releases and probe_hits: the report's
 * counts. */
void selfcheck__eval(const struct selfcheck_raw *raw, bool applies, uint64_t acquisitions,
		     uint64_t releases, uint64_t probe_hits, struct selfcheck *out);

/* --light sees the switches that hand the GIL to a waiter, not the ones
 * to a thread that found it free: its hand-offs must not outnumber the
 * interpreter's switches, and its reads of the GIL's state must look
 * like a GIL (locked 0 or 1, and locked some of the time when it
 * switches). */
#define GS_SELFCHECK_LIGHT_MIN 20
void selfcheck__eval_light(const struct selfcheck_raw *raw, bool applies, uint64_t handoffs, uint64_t reads,
			   uint64_t reads_locked, uint64_t reads_bad, struct selfcheck *out);

#endif
