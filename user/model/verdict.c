// SPDX-License-Identifier: MIT
/* Name the case a process is in, in the words of the users' rules of thumb
 * (threads vs processes, CPU- vs I/O-bound, the switch interval, C
 * extensions releasing the GIL), with the figures that decided it. The
 * thresholds (model/verdict.h, docs/verdicts.md) are judgement calls; each
 * comment says which claim it tests. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "model/family.h"

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
void find_convoy(const struct gs_report *r, struct convoy *c)
{
	double win = r->window_s, worst_wait = 0, worst_held = 0;

	memset(c, 0, sizeof(*c));
	c->starved_idx = -1;
	for (size_t i = 0; win > 0 && i < r->nthreads; i++) {
		const struct thread_figs *t = &r->threads[i];
		double held = t->gil_s, wait = t->wait_s, outside = t->outside_s;
		double life = held + wait + outside;

		if (life > 0 && wait >= GS_CONVOY_WAIT_SHARE * life && t->t->st.holds &&
		    t->hold_mean_us / 1e3 < GS_CONVOY_HOLD_MEAN_MS && outside >= held) {
			c->nstarved++;
			c->starved_wait_s += wait;
			c->starved_life_s += life;
			c->starved_waits += t->t->st.waits;
			if (wait > worst_wait) {
				worst_wait = wait;
				c->starved_tid = t->t->tid;
				c->starved_idx = (int)i;
			}
		} else if (held >= GS_CONVOY_HOG_SHARE * win) {
			c->nhogs++;
			c->hog_held_s += held;
			if (t->hold_max_us / 1e3 > c->hog_max_ms)
				c->hog_max_ms = t->hold_max_us / 1e3;
			if (held > worst_held) {
				worst_held = held;
				c->hog_tid = t->t->tid;
			}
		}
	}
}

void gs_verdict(const struct gs_report *r, struct verdict *v)
{
	double win = r->window_s > 0 ? r->window_s : 1;
	double held_total = r->held_s + r->held_offcpu_s - r->sub_held_s;
	double busy = r->parallelism;                          /* cores' worth of CPU */
	double nogil_share = r->on_cpu_s > 0 ? r->without_gil_s / r->on_cpu_s : 0;
	double held_off_share = held_total > 0 ? r->held_offcpu_s / held_total : 0;
	double releases = (double)(r->forced + r->voluntary);
	double forced_share = r->forced_share;
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
	if (r->ngils > 1 && r->sub_held_s / win >= GS_SUBINTERP_CORES) {
		v->kind = "subinterpreters";
		snprintf(v->text, sizeof(v->text),
			 "%d sub-interpreter(s) with their own GIL ran Python for %.2f s of the %.2f s window beside the "
			 "main interpreter (its GIL held %.0f%%): threads used %.2f cores at once. Each GIL serializes "
			 "only its own interpreter; see GILS for each one's contention.",
			 r->ngils - 1, r->sub_held_s, r->window_s, r->held_pct, busy);
		return;
	}
	/* Nothing runs and nothing waits on I/O: no claim to test. */
	if (busy < GS_IDLE_CORES && r->held_pct < GS_IDLE_HELD_PCT && rel_rate < GS_IDLE_RELEASES_PER_S) {
		v->kind = "idle";
		snprintf(v->text, sizeof(v->text),
			 "the process is idle: its threads used %.1f%% of one CPU, held the GIL %.1f%% of the window and "
			 "released it %.0f times a second.",
			 100 * busy, r->held_pct, rel_rate);
		return;
	}
	/* The box it was put in: a CPU quota that throttles it, or fewer
	 * CPUs allowed than the machine has, all of them used. Either limits
	 * the process before the GIL does. */
	if (r->limits.throttle_known && r->limits.quota_cpus > 0 &&
	    r->limits.throttled_share >= GS_THROTTLED_SHARE) {
		v->kind = "cpu-quota";
		snprintf(v->text, sizeof(v->text),
			 "throttled by its cgroup's CPU quota (%.2f CPUs, %s) in %.0f%% of the window's quota periods "
			 "(%llu of %llu, %.2f s throttled): the quota limits it before the GIL does; its threads used "
			 "%.2f cores. Raise the quota (cpu.max, a container's --cpus) or reduce the work, then look at "
			 "the GIL again.",
			 r->limits.quota_cpus, r->limits.cgroup, 100 * r->limits.throttled_share,
			 (unsigned long long)r->limits.throttled_periods, (unsigned long long)r->limits.periods,
			 r->limits.throttled_s, busy);
		return;
	}
	if (r->limits.known && r->limits.cpus_pinned > 0 && r->limits.cpus_pinned < r->limits.cpus_online &&
	    busy + r->runq_s / win >= GS_PINNED_DEMAND * r->limits.cpus_pinned) {
		v->kind = "cpu-pinned";
		snprintf(v->text, sizeof(v->text),
			 "pinned to %d of %d CPUs (affinity %s, cpuset %s): its threads wanted %.2f CPUs (%.2f cores used, "
			 "%.2f runnable but waiting for a CPU). The CPUs it is allowed limit it before the GIL does: "
			 "allow more (taskset, the container's cpuset) to use the machine.",
			 r->limits.cpus_pinned, r->limits.cpus_online, r->limits.cpus_allowed_list,
			 r->limits.cpuset_cpus > 0 ? r->limits.cpuset_list : "unknown", busy + r->runq_s / win, busy,
			 r->runq_s / win);
		return;
	}
	/* A holder the scheduler took away stalls every waiter: more runnable
	 * threads than cores, or a holder blocking in native code without
	 * releasing the GIL. */
	if (held_total / win > GS_HELD_OFF_MIN_HELD && held_off_share >= GS_HELD_OFF_SHARE) {
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
	if (cv.nstarved && cv.nhogs && cv.starved_wait_s >= GS_CONVOY_MIN_WAIT_SHARE * win) {
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
	if ((r->held_pct >= GS_GIL_BOUND_HELD_PCT ||
	     (r->held_pct + r->handoff_pct >= GS_GIL_BOUND_HELD_PCT && r->handoff_pct >= GS_HANDOFF_PCT)) &&
	    r->contended_pct >= GS_GIL_BOUND_CONTENDED_PCT && busy <= GS_GIL_BOUND_MAX_CORES) {
		v->kind = "gil-bound";
		if (forced_share >= GS_FORCED_SHARE)
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
				     100 * forced_share, 100 * r->handoff_share, busy);
		if (r->handoff_pct >= GS_HANDOFF_PCT)
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
	if (busy >= GS_PARALLEL_CORES && nogil_share >= GS_NOGIL_SHARE) {
		v->kind = "native-parallel";
		n = snprintf(v->text, sizeof(v->text),
			 "threads run in parallel in native code that releases the GIL: %.0f%% of on-CPU time is without "
			 "the GIL and threads use %.2f cores at once. Threads are the right tool here; more threads help "
			 "up to the number of cores.",
			 100 * nogil_share, busy);
		if (runq_share >= GS_RUNQ_SHARE)
			append(v, n, " They also waited %.0f%% of their time for a CPU: more runnable threads than cores.",
			       100 * runq_share);
		return;
	}
	/* Runnable threads without a CPU: the machine (or this process) has
	 * more runnable threads than cores; whatever the GIL does, they
	 * cannot all run. */
	if (runq_share >= GS_RUNQ_SHARE && r->runq_s / win >= GS_RUNQ_CORES) {
		v->kind = "oversubscribed";
		snprintf(v->text, sizeof(v->text),
			 "threads were runnable but waiting for a CPU %.0f%% of their time (%.2f s), without the GIL: "
			 "more runnable threads than cores (this process's or others'). Threads used %.2f cores, %.0f%% "
			 "of their on-CPU time without the GIL. Fewer threads/processes than cores, or more cores.",
			 100 * runq_share, r->runq_s, busy, 100 * nogil_share);
		return;
	}
	/* One thread runs Python all the time, nobody else wants the GIL. */
	if (r->held_pct >= GS_SERIAL_HELD_PCT && r->contended_pct < GS_SERIAL_CONTENDED_PCT) {
		v->kind = "python-serial";
		snprintf(v->text, sizeof(v->text),
			 "one thread runs Python most of the time (GIL held %.0f%%, contended only %.0f%%): the GIL is not "
			 "the limit yet, a single core is. Adding threads will not speed this up; processes or native "
			 "code would.",
			 r->held_pct, r->contended_pct);
		return;
	}
	/* "I/O-bound threads are fine": mostly off-CPU without the GIL. */
	if (r->held_pct < GS_IO_HELD_PCT && blocked_share >= GS_IO_BLOCKED_SHARE) {
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

/* --children. Several processes each running Python on their own core is
 * "processes each have their own GIL" at work (docs/verdicts.md);
 * otherwise the tree is what its busiest process is. */
void family_verdict(const struct family_report *f, struct verdict *v)
{
	const struct gs_report *top = f->root;
	int n;

	for (size_t i = 0; i < f->nkids; i++)
		if (f->kids[i].on_cpu_s > top->on_cpu_s)
			top = &f->kids[i];
	if (f->busy_processes >= 2 && f->parallelism >= GS_PARALLEL_CORES) {
		int bound = 0;

		for (size_t i = 0; i <= f->nkids; i++) {
			const struct gs_report *r = family_report__proc(f, i);

			bound += r->parallelism >= GS_BUSY_CORES && r->held_pct >= GS_GIL_BOUND_HELD_PCT;
		}
		v->kind = "multi-process";
		n = snprintf(v->text, sizeof(v->text),
			     "%d processes ran at once, %.2f cores' worth of CPU together (%d of them busy, %d holding "
			     "their own GIL >= 70%% of the time): each process has its own GIL, so processes run Python in "
			     "parallel where threads of one process cannot.",
			     f->processes, f->parallelism, f->busy_processes, bound);
		if (f->ncpus > 0 && f->parallelism >= GS_ALL_CPUS_SHARE * f->ncpus)
			append(v, n, " All %d CPUs are busy: more processes would not go faster.", f->ncpus);
		return;
	}
	v->kind = top->verdict.kind;
	snprintf(v->text, sizeof(v->text), "the busiest process, PID %d (%.2f cores), is %s: %.600s", top->pt->pid,
		 top->parallelism, top->verdict.kind, top->verdict.text);
}
