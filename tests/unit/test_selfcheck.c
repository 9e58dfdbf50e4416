// SPDX-License-Identifier: MIT
/* The self-check's judgement (user/model/selfcheck.c) on raw readings whose
 * truth the test sets: agreement, each way of disagreeing, the window's
 * closing race, and a target that ended first. */
#include <string.h>
#include "check.h"
#include "model/selfcheck.h"

/* 1000 switches in the window: start counter 500, closing reads 1500 and
 * 1501 around BPF's stop; BPF saw the first acquisition by another holder
 * than the one at attach, then 999 more changes. */
static struct selfcheck_raw agree(void)
{
	struct selfcheck_raw r;

	memset(&r, 0, sizeof(r));
	r.have_bpf = true;
	r.have_start = r.have_end = true;
	r.sn_start = 500;
	r.holder_start = 0x1000;
	r.first_tstate = 0x2000;
	r.changes = 999;
	r.seen = 5000;
	r.sn_first = 501;
	r.sn_last = 1500;
	r.sn_end_a = 1500;
	r.sn_end_b = 1501;
	r.holder_tid_known = true;
	r.locked_a = r.locked_b = 1;
	r.holder_tid_a = r.holder_tid_b = 42;
	r.bpf_holder = 42;
	return r;
}

int main(void)
{
	struct selfcheck c;
	struct selfcheck_raw r;

	r = agree();
	selfcheck__eval(&r, true, 5000, 5000, 10000, &c);
	CHECK(c.ok);
	CHECK(c.have_interp);
	CHECK_U64(c.interp, 1000);
	CHECK_U64(c.gilscope, 1000);
	CHECK_STR(c.interp_at, "window edges");

	/* the first acquisition by the holder at attach is no switch */
	r = agree();
	r.first_tstate = r.holder_start;
	selfcheck__eval(&r, true, 5000, 5000, 10000, &c);
	CHECK_U64(c.gilscope, 999);
	CHECK(c.ok);                                 /* within 2 */

	/* missed acquisitions: 10% fewer changes */
	r = agree();
	r.changes = 899;
	selfcheck__eval(&r, true, 4500, 4500, 9000, &c);
	CHECK(!c.ok);
	CHECK_U64(c.nproblems, 1);
	CHECK_MSG(strstr(c.problems[0], "missed") != NULL, "%s", c.problems[0]);
	CHECK_U64(c.interp, 1500 - 500);             /* the nearest closing read */

	/* exactly 1% off is agreement, 1% + 1 is not */
	r = agree();
	r.sn_end_a = r.sn_end_b = 1500;
	r.changes = 989;                             /* 990 vs 1000 */
	selfcheck__eval(&r, true, 1, 1, 1, &c);
	CHECK(c.ok);
	r.changes = 988;
	selfcheck__eval(&r, true, 1, 1, 1, &c);
	CHECK(!c.ok);

	/* the probes saw nothing while the interpreter switched (a wrong
	 * GIL address): both the count and the stray hits say so */
	r = agree();
	r.seen = 0;
	r.changes = 0;
	selfcheck__eval(&r, true, 0, 0, 2288, &c);
	CHECK(!c.ok);
	CHECK_U64(c.gilscope, 0);
	CHECK_U64(c.interp, 1000);
	CHECK_U64(c.nproblems, 2);
	CHECK_MSG(strstr(c.problems[1], "2288 probe hits") != NULL, "%s", c.problems[1]);

	/* the target ended before the window: its counter at the last
	 * acquisition seen stands for the end */
	r = agree();
	r.have_end = false;
	selfcheck__eval(&r, true, 5000, 5000, 10000, &c);
	CHECK(c.ok);
	CHECK_U64(c.interp, 1000);
	CHECK_STR(c.interp_at, "the last acquisition seen (the target ended first)");

	/* ...and its counter as its last thread exited, when BPF could read
	 * it there, is the better end */
	r = agree();
	r.have_end = false;
	r.have_exit = true;
	r.sn_exit = 1500;
	selfcheck__eval(&r, true, 5000, 5000, 10000, &c);
	CHECK(c.ok);
	CHECK_STR(c.interp_at, "the target's exit");
	/* a target that ended with no acquisition seen (a 3.6 program that
	 * never started a thread: no GIL yet) and no switch at its exit */
	memset(&r, 0, sizeof(r));
	r.have_bpf = r.have_start = r.have_exit = true;
	r.sn_start = r.sn_exit = 0;
	selfcheck__eval(&r, true, 0, 0, 0, &c);
	CHECK(c.ok);
	CHECK_U64(c.interp, 0);
	/* the same exit, but the interpreter switched 40 times unseen */
	r.sn_exit = 40;
	selfcheck__eval(&r, true, 0, 0, 0, &c);
	CHECK(!c.ok);

	/* a holder at the close that gilscope does not have */
	r = agree();
	r.sn_end_b = r.sn_end_a;
	r.changes = 1000;                            /* keep the counts equal */
	r.first_tstate = r.holder_start;
	r.bpf_holder = 43;
	selfcheck__eval(&r, true, 5000, 5000, 10000, &c);
	CHECK(!c.ok);
	CHECK_MSG(strstr(c.problems[0], "thread 42") != NULL, "%s", c.problems[0]);
	/* ...but not when a switch raced the closing reads */
	r.sn_end_b = r.sn_end_a + 1;
	selfcheck__eval(&r, true, 5000, 5000, 10000, &c);
	CHECK(c.ok);

	/* nothing readable at all: said, not passed */
	memset(&r, 0, sizeof(r));
	selfcheck__eval(&r, true, 0, 0, 0, &c);
	CHECK(!c.ok);
	CHECK(!c.have_interp);

	/* no GIL (free-threaded): not applicable, not a failure */
	selfcheck__eval(&r, false, 0, 0, 0, &c);
	CHECK(c.ok);
	CHECK(!c.applies);

	CHECK_U64(selfcheck__tolerance(0), 2);
	CHECK_U64(selfcheck__tolerance(1000), 10);
	return check_summary("test_selfcheck");
}
