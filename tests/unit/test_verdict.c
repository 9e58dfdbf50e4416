// SPDX-License-Identifier: MIT
/* The verdict names the case from the figures: one synthetic report per
 * case, built the way report.c fills it. */
#include <string.h>
#include "check.h"
#include "model/figures.h"

static struct gs_report base(double win)
{
	struct gs_report r;

	memset(&r, 0, sizeof(r));
	r.window_s = win;
	return r;
}

static struct verdict v;

/* The figures gs_report__build derives from the ones a case sets. */
static const char *kind(struct gs_report r)
{
	struct thread_figs tf[8];
	double rel = (double)(r.forced + r.voluntary);

	r.parallelism = r.window_s > 0 ? r.on_cpu_s / r.window_s : 0;
	if (rel > 0) {
		r.forced_share = r.forced / rel;
		r.handoff_share = r.handoff.count / rel;
	}
	for (size_t i = 0; r.res && i < r.res->nthreads && i < 8; i++)
		thread_figs__build(&tf[i], &r.res->threads[i], false);
	if (r.res) {
		r.threads = tf;
		r.nthreads = r.res->nthreads;
	}
	gs_verdict(&r, &v);
	CHECK_MSG(strlen(v.text) > 20, "text '%s'", v.text);
	return v.kind;
}

static void has(const char *what)
{
	CHECK_MSG(strstr(v.text, what) != NULL, "'%s' not in '%s'", what, v.text);
}

static void lacks(const char *what)
{
	CHECK_MSG(strstr(v.text, what) == NULL, "'%s' in '%s'", what, v.text);
}

int main(void)
{
	struct gs_report r;

	/* 4 CPU-bound threads on one GIL */
	r = base(2);
	r.held_s = 1.96; r.held_pct = 98; r.contended_pct = 97; r.on_cpu_s = 2.02;
	r.with_gil_s = 1.96; r.without_gil_s = 0.06; r.wait_s = 5.9; r.forced = 390; r.voluntary = 2;
	CHECK_STR(kind(r), "gil-bound");
	has("time-slice");
	lacks("Hand-offs");

	/* threads that queue: Python bursts between sleeps, every release
	 * voluntary and handed to a waiter */
	r = base(2);
	r.held_s = 1.95; r.held_pct = 97.5; r.contended_pct = 99; r.avg_waiters = 2.6; r.on_cpu_s = 2;
	r.with_gil_s = 1.95; r.without_gil_s = 0.05; r.wait_s = 4; r.offcpu_s = 2; r.voluntary = 1000;
	r.handoff.count = 990; r.handoff.mean_us = 40; r.handoff_pct = 2;
	CHECK_STR(kind(r), "gil-bound");
	has("queue for the GIL");
	has("99% of releases left a waiter");
	has("50% of their time waiting");   /* 4 of 8 thread-seconds */
	lacks("Hand-offs");

	/* a loaded server on busy cores: the GIL held half the time, and
	 * free for a quarter while woken waiters wait for a CPU */
	r = base(4);
	r.held_s = 2.1; r.held_pct = 53; r.contended_pct = 77; r.avg_waiters = 10; r.on_cpu_s = 3.4;
	r.with_gil_s = 2.1; r.without_gil_s = 1.3; r.wait_s = 41; r.offcpu_s = 12; r.voluntary = 39000;
	r.handoff.count = 39000; r.handoff.mean_us = 24.5; r.handoff_pct = 24;
	CHECK_STR(kind(r), "gil-bound");
	has("queue for the GIL");
	has("Hand-offs take 24% of the window");
	has("free 24 us on average");
	/* the same without the hand-off gaps: not GIL-bound by that rule */
	r.handoff_pct = 5;
	CHECK(strcmp(kind(r), "gil-bound") != 0);

	/* a Python hog and a zlib thread that waits one switch interval
	 * for the GIL after every buffer: a convoy, though the GIL is held
	 * nearly always (which alone would read gil-bound) */
	{
		struct gs_result res;
		struct thread_rec th[3];

		memset(&res, 0, sizeof(res));
		memset(th, 0, sizeof(th));
		th[0].tid = 10;                          /* main: joins */
		th[0].st.ns[GS_NOGIL_OFF] = 3000000000ull;
		th[1].tid = 11;                          /* the hog */
		th[1].st.ns[GS_HELD_ON] = 2900000000ull;
		th[1].st.ns[GS_WAIT_OFF] = 60000000ull;
		th[1].st.holds = 480; th[1].st.hold_ns = 2900000000ull; th[1].st.hold_max_ns = 11900000ull;
		th[2].tid = 12;                          /* zlib */
		th[2].st.ns[GS_NOGIL_ON] = 360000000ull;
		th[2].st.ns[GS_HELD_ON] = 60000000ull;
		th[2].st.ns[GS_WAIT_OFF] = 2580000000ull;
		th[2].st.holds = 550; th[2].st.hold_ns = 58000000ull; th[2].st.waits = 482;
		res.threads = th; res.nthreads = 3;
		r = base(3);
		r.res = &res;
		r.held_s = 2.96; r.held_pct = 98.7; r.contended_pct = 95; r.on_cpu_s = 3.3; r.with_gil_s = 2.96;
		r.without_gil_s = 0.36; r.native_s = 0.36; r.wait_s = 2.64; r.offcpu_s = 3; r.forced = 480;
		r.voluntary = 550;
		CHECK_STR(kind(r), "convoy");
		has("TID 12 the worst");
		has("TID 11;");
		has("86% of their time waiting");   /* 2.58 of 3.0 s */
		has("up to 11.9 ms");
		/* the same zlib thread with nobody holding the GIL long: not one */
		th[1].st.ns[GS_HELD_ON] = 600000000ull;
		th[1].st.ns[GS_NOGIL_OFF] = 2300000000ull;
		r.held_pct = 22;
		CHECK(strcmp(kind(r), "convoy") != 0);
	}

	/* zlib threads: two cores, GIL mostly free */
	r = base(2);
	r.held_s = 0.1; r.held_pct = 5; r.on_cpu_s = 3.8; r.with_gil_s = 0.1; r.without_gil_s = 3.7;
	r.voluntary = 300;
	CHECK_STR(kind(r), "native-parallel");

	/* sleepers and pipe readers */
	r = base(2);
	r.held_s = 0.01; r.held_pct = 0.5; r.on_cpu_s = 0.04; r.offcpu_s = 7.9; r.voluntary = 1500;
	CHECK_STR(kind(r), "io-bound");

	/* nothing happens */
	r = base(2);
	r.offcpu_s = 4; r.voluntary = 4;
	CHECK_STR(kind(r), "idle");

	/* one Python thread alone */
	r = base(2);
	r.held_s = 2; r.held_pct = 100; r.on_cpu_s = 2; r.with_gil_s = 2; r.offcpu_s = 2;
	CHECK_STR(kind(r), "python-serial");

	/* holders preempted a third of their hold time */
	r = base(2);
	r.held_s = 1.2; r.held_offcpu_s = 0.7; r.held_pct = 95; r.contended_pct = 90; r.on_cpu_s = 1.3;
	r.with_gil_s = 1.2; r.forced = 300;
	CHECK_STR(kind(r), "oversubscribed");
	return check_summary("test_verdict");
}
