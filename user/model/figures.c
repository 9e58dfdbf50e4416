// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model/hist_stats.h"
#include "model/figures.h"
#include "model/light.h"

#define NS 1e9

static void dist(struct dist_stats *d, const uint64_t *slots, uint64_t total_ns,
		 uint64_t max_ns)
{
	struct hist_summary h;

	hist_summarize(slots, &h);
	d->count = h.count;
	d->total_s = total_ns / NS;
	d->mean_us = d->count ? total_ns / 1e3 / d->count : 0;
	d->max_us = max_ns / 1e3;
	/* a slot midpoint may overshoot the exact maximum */
	d->p50_us = h.p50 / 1e3 < d->max_us ? h.p50 / 1e3 : d->max_us;
	d->p90_us = h.p90 / 1e3 < d->max_us ? h.p90 / 1e3 : d->max_us;
	d->p99_us = h.p99 / 1e3 < d->max_us ? h.p99 / 1e3 : d->max_us;
}

static void lost(struct gs_report *r, const char *key, const char *what, uint64_t n, bool is_loss)
{
	if (r->nlost >= GS_MAX_LOST)
		return;
	r->lost[r->nlost++] = (struct lost_item){ key, what, n, is_loss };
	if (is_loss)
		r->lost_events += n;
}

/* The main GIL (figures as above), then each sub-interpreter's own. */
static int gils(struct gs_report *r, const struct gs_result *res, double win)
{
	r->gils = calloc(1 + res->nsubgils, sizeof(*r->gils));
	if (!r->gils)
		return -ENOMEM;
	r->gils[0] = (struct gil_stats){ .addr = res->gil_addr, .main = true, .held_pct = r->held_pct,
					 .hold = r->hold, .wait = r->wait, .forced = r->forced,
					 .voluntary = r->voluntary };
	r->ngils = 1;
	for (size_t i = 0; i < res->nsubgils; i++) {
		const struct subgil_rec *s = &res->subgils[i];
		struct gil_stats *g = &r->gils[r->ngils++];

		g->addr = s->addr;
		g->held_pct = win > 0 ? 100.0 * ((s->g.hold_ns + s->inflight_hold_ns) / NS) / win : 0;
		if (g->held_pct > 100)
			g->held_pct = 100;
		dist(&g->hold, (const uint64_t *)s->g.hist[GS_HIST_HOLD], s->g.hold_ns, s->g.hold_max_ns);
		dist(&g->wait, (const uint64_t *)s->g.hist[GS_HIST_WAIT], s->g.wait_ns, s->g.wait_max_ns);
		g->forced = s->g.forced;
		g->voluntary = s->g.voluntary;
	}
	return 0;
}

void thread_figs__build(struct thread_figs *f, const struct thread_rec *t, bool light)
{
	const struct gs_thread *st = &t->st;
	const __u64 *ns = st->ns;
	uint64_t held_on, nogil_on;

	light__split(st, light, &held_on, &nogil_on);
	f->t = t;
	f->held_s = held_on / NS;
	f->held_offcpu_s = ns[GS_HELD_OFF] / NS;
	f->native_s = nogil_on / NS;
	f->wait_s = (ns[GS_WAIT_ON] + ns[GS_WAIT_OFF]) / NS;
	f->wait_oncpu_s = ns[GS_WAIT_ON] / NS;
	f->offcpu_s = ns[GS_NOGIL_OFF] / NS;
	f->runq_s = st->runq_ns / NS;
	f->gil_s = (held_on + ns[GS_HELD_OFF]) / NS;
	f->outside_s = (nogil_on + ns[GS_NOGIL_OFF]) / NS;
	f->hold_mean_us = st->holds ? st->hold_ns / 1e3 / st->holds : 0;
	f->hold_max_us = st->hold_max_ns / 1e3;
	f->wait_p99_us = t->wait_p99_ns / 1e3;
	f->wait_max_us = st->wait_max_ns / 1e3;
}

static void limits(struct limits_figs *l, const struct gs_result *res)
{
	const struct cpu_limits *a = &res->lim_start, *b = &res->lim_end;

	if (!a->valid)
		return;
	l->known = true;
	l->cpus_online = a->cpus_online;
	l->cpus_allowed = a->cpus_allowed;
	l->thread_cpus_min = a->thread_cpus_min;
	l->thread_cpus_max = a->thread_cpus_max;
	l->cpus_allowed_list = a->cpus_allowed_list;
	l->cpuset_cpus = a->cpuset_cpus;
	l->cpuset_list = a->cpuset_list;
	l->quota_cpus = a->quota_cpus;
	l->cgroup = a->cgroup;
	l->cpus_pinned = a->cpus_allowed;
	if (a->cpuset_cpus > 0 && a->cpuset_cpus < l->cpus_pinned)
		l->cpus_pinned = a->cpuset_cpus;
	l->cpus_usable = l->cpus_pinned;
	if (a->quota_cpus > 0 && (int)(a->quota_cpus + 0.999) < l->cpus_usable)
		l->cpus_usable = (int)(a->quota_cpus + 0.999);
	/* throttling over the window: the same cgroup at both edges */
	if (b->valid && a->quota_cpus > 0 && !strcmp(a->cgroup, b->cgroup) && b->nr_periods >= a->nr_periods &&
	    b->nr_throttled >= a->nr_throttled && b->throttled_us >= a->throttled_us) {
		l->throttle_known = true;
		l->periods = b->nr_periods - a->nr_periods;
		l->throttled_periods = b->nr_throttled - a->nr_throttled;
		l->throttled_s = (b->throttled_us - a->throttled_us) / 1e6;
		l->throttled_share = l->periods ? (double)l->throttled_periods / l->periods : 0;
	}
}

int gs_report__build(struct gs_report *r, const struct py_target *pt,
		     const struct gs_result *res, const struct launch_status *ls)
{
	const uint64_t *c = res->counters;
	uint64_t hold_max = 0, wait_max = 0;
	double win;

	const struct stack_report *sr = r->stacks;

	memset(r, 0, sizeof(*r));
	r->stacks = sr;
	r->pt = pt;
	r->res = res;
	if (ls)
		r->launch = *ls;
	win = res->t1 > res->t0 ? (res->t1 - res->t0) / NS : 0;
	r->window_s = win;
	r->window_start_s = res->t0 / NS;
	r->window_end_s = res->t1 / NS;
	r->switch_interval_us = res->interval_us;
	r->exit_code = r->exit_signal = -1;
	if (r->launch.launched && r->launch.exited) {
		if (r->launch.exit_signal)
			r->exit_signal = r->launch.exit_signal;
		else
			r->exit_code = r->launch.exit_code;
	}
	r->nthreads = res->nthreads;
	r->threads = calloc(res->nthreads ? res->nthreads : 1, sizeof(*r->threads));
	if (!r->threads)
		return -ENOMEM;

	for (size_t i = 0; i < res->nthreads; i++) {
		const struct gs_thread *t = &res->threads[i].st;
		double on = (t->ns[GS_HELD_ON] + t->ns[GS_WAIT_ON] + t->ns[GS_NOGIL_ON]) / NS;
		uint64_t held_on, nogil_on;

		light__split(t, res->light && !res->light_split, &held_on, &nogil_on);
		r->held_s += held_on / NS;
		r->held_offcpu_s += t->ns[GS_HELD_OFF] / NS;
		r->sub_held_s += t->sub_held_ns / NS;
		r->wait_s += (t->ns[GS_WAIT_ON] + t->ns[GS_WAIT_OFF]) / NS;
		r->native_s += nogil_on / NS;
		r->offcpu_s += t->ns[GS_NOGIL_OFF] / NS;
		r->runq_s += t->runq_ns / NS;
		r->on_cpu_s += on;
		r->with_gil_s += held_on / NS;
		if (t->hold_max_ns > hold_max)
			hold_max = t->hold_max_ns;
		if (t->wait_max_ns > wait_max)
			wait_max = t->wait_max_ns;
		if (!res->threads[i].exited)
			r->live_threads++;
		if (win > 0 && on / win >= GS_BUSY_CORES)
			r->busy_threads++;
		thread_figs__build(&r->threads[i], &res->threads[i], res->light && !res->light_split);
	}
	r->without_gil_s = r->on_cpu_s - r->with_gil_s;
	if (win > 0) {
		r->held_pct = 100.0 * (r->held_s + r->held_offcpu_s - r->sub_held_s) / win;
		r->contended_pct = 100.0 * (c[GS_C_CONTENDED_NS] / NS) / win;
		r->avg_waiters = ((c[GS_C_WAIT_NS] + res->inflight_cwait_ns) / NS) / win;
		r->parallelism = r->on_cpu_s / win;
	}
	if (r->held_pct > 100) r->held_pct = 100;
	if (r->held_pct < 0) r->held_pct = 0;
	if (r->contended_pct > 100) r->contended_pct = 100;
	dist(&r->hold, res->hist[GS_HIST_HOLD], c[GS_C_HOLD_NS], hold_max);
	dist(&r->wait, res->hist[GS_HIST_WAIT], c[GS_C_WAIT_NS], wait_max);
	dist(&r->handoff, res->hist[GS_HIST_HANDOFF], c[GS_C_HANDOFF_NS], res->handoff_max_ns);
	if (win > 0)
		r->handoff_pct = 100.0 * (c[GS_C_HANDOFF_NS] / NS) / win;
	if (r->handoff_pct > 100)
		r->handoff_pct = 100;
	r->early_s = c[GS_C_RUN_EARLY_NS] / NS;
	r->partial_holds = c[GS_C_PARTIAL_HOLDS] + (res->inflight_hold_ns ? 1 : 0);
	r->partial_hold_s = (c[GS_C_PARTIAL_HOLD_NS] + res->inflight_hold_ns) / NS;
	r->acquisitions = c[GS_C_ACQUIRES];
	r->forced = c[GS_C_FORCED];
	r->voluntary = c[GS_C_VOLUNTARY];
	r->voluntary_handoffs = c[GS_C_VOLUNTARY_HANDOFF];
	if (r->forced + r->voluntary) {
		double rel = (double)(r->forced + r->voluntary);

		r->forced_share = r->forced / rel;
		r->handoff_share = r->handoff.count / rel;
	}
	r->probe_hits = c[GS_C_PROBE_HITS];
	r->trap_ns = res->trap_ns;
	r->cost_cpu_pct = gs_trap_cpu_pct(r->probe_hits, res->trap_ns, win);
	r->progs = res->progs;
	r->prog_stats = res->prog_stats;
	r->light_refused = res->light_refused[0] ? res->light_refused : NULL;
	if (res->light) {
		struct light_figs *l = &r->light;

		l->on = true;
		l->hz = res->light_hz;
		l->futex_calls = c[GS_C_LIGHT_FUTEX];
		l->reads = c[GS_C_LIGHT_OBS];
		l->reads_locked = c[GS_C_LIGHT_OBS_LOCKED];
		l->reads_bad = c[GS_C_LIGHT_OBS_BAD];
		l->unseen_holds = c[GS_C_LIGHT_UNSEEN];
		l->unseen_hold_s = c[GS_C_LIGHT_UNSEEN_NS] / NS;
		l->stolen = c[GS_C_LIGHT_STOLEN];
		l->rewaits = c[GS_C_LIGHT_REWAIT];
		l->early_takes = c[GS_C_LIGHT_EARLY_TAKE];
		l->quick_waits = c[GS_C_LIGHT_QUICK_WAIT];
		l->contended_releases = c[GS_C_FORCED] + c[GS_C_VOLUNTARY_HANDOFF];
		for (size_t i = 0; i < res->nthreads; i++) {
			l->ticks += res->threads[i].st.light_ticks;
			l->ticks_held += res->threads[i].st.light_ticks_held;
		}
	}
	if (win > 0)
		r->probe_hits_per_s = r->probe_hits / win;
	if (c[GS_C_ACQUIRES])
		r->hits_per_acquire = (double)r->probe_hits / c[GS_C_ACQUIRES];

	if (gils(r, res, win))
		return -ENOMEM;
	r->ncpus = res->ncpus;
	r->cpu = calloc(res->ncpus > 0 ? res->ncpus : 1, sizeof(*r->cpu));
	if (!r->cpu)
		return -ENOMEM;
	for (int i = 0; i < res->ncpus && win > 0; i++) {
		r->cpu[i].with_gil_pct = 100.0 * (res->cpu[i].with_gil_ns / NS) / win;
		r->cpu[i].without_gil_pct = 100.0 * (res->cpu[i].without_gil_ns / NS) / win;
		r->cpu[i].busy_pct = r->cpu[i].with_gil_pct + r->cpu[i].without_gil_pct;
		if (r->cpu[i].busy_pct > 100) {
			/* A run repaired from the task's own CPU time (a
			 * scheduler event not seen, NOTES switch_out_off) goes
			 * to the CPU of its switch-out, though part of it ran on
			 * another: no CPU is busy longer than the window. */
			double k = 100 / r->cpu[i].busy_pct;

			r->cpu[i].with_gil_pct *= k;
			r->cpu[i].without_gil_pct *= k;
			r->cpu[i].busy_pct = 100;
		}
		if (res->light && r->on_cpu_s > 0) {
			/* --light: each CPU's time split as the threads' ticks
			 * split theirs (model/light.h) */
			r->cpu[i].with_gil_pct = r->cpu[i].busy_pct * (r->with_gil_s / r->on_cpu_s);
			r->cpu[i].without_gil_pct = r->cpu[i].busy_pct - r->cpu[i].with_gil_pct;
		}
	}

	lost(r, "threads_untracked", "threads not tracked (no memory for their state, or thread map full)", c[GS_C_LOST_THREADS_FULL], true);
	lost(r, "bpf_prog_misses", "probe runs skipped by the kernel", res->prog_misses, true);
	lost(r, "stacks_table_full", "stack weights dropped (stack table full)", c[GS_C_STACKS_FULL], true);
	lost(r, "codes_table_full", "code objects not captured (table full)", c[GS_C_CODES_FULL], true);
	lost(r, "stack_counts_full", "stack weights dropped (weight table full)", c[GS_C_COUNTS_FULL], true);
	lost(r, "trace_records", "trace records dropped (ring buffer full)", c[GS_C_TRACE_LOST], true);
	lost(r, "samples_without_tstate", "CPU samples of threads with no known thread state", c[GS_C_NO_TSTATE], true);
	lost(r, "samples_without_stack", "CPU samples with no readable Python frame", c[GS_C_STACK_ERR], false);
	lost(r, "stack_walks_raced", "stack walks preempted by another walk on their CPU (dropped: weight goes unattributed)",
	     c[GS_C_WALK_RACED], true);
	lost(r, "code_addresses_reused", "code objects replaced at a reused address (older stacks may show the newer name)",
	     c[GS_C_CODE_REUSED], false);
	lost(r, "other_gil_acquisitions", "acquisitions of a sub-interpreter's own GIL (3.12+; under GILS, not in the main GIL's figures)",
	     c[GS_C_OTHER_GIL], false);
	lost(r, "subgils_full", "events of sub-interpreter GILs beyond the first 64", c[GS_C_SUBGILS_FULL], true);
	lost(r, "switch_out_off", "runs of a thread believed off-CPU, found at its next event (the kernel "
	     "switched it in with no sched_switch event: its run repaired from the task's CPU time)",
	     c[GS_C_SWITCH_OUT_OFF], false);
	lost(r, "switch_in_on", "switch-ins of a thread already on-CPU", c[GS_C_SWITCH_IN_ON], false);
	lost(r, "stacks_truncated", "stacks cut at the depth limit (marked [truncated])", c[GS_C_TRUNCATED], false);
	lost(r, "take_return_unmatched", "acquisitions whose start predates the window", c[GS_C_TAKE_RET_UNMATCHED], false);
	lost(r, "drop_unmatched", "releases by a thread not known to hold the GIL", c[GS_C_DROP_UNMATCHED], false);
	lost(r, "drop_while_waiting", "releases inside take_gil (finalization)", c[GS_C_DROP_WHILE_WAIT], false);
	lost(r, "exited_waiting", "threads that exited inside take_gil", c[GS_C_EXITED_WAITING], false);
	lost(r, "exited_holding", "threads that exited holding the GIL", c[GS_C_EXITED_HOLDING], false);
	limits(&r->limits, res);
	for (int i = 0; i < res->ncpus && r->limits.known; i++) {
		int a = cpu_list__has(r->limits.cpus_allowed_list, i);
		int b = r->limits.cpuset_cpus > 0 ? cpu_list__has(r->limits.cpuset_list, i) : 1;

		if (a >= 0 && b >= 0)
			r->cpu[i].allowed = a && b ? CPU_ALLOWED : CPU_NOT_ALLOWED;
	}
	gs_verdict(r, &r->verdict);
	if (!res->live)
		predict(r, &r->prediction);
	if (res->light)
		selfcheck__eval_light(&res->sc, pt->switchnum_addr && !pt->free_threaded, r->wait.count,
				      r->light.reads, r->light.reads_locked, r->light.reads_bad, &r->check);
	else
		selfcheck__eval(&res->sc, pt->switchnum_addr && !pt->free_threaded, c[GS_C_ACQUIRES],
				r->forced + r->voluntary, r->probe_hits, &r->check);
	return 0;
}

void gs_report__free(struct gs_report *r)
{
	free(r->cpu);
	free(r->gils);
	free(r->threads);
	r->cpu = NULL;
	r->gils = NULL;
	r->threads = NULL;
}
