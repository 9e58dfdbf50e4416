// SPDX-License-Identifier: MIT
/* predict(): one synthetic report per advice, its figures set the way
 * gs_report__build fills them, and the expected numbers worked out by
 * hand from the formulas in docs/verdicts.md ("Predictions"). */
#include <math.h>
#include <string.h>
#include "check.h"
#include "model/figures.h"

#define S 1000000000ull   /* ns per s */

#define CHECK_NEAR(a, b) do {							\
	double a_ = (a), b_ = (b);						\
	CHECK_MSG(fabs(a_ - b_) <= 1e-3 * (fabs(b_) > 1 ? fabs(b_) : 1),	\
		  "%.6f != %.6f", a_, b_);					\
} while (0)

static struct gs_result res;
static struct thread_rec th[512];
static struct thread_figs tf[512];
static struct gs_report r;
static struct prediction p;

/* A report of win s on ncpus CPUs (limits known, no quota), in verdict
 * kind, with no threads yet. */
static void report(double win, int ncpus, const char *kind)
{
	memset(&res, 0, sizeof(res));
	memset(th, 0, sizeof(th));
	memset(&r, 0, sizeof(r));
	res.threads = th;
	r.res = &res;
	r.threads = tf;
	r.window_s = win;
	r.ncpus = ncpus;
	r.switch_interval_us = 5000;
	r.limits = (struct limits_figs){ .known = true, .cpus_online = ncpus, .cpus_allowed = ncpus,
					 .cpus_pinned = ncpus, .cpus_usable = ncpus, .quota_cpus = -1 };
	r.verdict.kind = kind;
}

/* A thread with seconds in each state (runq: of offcpu); the report's
 * totals follow, as gs_report__build adds them up. */
static struct thread_rec *thread(uint32_t tid, double held, double held_off, double native, double wait,
				 double offcpu, double runq)
{
	struct thread_rec *t = &th[res.nthreads];

	t->tid = tid;
	t->st.ns[GS_HELD_ON] = held * S;
	t->st.ns[GS_HELD_OFF] = held_off * S;
	t->st.ns[GS_NOGIL_ON] = native * S;
	t->st.ns[GS_WAIT_OFF] = wait * S;
	t->st.ns[GS_NOGIL_OFF] = offcpu * S;
	t->st.runq_ns = runq * S;
	thread_figs__build(&tf[res.nthreads], t, false);
	res.nthreads++;
	r.nthreads = res.nthreads;
	r.held_s += held;
	r.held_offcpu_s += held_off;
	r.native_s += native;
	r.wait_s += wait;
	r.offcpu_s += offcpu;
	r.runq_s += runq;
	r.on_cpu_s += held + native;
	return t;
}

/* Threads -> processes: S = 1.9 s, N = 1.1 s in a 2 s window on 2 CPUs:
 * 2 / ((1.9 + 1.1) / 2) = 1.3333; with a 1.5-CPU quota, 2 / (3 / 1.5)
 * = 1.0 (the quota rounded up still allows 2 CPUs: 2 workers). */
static void processes(void)
{
	report(2, 2, "gil-bound");
	thread(10, 0.95, 0, 0.55, 0.5, 0, 0);
	thread(11, 0.95, 0, 0.55, 0.5, 0, 0);
	predict(&r, &p);
	CHECK(p.have);
	CHECK_STR(p.advice, "processes");
	CHECK(p.workers == 2);
	CHECK_NEAR(p.high, 1.333333);
	CHECK_NEAR(p.low, 1.066667);    /* 20% off for processes */
	CHECK_NEAR(p.serial_s, 1.9);
	CHECK_NEAR(p.parallel_s, 1.1);
	CHECK_NEAR(p.span_s, 2);
	CHECK(p.threads == 0 && p.interval_us == 0);

	r.limits.quota_cpus = 1.5;
	predict(&r, &p);
	CHECK(p.have && p.workers == 2);
	CHECK_NEAR(p.high, 1.0);
	CHECK_NEAR(p.low, 0.8);

	/* Python holds the GIL < 20% of the window: nothing to predict */
	report(2, 2, "mixed");
	thread(10, 0.19, 0, 1.5, 0, 0.3, 0);
	thread(11, 0.2, 0, 1.5, 0, 0.3, 0);
	predict(&r, &p);
	CHECK(!p.have);
}

/* 4 zlib threads on 2 CPUs, each 2 s in the window, half of it runnable
 * without a CPU; main only joins (no CPU: not in the pool). Pool: n = 4,
 * span 2, path 1, serial 0.08, native 3.92; the limit is the CPUs':
 * 4.0 / 2 = 2.0. Fewest threads within 10% of it: ceil(1 * 4 / 2.2) = 2;
 * their time max(1 * 4 / 2, 2.0) = 2.0: the model says 1.0, low 0.85; 2
 * threads that fill the CPUs reach L less the 5% sharing cost: high
 * 2 / (2.0 * 0.95) = 1.0526316. */
static void fewer_threads(void)
{
	report(2, 2, "native-parallel");
	thread(10, 0, 0, 0, 0, 2, 0);
	for (uint32_t i = 0; i < 4; i++)
		thread(11 + i, 0.02, 0, 0.98, 0, 1, 1);
	predict(&r, &p);
	CHECK(p.have);
	CHECK_STR(p.advice, "fewer threads");
	CHECK(p.threads_now == 4 && p.threads == 2);
	CHECK_NEAR(p.high, 1.0526316);
	CHECK_NEAR(p.low, 0.85);
	CHECK_NEAR(p.span_s, 2);
	CHECK_NEAR(p.serial_s, 0.08);
	CHECK_NEAR(p.parallel_s, 3.92);
	CHECK_NEAR(p.blocked_s, 0);
	CHECK(p.workers == 0);

	/* The CPUs not quite full (3.68 of 4 CPU-seconds): 4 threads of 0.02
	 * s held, 0.9 s native, 0.08 s waiting for the GIL, 1 s runnable:
	 * path 1, L = 3.68 / 2 = 1.84, m = ceil(4 / 2.024) = 2, time(2) =
	 * max(2, 1.84) = 2: the model says 1.0, low 0.85; fewer threads that
	 * fill the CPUs reach L less 5%: high 2 / (1.84 * 0.95) = 1.1441648 */
	report(2, 2, "native-parallel");
	thread(10, 0, 0, 0, 0, 2, 0);
	for (uint32_t i = 0; i < 4; i++)
		thread(11 + i, 0.02, 0, 0.9, 0.08, 1, 1);
	predict(&r, &p);
	CHECK(p.have);
	CHECK_STR(p.advice, "fewer threads");
	CHECK(p.threads_now == 4 && p.threads == 2);
	CHECK_NEAR(p.high, 1.1441648);
	CHECK_NEAR(p.low, 0.85);

	/* 2 such threads on 2 CPUs, not queueing: path 2, limit 3.94 / 2 =
	 * 1.97, ceil(2 * 2 / 2.167) = 2, no change; and Python holds the GIL
	 * 2% of the window: no processes either */
	report(2, 2, "native-parallel");
	thread(10, 0, 0, 0, 0, 2, 0);
	thread(11, 0.02, 0, 1.95, 0, 0.03, 0);
	thread(12, 0.02, 0, 1.95, 0, 0.03, 0);
	predict(&r, &p);
	CHECK(!p.have);

	/* native-parallel, but mostly Python: 2 threads of 0.8 s with the
	 * GIL, 0.4 s native, 0.8 s waiting. More threads stay under the
	 * GIL's limit, 2 / 1.6 = 1.25; processes: 2 / (2.4 / 2) = 1.666667,
	 * which is advised */
	report(2, 2, "native-parallel");
	thread(10, 0, 0, 0, 0, 2, 0);
	thread(11, 0.8, 0, 0.4, 0.8, 0, 0);
	thread(12, 0.8, 0, 0.4, 0.8, 0, 0);
	predict(&r, &p);
	CHECK(p.have);
	CHECK_STR(p.advice, "processes");
	CHECK_NEAR(p.high, 1.666667);
}

static void holds(struct thread_rec *t, uint64_t n)
{
	t->st.holds = n;
	thread_figs__build(&tf[t - th], t, false);
}

/* 8 I/O threads, each 3.13 s: 0.1 s Python, 0.01 s native, 0.02 s waiting
 * for the GIL, 3.0 s off-CPU of which 0.01 s runnable, 100 acquisitions;
 * main as much CPU, but 650 acquisitions (its imports): outside the pool
 * (650 > 100 * 1.5). Path 3.12, serial 0.8, native
 * 0.08: the limit is the GIL's, max(0.8, 0.88 / 2) = 0.8. ceil(3.12 * 8 /
 * 0.88) = 29, at most 2 * 8 = 16; their time max(3.12 * 8 / 16, 0.8) =
 * 1.56: 3.13 / 1.56 = 2.00641. */
static void more_threads(void)
{
	struct thread_rec *main_thread;

	report(3.2, 2, "io-bound");
	main_thread = thread(10, 0.1, 0, 0.01, 0, 3.1, 0);
	holds(main_thread, 650);
	for (uint32_t i = 0; i < 8; i++)
		holds(thread(11 + i, 0.1, 0, 0.01, 0.02, 3.0, 0.01), 100);
	predict(&r, &p);
	CHECK(p.have);
	CHECK_STR(p.advice, "more threads");
	CHECK(p.threads_now == 8 && p.threads == 16);
	CHECK_NEAR(p.high, 2.006410);
	CHECK_NEAR(p.low, 1.705449);
	CHECK_NEAR(p.span_s, 3.13);
	CHECK_NEAR(p.serial_s, 0.8);
	CHECK_NEAR(p.parallel_s, 0.08);
	CHECK_NEAR(p.blocked_s, 8 * 2.99);
	/* main as many acquisitions as a worker: in the pool (9 threads) */
	holds(main_thread, 100);
	predict(&r, &p);
	CHECK(p.have && p.threads_now == 9);

	/* 400 such threads beside main (every other one tried as the
	 * centre): all 400 in the pool, twice as many advised */
	report(3.2, 2, "io-bound");
	holds(thread(10, 0.1, 0, 0.01, 0, 3.1, 0), 650);
	for (uint32_t i = 0; i < 400; i++)
		holds(thread(11 + i, 0.001, 0, 0.0001, 0.0002, 3.1287, 0.0001), 100);
	predict(&r, &p);
	CHECK(p.have && p.threads_now == 400 && p.threads == 800);

	/* 0.25 s of Python each: the GIL's limit 2.0 (over 2.08 / 2 = 1.04);
	 * ceil(3.12 * 8 / 2.2) = 12 threads, their time max(2.08, 2.0):
	 * 3.13 / 2.08 = 1.504808 */
	report(3.2, 2, "io-bound");
	thread(10, 0.05, 0, 0.01, 0, 3.1, 0);
	for (uint32_t i = 0; i < 8; i++)
		thread(11 + i, 0.25, 0, 0.01, 0.02, 2.85, 0.01);
	predict(&r, &p);
	CHECK(p.have);
	CHECK_STR(p.advice, "more threads");
	CHECK(p.threads == 12);
	CHECK_NEAR(p.high, 1.504808);

	/* 0.18 s of Python each: serial 1.44, on-CPU 1.52; on 2 CPUs the
	 * GIL's limit 1.44: ceil(24.96 / 1.584) = 16 threads, max(1.56,
	 * 1.44): 3.13 / 1.56 = 2.00641. Under a 0.5-CPU quota the CPUs'
	 * limit is 1.52 / 0.5 = 3.04: ceil(24.96 / 3.344) = 8, no change;
	 * and one CPU usable: no processes either */
	report(3.2, 2, "io-bound");
	thread(10, 0.05, 0, 0.01, 0, 3.1, 0);
	for (uint32_t i = 0; i < 8; i++)
		thread(11 + i, 0.18, 0, 0.01, 0.02, 2.92, 0.01);
	predict(&r, &p);
	CHECK(p.have && p.threads == 16);
	CHECK_NEAR(p.high, 2.006410);
	r.limits.quota_cpus = 0.5;
	r.limits.cpus_usable = 1;
	predict(&r, &p);
	CHECK_MSG(!p.have, "%s", p.advice);
}

/* The convoy of test_verdict.c: the zlib thread waited 2.58 s over 482
 * waits (5352.697 us each) at 5 ms; hand-offs 40 us. At 1 ms: low
 * 5352.697 * 1000 / 5000 = 1070.539; the fixed part max(352.697, 40), the
 * share 5352.697 / 5352.697 = 1, high 1 * (1000 + 352.697) = 1352.697. */
static void convoy(int interval_us)
{
	struct thread_rec *t;

	report(3, 2, "convoy");
	r.switch_interval_us = interval_us;
	r.handoff.mean_us = 40;
	thread(10, 0, 0, 0, 0, 3, 0);
	t = thread(11, 2.9, 0, 0, 0.06, 0, 0);              /* the hog */
	t->st.holds = 480; t->st.hold_ns = 2900000000ull; t->st.hold_max_ns = 11900000ull;
	thread_figs__build(&tf[1], t, false);
	t = thread(12, 0.06, 0, 0.36, 2.58, 0, 0);          /* zlib */
	t->st.holds = 550; t->st.hold_ns = 58000000ull; t->st.waits = 482;
	thread_figs__build(&tf[2], t, false);
	predict(&r, &p);
}

static void switch_interval(void)
{
	convoy(5000);
	CHECK(p.have);
	CHECK_STR(p.advice, "switch interval");
	CHECK(p.interval_now_us == 5000 && p.interval_us == 1000);
	CHECK_NEAR(p.wait_now_us, 5352.697);
	CHECK_NEAR(p.wait_low_us, 1070.539);
	CHECK_NEAR(p.wait_high_us, 1352.697);
	CHECK(p.threads == 0 && p.workers == 0);
	CHECK_MSG(strstr(p.assumptions, "TID 12") != NULL, "%s", p.assumptions);

	/* at 1.5 ms: advised 750 us; low 5352.697 * 750 / 1500 = 2676.349;
	 * fixed 3852.697, share 5352.697 / 5352.697 = 1: high 4602.697 */
	convoy(1500);
	CHECK(p.have && p.interval_us == 750);
	CHECK_NEAR(p.wait_low_us, 2676.349);
	CHECK_NEAR(p.wait_high_us, 4602.697);

	/* waits shorter than the interval (5352.697 at 8 ms): fixed = the
	 * hand-off (40 us), share 5352.697 / 8040 = 0.665758; low
	 * 5352.697 / 8 = 669.087, high 0.665758 * 1040 = 692.388 */
	convoy(8000);
	CHECK(p.have && p.interval_us == 1000);
	CHECK_NEAR(p.wait_low_us, 669.087);
	CHECK_NEAR(p.wait_high_us, 692.388);

	/* the interval not known: processes instead, over S 2.96, N 0.36:
	 * 3 / (3.32 / 2) = 1.807229 */
	convoy(-1);
	CHECK(p.have);
	CHECK_STR(p.advice, "processes");
	CHECK_NEAR(p.high, 1.807229);
}

int main(void)
{
	processes();
	fewer_threads();
	more_threads();
	switch_interval();
	return check_summary("test_predict");
}
