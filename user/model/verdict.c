// SPDX-License-Identifier: MIT
/* Name the case a process is in, in the words of the users' rules of thumb
 * (threads vs processes, CPU- vs I/O-bound, the switch interval, C extensions releasing the GIL), with the figures that decided it. The thresholds are
 * judgement calls; each comment says which claim it tests. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "model/figures.h"

/* Append to v->text at n (what snprintf returned so far); the new n. */
static int append(struct verdict *v, int n, const char *fmt, ...)
{
	va_list ap;
	int m;

	if (n < 0 || (size_t)n >= sizeof(v->text))
		return n;
	va_start(ap, fmt);
	m = vsnprintf(v->text + n, sizeof(v->text) - n, fmt, ap);
	va_end(ap);
	return m < 0 ? n : n + m;
}

/* The convoy effect: threads that come back to the GIL briefly between
 * native code or I/O queue behind threads that hold it for long stretches,
 * so work that could run in parallel waits. Finds such waiting threads
 * (each waits >= 25% of its time, holds < 1 ms on average, and spends
 * more time outside the GIL than holding it) and such holders (>= 30% of
 * the window each). */
struct convoy {
	int nstarved, nhogs;
	double starved_wait_s, starved_life_s, hog_held_s, hog_max_ms;
	uint64_t starved_waits;
	uint32_t starved_tid, hog_tid;     /* the worst of each */
};

static void find_convoy(const struct gs_report *r, struct convoy *c)
{
	const struct gs_result *res = r->res;
	double win = r->window_s, worst_wait = 0, worst_held = 0;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; res && win > 0 && i < res->nthreads; i++) {
		const struct gs_thread *t = &res->threads[i].st;
		double held = (t->ns[GS_HELD_ON] + t->ns[GS_HELD_OFF]) / 1e9;
		double wait = (t->ns[GS_WAIT_ON] + t->ns[GS_WAIT_OFF]) / 1e9;
		double outside = (t->ns[GS_NOGIL_ON] + t->ns[GS_NOGIL_OFF]) / 1e9;
		double life = held + wait + outside;
		double hold_mean_ms = t->holds ? t->hold_ns / 1e6 / t->holds : 0;

		if (life > 0 && wait >= 0.25 * life && t->holds && hold_mean_ms < 1 && outside >= held) {
			c->nstarved++;
			c->starved_wait_s += wait;
			c->starved_life_s += life;
			c->starved_waits += t->waits;
			if (wait > worst_wait) {
				worst_wait = wait;
				c->starved_tid = res->threads[i].tid;
			}
		} else if (held >= 0.3 * win) {
			c->nhogs++;
			c->hog_held_s += held;
			if (t->hold_max_ns / 1e6 > c->hog_max_ms)
				c->hog_max_ms = t->hold_max_ns / 1e6;
			if (held > worst_held) {
				worst_held = held;
				c->hog_tid = res->threads[i].tid;
			}
		}
	}
}

void gs_verdict(const struct gs_report *r, struct verdict *v)
{
	double win = r->window_s > 0 ? r->window_s : 1;
	double held_total = r->held_s + r->held_offcpu_s - r->sub_held_s;
	double busy = r->on_cpu_s / win;                       /* cores' worth of CPU */
	double nogil_share = r->on_cpu_s > 0 ? r->without_gil_s / r->on_cpu_s : 0;
	double held_off_share = held_total > 0 ? r->held_offcpu_s / held_total : 0;
	double releases = (double)(r->forced + r->voluntary);
	double forced_share = releases > 0 ? r->forced / releases : 0;
	double offcpu_share = (r->offcpu_s + r->on_cpu_s + r->wait_s + r->held_offcpu_s) > 0 ?
		r->offcpu_s / (r->offcpu_s + r->on_cpu_s + r->wait_s + r->held_offcpu_s) : 0;
	double rel_rate = releases / win;
	double thread_s = r->offcpu_s + r->on_cpu_s + r->wait_s + r->held_offcpu_s;
	double runq_share = thread_s > 0 ? r->runq_s / thread_s : 0;
	double blocked_share = thread_s > 0 ? (r->offcpu_s - r->runq_s) / thread_s : 0;
	double wait_share = thread_s > 0 ? r->wait_s / thread_s : 0;
	struct convoy cv;
	int n = 0;

	if (r->pt && r->pt->free_threaded) {
		v->kind = "free-threaded";
		snprintf(v->text, sizeof(v->text),
			 "a free-threaded build (no GIL; gilscope placed no GIL probes, so GIL figures are empty by "
			 "design): threads used %.2f cores, %.0f%% of thread time off-CPU.", busy, 100 * offcpu_share);
		return;
	}
	/* Sub-interpreters with their own GIL (3.12+) run Python in parallel
	 * inside one process: the per-interpreter GIL at work. */
	if (r->ngils > 1 && r->sub_held_s / win >= 0.2) {
		v->kind = "subinterpreters";
		snprintf(v->text, sizeof(v->text),
			 "%d sub-interpreter(s) with their own GIL ran Python for %.2f s of the %.2f s window beside the "
			 "main interpreter (its GIL held %.0f%%): threads used %.2f cores at once. Each GIL serializes "
			 "only its own interpreter; see GILS for each one's contention.",
			 r->ngils - 1, r->sub_held_s, r->window_s, r->held_pct, busy);
		return;
	}
	/* Nothing runs and nothing waits on I/O: no claim to test. */
	if (busy < 0.05 && r->held_pct < 5 && rel_rate < 20) {
		v->kind = "idle";
		snprintf(v->text, sizeof(v->text),
			 "the process is idle: its threads used %.1f%% of one CPU, held the GIL %.1f%% of the window and "
			 "released it %.0f times a second.",
			 100 * busy, r->held_pct, rel_rate);
		return;
	}
	/* A holder the scheduler took away stalls every waiter: more runnable
	 * threads than cores, or a holder blocking in native code without
	 * releasing the GIL. */
	if (held_total / win > 0.2 && held_off_share >= 0.25) {
		v->kind = "oversubscribed";
		snprintf(v->text, sizeof(v->text),
			 "GIL holders were off-CPU for %.0f%% of the hold time (%.2f s of %.2f s): the holder was "
			 "preempted or blocked while every waiter waited. Reduce runnable threads/processes to the "
			 "number of cores, or release the GIL around blocking native calls.",
			 100 * held_off_share, r->held_offcpu_s, held_total);
		return;
	}
	/* "Native code that releases the GIL runs in parallel": not while
	 * another thread keeps the GIL, as every return to Python waits. */
	find_convoy(r, &cv);
	if (cv.nstarved && cv.nhogs && cv.starved_wait_s >= 0.1 * win) {
		v->kind = "convoy";
		snprintf(v->text, sizeof(v->text),
			 "%d thread(s) that run native code or I/O between short GIL holds (TID %u the worst) spent %.0f%% "
			 "of their time waiting for the GIL (%llu waits, %.2f s), behind %d thread(s) holding it for long "
			 "stretches (TID %u; %.0f%% of the window, up to %.1f ms at a time). Their native work could run "
			 "in parallel but queues for the GIL every time it returns to Python: threads use %.2f cores. "
			 "Shorten the Python stretches (more await/yield points, smaller batches), lower "
			 "sys.setswitchinterval(), or move the Python-heavy part to another process.",
			 cv.nstarved, cv.starved_tid, 100 * cv.starved_wait_s / cv.starved_life_s,
			 (unsigned long long)cv.starved_waits, cv.starved_wait_s, cv.nhogs, cv.hog_tid,
			 100 * cv.hog_held_s / win / cv.nhogs, cv.hog_max_ms, busy);
		return;
	}
	/* "CPU-bound threads time-slice the GIL every 5 ms": held almost
	 * always, someone always waiting, one core's worth of work. The GIL
	 * is as busy while it passes from a release to a waiter that must
	 * first get a CPU (a hand-off): that time is wanted, not free. */
	if ((r->held_pct >= 70 || (r->held_pct + r->handoff_pct >= 70 && r->handoff_pct >= 10)) &&
	    r->contended_pct >= 50 && busy <= 1.3) {
		v->kind = "gil-bound";
		if (forced_share >= 0.3)
			n = snprintf(v->text, sizeof(v->text),
				     "CPU-bound Python threads time-slice the GIL: it is held %.0f%% of the time and "
				     "contended %.0f%% (%.2f waiters on average), %.0f%% of releases are forced switches, "
				     "and threads together use %.2f cores.",
				     r->held_pct, r->contended_pct, r->avg_waiters, 100 * forced_share, busy);
		else
			n = snprintf(v->text, sizeof(v->text),
				     "Python threads queue for the GIL: it is held %.0f%% of the time and contended %.0f%% "
				     "(%.2f waiters on average), and threads spent %.0f%% of their time waiting for it. "
				     "They release it themselves (I/O, sleep, C calls; %.0f%% forced), and %.0f%% of "
				     "releases left a waiter to take over: their Python runs one thread at a time, %.2f "
				     "cores in all.",
				     r->held_pct, r->contended_pct, r->avg_waiters, 100 * wait_share,
				     100 * forced_share, releases > 0 ? 100 * r->handoff.count / releases : 0, busy);
		if (r->handoff_pct >= 10)
			n = append(v, n, " Hand-offs take %.0f%% of the window besides: after a release the GIL stays "
				   "free %.0f us on average until the woken waiter gets a CPU, so fewer busy threads "
				   "or processes on these cores would shorten them.",
				   r->handoff_pct, r->handoff.mean_us);
		append(v, n, " Threads cannot run this Python code in parallel: use processes (multiprocessing, "
		       "ProcessPoolExecutor, several server workers) or move the hot loop into native code that "
		       "releases the GIL.");
		return;
	}
	/* "zlib, NumPy and I/O release the GIL": threads run at once with
	 * most of their CPU time outside the GIL. */
	if (busy >= 1.3 && nogil_share >= 0.5) {
		v->kind = "native-parallel";
		n = snprintf(v->text, sizeof(v->text),
			 "threads run in parallel in native code that releases the GIL: %.0f%% of on-CPU time is without "
			 "the GIL and threads use %.2f cores at once. Threads are the right tool here; more threads help "
			 "up to the number of cores.",
			 100 * nogil_share, busy);
		if (runq_share >= 0.25)
			append(v, n, " They also waited %.0f%% of their time for a CPU: more runnable threads than cores.",
			       100 * runq_share);
		return;
	}
	/* Runnable threads without a CPU: the machine (or this process) has
	 * more runnable threads than cores; whatever the GIL does, they
	 * cannot all run. */
	if (runq_share >= 0.25 && r->runq_s / win >= 0.25) {
		v->kind = "oversubscribed";
		snprintf(v->text, sizeof(v->text),
			 "threads were runnable but waiting for a CPU %.0f%% of their time (%.2f s), without the GIL: "
			 "more runnable threads than cores (this process's or others'). Threads used %.2f cores, %.0f%% "
			 "of their on-CPU time without the GIL. Fewer threads/processes than cores, or more cores.",
			 100 * runq_share, r->runq_s, busy, 100 * nogil_share);
		return;
	}
	/* One thread runs Python all the time, nobody else wants the GIL. */
	if (r->held_pct >= 50 && r->contended_pct < 20) {
		v->kind = "python-serial";
		snprintf(v->text, sizeof(v->text),
			 "one thread runs Python most of the time (GIL held %.0f%%, contended only %.0f%%): the GIL is not "
			 "the limit yet, a single core is. Adding threads will not speed this up; processes or native "
			 "code would.",
			 r->held_pct, r->contended_pct);
		return;
	}
	/* "I/O-bound threads are fine": mostly off-CPU without the GIL. */
	if (r->held_pct < 30 && blocked_share >= 0.5) {
		v->kind = "io-bound";
		snprintf(v->text, sizeof(v->text),
			 "threads spend %.0f%% of their time off-CPU without the GIL (I/O, sleep, locks) and hold it only "
			 "%.0f%% of the window: the GIL is not a bottleneck. Threads or asyncio are fine here.",
			 100 * blocked_share, r->held_pct);
		return;
	}
	v->kind = "mixed";
	snprintf(v->text, sizeof(v->text),
		 "no single pattern dominates: GIL held %.0f%%, contended %.0f%%, %.2f cores busy, %.0f%% of on-CPU "
		 "time without the GIL, %.0f%% of thread time off-CPU.",
		 r->held_pct, r->contended_pct, busy, 100 * nogil_share, 100 * offcpu_share);
}
