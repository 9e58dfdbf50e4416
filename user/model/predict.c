// SPDX-License-Identifier: MIT
/* What the verdict's advice would bring, from the window's measured
 * figures (docs/verdicts.md, "Predictions", has the formulas):
 *
 *   convoy                     -> a lower switch interval: the convoyed
 *                                 thread's wait per acquisition
 *   native-parallel, io-bound  -> fewer or more threads: the speedup of the
 *                                 thread pool's work
 *   otherwise (and when those  -> threads -> processes, Amdahl-style on the
 *   give nothing)                 measured serial and parallel parts
 *
 * Every speedup is bounded by the CPU time it may use: the CPUs of its
 * affinity and cpuset, and its cgroup's quota. */
#include <stdio.h>
#include <string.h>
#include "model/figures.h"
#include "model/predict.h"

/* The CPUs it may run on: affinity, cpuset, the quota rounded up; the
 * machine's when the limits are not known. */
static int cpus_usable(const struct gs_report *r)
{
	if (r->limits.known && r->limits.cpus_usable > 0)
		return r->limits.cpus_usable;
	if (r->limits.known && r->limits.cpus_online > 0)
		return r->limits.cpus_online;
	return r->ncpus;
}

/* CPU seconds it may use per second: those CPUs, or the quota if lower. */
static double cpu_capacity(const struct gs_report *r)
{
	double cap = cpus_usable(r);

	if (r->limits.known && r->limits.quota_cpus > 0 && r->limits.quota_cpus < cap)
		cap = r->limits.quota_cpus;
	return cap;
}

/* Off-CPU without the GIL and not runnable (clamped: the two are read apart). */
static double blocked_of(double offcpu_s, double runq_s)
{
	return offcpu_s > runq_s ? offcpu_s - runq_s : 0;
}

static void speedup_range(struct prediction *p, double high, double overhead)
{
	p->high = high;
	p->low = high * (1 - overhead);
}

/* ---------------------------------------------------------- processes */

/* In the window W the threads ran S s of Python holding the GIL (serial:
 * one thread at a time) and N s of native code without it (parallel). The
 * same work split evenly over P processes, each with its own GIL, on the
 * C CPU seconds per second it may use, needs (S + N) / C: the ideal
 * speedup is W / ((S + N) / C), at most C (blocked time is taken to shrink
 * as much as the work, not more). */
static bool predict_processes(const struct gs_report *r, struct prediction *p)
{
	double win = r->window_s, work = r->held_s + r->native_s, cap = cpu_capacity(r), high;
	int cpus = cpus_usable(r);
	unsigned threads = 0;

	for (size_t i = 0; i < r->nthreads; i++)
		threads += r->threads[i].held_s + r->threads[i].native_s > 0;
	if (threads < 2 || win <= 0 || work <= 0 || cpus < 2 || r->held_s < GS_PREDICT_MIN_HELD_SHARE * win)
		return false;
	p->advice = "processes";
	p->workers = cpus;
	p->span_s = win;
	p->serial_s = r->held_s;
	p->parallel_s = r->native_s;
	p->blocked_s = blocked_of(r->offcpu_s, r->runq_s);
	high = win / (work / cap);
	speedup_range(p, high > cap ? cap : high, GS_PREDICT_PROC_OVERHEAD);
	snprintf(p->assumptions, sizeof(p->assumptions),
		 "the same work split evenly over %d processes on %d CPUs otherwise idle; %.2f s of Python with the "
		 "GIL and %.2f s of native code in a %.2f s window; low end: %.0f%% for start-up, passing data and "
		 "CPUs slower when all are busy",
		 cpus, cpus, p->serial_s, p->parallel_s, win, 100 * GS_PREDICT_PROC_OVERHEAD);
	return true;
}

/* ------------------------------------------------------- thread count */

/* The thread pool: the threads doing the work, alike in on-CPU time and
 * GIL acquisitions. Per
 * thread, on average: span, its time in the window; path, that time but
 * the run queue's (on a CPU, holding or waiting for the GIL, blocked).
 * Over the pool: serial (Python with the GIL), native (on-CPU without
 * it), blocked (off-CPU, not runnable). */
struct pool {
	int n;
	double span, path;
	double makespan;        /* the longest life: the pool's elapsed time */
	double serial, native, blocked;
};

static double cpu_of(const struct thread_figs *t)
{
	return t->held_s + t->native_s;
}

static double life_of(const struct thread_figs *t)
{
	return t->held_s + t->held_offcpu_s + t->native_s + t->wait_s + t->offcpu_s;
}

static bool within(double v, double center)
{
	return v >= center / GS_PREDICT_POOL_SPREAD && v <= center * GS_PREDICT_POOL_SPREAD;
}

/* t does about the work of c: as much on-CPU time, as many acquisitions. */
static bool alike(const struct thread_figs *t, const struct thread_figs *c)
{
	return cpu_of(c) > 0 && within(cpu_of(t), cpu_of(c)) && within(t->t->st.holds, c->t->st.holds);
}

/* The thread the pool is centred on: the one with the most threads alike
 * (ties: the busier), so that a main thread that starts and joins the
 * pool (its imports: many short holds), or a coordinator, stays out. Of
 * many threads, GS_PREDICT_POOL_CENTERS evenly spaced ones are tried. */
static const struct thread_figs *pool_center(const struct gs_report *r)
{
	size_t step = (r->nthreads + GS_PREDICT_POOL_CENTERS - 1) / GS_PREDICT_POOL_CENTERS;
	const struct thread_figs *best = NULL;
	int most = 0;

	for (size_t i = 0; i < r->nthreads; i += step ? step : 1) {
		const struct thread_figs *c = &r->threads[i];
		int n = 0;

		for (size_t j = 0; j < r->nthreads; j++)
			n += alike(&r->threads[j], c);
		if (n && (n > most || (n == most && cpu_of(c) > cpu_of(best)))) {
			most = n;
			best = c;
		}
	}
	return best;
}

static void pool_of(const struct gs_report *r, struct pool *pl)
{
	const struct thread_figs *center = pool_center(r);

	memset(pl, 0, sizeof(*pl));
	for (size_t i = 0; center && i < r->nthreads; i++) {
		const struct thread_figs *t = &r->threads[i];

		if (!alike(t, center))
			continue;
		pl->n++;
		pl->span += life_of(t);
		if (life_of(t) > pl->makespan)
			pl->makespan = life_of(t);
		pl->path += life_of(t) - t->runq_s;
		pl->serial += t->held_s;
		pl->native += t->native_s;
		pl->blocked += blocked_of(t->offcpu_s, t->runq_s);
	}
	if (pl->n) {
		pl->span /= pl->n;
		pl->path /= pl->n;
	}
}

/* What no thread count gets below: the GIL's limit (the serial part, one
 * thread at a time) or the CPUs' (all on-CPU work over the capacity). */
static double pool_limit(const struct pool *pl, double cap)
{
	double cpu = (pl->serial + pl->native) / cap;

	return pl->serial > cpu ? pl->serial : cpu;
}

/* The pool's time with n threads: each thread's path shrinks (or grows)
 * with its share of the work, down to the limit. */
static double pool_time(const struct pool *pl, double cap, int n)
{
	double t = pl->path * pl->n / n, lim = pool_limit(pl, cap);

	return t > lim ? t : lim;
}

/* The fewest threads whose paths get within 10% of the limit, at most
 * GS_PREDICT_MAX_GROWTH times the pool. */
static int threads_to_limit(const struct pool *pl, double cap)
{
	double lim = pool_limit(pl, cap), x;
	int n;

	if (lim <= 0)
		return GS_PREDICT_MAX_GROWTH * pl->n;
	x = pl->path * pl->n / ((1 + GS_PREDICT_SATURATE_SLACK) * lim);
	if (x >= GS_PREDICT_MAX_GROWTH * pl->n)
		return GS_PREDICT_MAX_GROWTH * pl->n;
	n = (int)x;                     /* rounded up: */
	n += n < x;
	return n < 1 ? 1 : n;
}

static bool predict_threads(const struct gs_report *r, struct prediction *p)
{
	double cap = cpu_capacity(r), high;
	struct pool pl;
	int want;

	pool_of(r, &pl);
	if (!pl.n || pl.path <= 0 || cap <= 0)
		return false;
	want = threads_to_limit(&pl, cap);
	if (want == pl.n)
		return false;
	high = pl.span / pool_time(&pl, cap, want);
	if ((want > pl.n && high < GS_PREDICT_MIN_GAIN) || high < 1 - GS_PREDICT_OVERHEAD)
		return false;
	p->advice = want < pl.n ? "fewer threads" : "more threads";
	p->threads_now = pl.n;
	p->threads = want;
	p->span_s = pl.span;
	p->serial_s = pl.serial;
	p->parallel_s = pl.native;
	p->blocked_s = pl.blocked;
	speedup_range(p, high, GS_PREDICT_OVERHEAD);
	/* Fewer threads that still fill the CPUs finish the pool's work
	 * (now done in its longest life, the makespan) at the limit itself,
	 * less what sharing the CPUs cost: the paths' model (time(m) >= 1.1 L
	 * by the choice of m) is the low side then. Measured: 4 zlib threads
	 * on 2 CPUs -> 2 ran 1.00-1.07x, the model alone said 0.74-0.94
	 * (docs/verdicts.md). */
	if (want < pl.n && pool_limit(&pl, cap) > 0) {
		double fill = pl.makespan / (pool_limit(&pl, cap) * (1 - GS_PREDICT_SHARING));

		if (fill > p->high)
			p->high = fill;
	}
	snprintf(p->assumptions, sizeof(p->assumptions),
		 "the same work split evenly over %d threads instead of %d; each now %.2f s, of it %.2f s not "
		 "waiting for a CPU, which shrinks with its share; bounded by the GIL (%.2f s of Python with it "
		 "stays serial) and %.2f CPUs (%.2f s on-CPU); low end: %.0f%% for switching and other load",
		 want, pl.n, pl.span, pl.path, pl.serial, cap, pl.serial + pl.native, 100 * GS_PREDICT_OVERHEAD);
	return true;
}

/* ---------------------------------------------------- switch interval */

static int advised_interval(int now_us)
{
	return now_us > 2 * GS_PREDICT_SWITCH_US ? GS_PREDICT_SWITCH_US : now_us / 2;
}

/* The convoyed thread waited w per acquisition at the interval I: a hog
 * gives the GIL up one interval after being asked, plus a fixed part d
 * (noticing the request, the hand-off, getting a CPU) that the interval
 * does not change; a share q of its waits met a hog. So w = q (I + d) and
 * at I': w' = q (I' + d). Low end: d = 0, the wait scales with the
 * interval (w I' / I). High end: d = w - I (every wait met a hog, q = 1),
 * at least the measured mean hand-off. */
static bool predict_interval(const struct gs_report *r, struct prediction *p)
{
	const struct thread_figs *t;
	double w, fixed, now, to;
	struct convoy cv;

	find_convoy(r, &cv);
	if (cv.starved_idx < 0 || r->switch_interval_us <= 0 || advised_interval(r->switch_interval_us) <= 0)
		return false;
	t = &r->threads[cv.starved_idx];
	if (!t->t->st.waits || t->wait_s <= 0)
		return false;
	now = r->switch_interval_us;
	to = advised_interval(r->switch_interval_us);
	w = t->wait_s * 1e6 / t->t->st.waits;
	fixed = w - now > r->handoff.mean_us ? w - now : r->handoff.mean_us;
	p->advice = "switch interval";
	p->interval_now_us = r->switch_interval_us;
	p->interval_us = (int)to;
	p->wait_now_us = w;
	p->wait_low_us = w * to / now;
	p->wait_high_us = w / (now + fixed) * (to + fixed);
	p->span_s = r->window_s;
	p->serial_s = r->held_s;
	p->parallel_s = r->native_s;
	p->blocked_s = blocked_of(r->offcpu_s, r->runq_s);
	snprintf(p->assumptions, sizeof(p->assumptions),
		 "TID %u waited %.0f us per acquisition (%llu waits) behind holders that give the GIL up one "
		 "switch interval (%d us) after being asked; low end: the whole wait scales with the interval; "
		 "high end: a fixed %.0f us of each wait (the request noticed, the hand-off, a CPU) stays",
		 t->t->tid, w, (unsigned long long)t->t->st.waits, r->switch_interval_us, fixed);
	return true;
}

void predict(const struct gs_report *r, struct prediction *p)
{
	const char *kind = r->verdict.kind ? r->verdict.kind : "";

	memset(p, 0, sizeof(*p));
	if (!strcmp(kind, "convoy"))
		p->have = predict_interval(r, p);
	else if (!strcmp(kind, "native-parallel") || !strcmp(kind, "io-bound"))
		p->have = predict_threads(r, p);
	/* Processes when nothing else applies; and for native-parallel when
	 * they bring more than another thread count (threads half Python,
	 * half native code: their Python stays serial however many there
	 * are). Not over io-bound's thread advice: the processes formula
	 * leaves out blocked time, most of an I/O-bound thread's. */
	if (!p->have || !strcmp(kind, "native-parallel")) {
		struct prediction q;

		memset(&q, 0, sizeof(q));
		q.have = predict_processes(r, &q);
		if (!p->have || (q.have && q.high > p->high))
			*p = q;
	}
}
