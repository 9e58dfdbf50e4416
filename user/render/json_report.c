// SPDX-License-Identifier: MIT
/* The JSON report (schema version 1). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "model/family.h"
#include "model/stacks.h"
#include "render/json.h"
#include "render/json_report.h"

static void kv_d(struct json_writer *w, const char *k, double v)
{
	json_key(w, k);
	json_double(w, v);
}

static void kv_u(struct json_writer *w, const char *k, uint64_t v)
{
	json_key(w, k);
	json_uint(w, v);
}

/* A figure that may not be known: null then. */
static void kv_d_known(struct json_writer *w, const char *k, double v, bool known)
{
	json_key(w, k);
	if (known)
		json_double(w, v);
	else
		json_null(w);
}

static void dist(struct json_writer *w, const char *k, const struct dist_stats *d)
{
	json_key(w, k);
	json_obj_begin(w);
	kv_u(w, "count", d->count);
	kv_d(w, "total_s", d->total_s);
	kv_d(w, "mean_us", d->mean_us);
	kv_d(w, "p50_us", d->p50_us);
	kv_d(w, "p90_us", d->p90_us);
	kv_d(w, "p99_us", d->p99_us);
	kv_d(w, "max_us", d->max_us);
	json_obj_end(w);
}

static void releases(struct json_writer *w, uint64_t forced, uint64_t voluntary)
{
	json_key(w, "releases");
	json_obj_begin(w);
	kv_u(w, "forced", forced);
	kv_u(w, "voluntary", voluntary);
	json_obj_end(w);
}

static void gils(struct json_writer *w, const struct gs_report *r)
{
	char addr[24];

	json_key(w, "gils");
	json_arr_begin(w);
	for (int i = 0; i < r->ngils; i++) {
		const struct gil_stats *g = &r->gils[i];

		json_obj_begin(w);
		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)g->addr);
		json_key(w, "address"); json_str(w, addr);
		json_key(w, "main"); json_bool(w, g->main);
		kv_d(w, "held_pct", g->held_pct);
		dist(w, "hold", &g->hold);
		dist(w, "wait", &g->wait);
		releases(w, g->forced, g->voluntary);
		json_obj_end(w);
	}
	json_arr_end(w);
}

static void target(struct json_writer *w, const struct gs_report *r)
{
	const struct py_target *pt = r->pt;

	json_key(w, "target");
	json_obj_begin(w);
	json_key(w, "pid"); json_int(w, pt->pid);
	json_key(w, "ns_pid");        /* the pid inside its PID namespace (a container) */
	if (pt->ns_pid > 0)
		json_int(w, pt->ns_pid);
	else
		json_null(w);
	json_key(w, "comm"); json_str(w, pt->comm);
	json_key(w, "exe"); json_str(w, pt->exe);
	json_key(w, "runtime"); json_str(w, pt->runtime_obj);
	json_key(w, "python_version"); json_str(w, pt->version);
	json_key(w, "launched"); json_bool(w, r->launch.launched);
	json_key(w, "exit_code");
	if (r->exit_code >= 0)
		json_int(w, r->exit_code);
	else
		json_null(w);
	json_key(w, "exit_signal");
	if (r->exit_signal > 0)
		json_int(w, r->exit_signal);
	else
		json_null(w);
	json_key(w, "strategy"); json_str(w, pt->strategy);
	json_key(w, "free_threaded"); json_bool(w, pt->free_threaded);
	json_key(w, "gil_probes");
	json_arr_begin(w);
	for (int i = 0; i < pt->nprobes; i++) {
		json_obj_begin(w);
		json_key(w, "object"); json_str(w, pt->probes[i].object);
		json_key(w, "symbol"); json_str(w, pt->probes[i].symbol);
		kv_u(w, "offset", pt->probes[i].offset);
		json_key(w, "role");
		json_str(w, (const char *[]){ "take", "drop", "acquired", "contended", "cond_signal",
					      "cond_timedwait", "forced_call" }[pt->probes[i].role]);
		json_key(w, "attached");
		json_bool(w, py_target__probe_attached(pt, i));
		json_obj_end(w);
	}
	json_arr_end(w);
	json_obj_end(w);
}

static void threads(struct json_writer *w, const struct gs_report *r)
{
	json_key(w, "threads");
	json_arr_begin(w);
	for (size_t i = 0; i < r->nthreads; i++) {
		const struct thread_figs *t = &r->threads[i];

		json_obj_begin(w);
		kv_u(w, "tid", t->t->tid);
		json_key(w, "ns_tid");
		if (t->t->ns_tid > 0)
			json_int(w, t->t->ns_tid);
		else
			json_null(w);
		json_key(w, "name"); json_str(w, t->t->name);
		kv_d(w, "held_s", t->held_s);
		kv_d(w, "native_s", t->native_s);
		kv_d(w, "wait_s", t->wait_s);
		kv_d(w, "wait_oncpu_s", t->wait_oncpu_s);
		kv_d(w, "offcpu_s", t->offcpu_s);
		kv_d(w, "runq_s", t->runq_s);
		kv_d(w, "held_offcpu_s", t->held_offcpu_s);
		kv_u(w, "holds", t->t->st.holds);
		kv_u(w, "waits", t->t->st.waits);
		kv_d(w, "hold_mean_us", t->hold_mean_us);
		kv_d(w, "hold_max_us", t->hold_max_us);
		kv_d(w, "wait_p99_us", t->wait_p99_us);
		kv_d(w, "wait_max_us", t->wait_max_us);
		json_key(w, "exited"); json_bool(w, t->t->exited);
		if (t->t->merged)
			kv_u(w, "merged", t->t->merged);
		json_obj_end(w);
	}
	json_arr_end(w);
}

#define TOP_STACKS 10

static void stacks(struct json_writer *w, const struct stack_report *sr)
{
	json_key(w, "stacks");
	json_obj_begin(w);
	for (int v = 0; v < GS_NR_VIEWS; v++) {
		const struct view_stacks *vs = &sr->views[v];
		struct top_stack top[TOP_STACKS];
		size_t n = stack_report__top(sr, v, top, TOP_STACKS);

		json_key(w, vs->name);
		json_obj_begin(w);
		json_key(w, "title"); json_str(w, vs->title);
		json_key(w, "unit"); json_str(w, vs->unit);
		kv_u(w, "total", vs->total);
		kv_u(w, "stacks", vs->n);
		json_key(w, "top");
		json_arr_begin(w);
		for (size_t i = 0; i < n; i++) {
			const struct sym_stack *s = top[i].s;

			json_obj_begin(w);
			json_key(w, "thread"); json_str(w, s->frames[1]);
			kv_u(w, "weight", s->weight);
			kv_d(w, "share", top[i].share);
			json_key(w, "frames");   /* leaf first */
			json_arr_begin(w);
			for (size_t d = s->depth; d > 2; d--)
				json_str(w, s->frames[d - 1]);
			json_arr_end(w);
			json_obj_end(w);
		}
		json_arr_end(w);
		json_obj_end(w);
	}
	json_obj_end(w);
}

static void cpus(struct json_writer *w, const struct cpu_stats *cpu, int ncpus)
{
	json_key(w, "per_cpu");
	json_arr_begin(w);
	for (int c = 0; c < ncpus; c++) {
		json_obj_begin(w);
		kv_u(w, "cpu", (uint64_t)c);
		kv_d(w, "busy_pct", cpu[c].busy_pct);
		kv_d(w, "with_gil_pct", cpu[c].with_gil_pct);
		kv_d(w, "without_gil_pct", cpu[c].without_gil_pct);
		json_key(w, "allowed");     /* may run there: affinity and cpuset */
		if (cpu[c].allowed == CPU_ALLOWED_UNKNOWN)
			json_null(w);
		else
			json_bool(w, cpu[c].allowed == CPU_ALLOWED);
		json_obj_end(w);
	}
	json_arr_end(w);
}

static void int_known(struct json_writer *w, const char *k, long long v, bool known)
{
	json_key(w, k);
	if (known)
		json_int(w, v);
	else
		json_null(w);
}

static void str_known(struct json_writer *w, const char *k, const char *v)
{
	json_key(w, k);
	if (v && *v)
		json_str(w, v);
	else
		json_null(w);
}

/* The CPU limits: null where not known or not set. */
static void limits(struct json_writer *w, const struct limits_figs *l)
{
	json_key(w, "limits");
	json_obj_begin(w);
	int_known(w, "cpus_online", l->cpus_online, l->known && l->cpus_online > 0);
	int_known(w, "cpus_allowed", l->cpus_allowed, l->known && l->cpus_allowed > 0);
	str_known(w, "cpus_allowed_list", l->known ? l->cpus_allowed_list : NULL);
	int_known(w, "thread_cpus_min", l->thread_cpus_min, l->known && l->thread_cpus_min > 0);
	int_known(w, "thread_cpus_max", l->thread_cpus_max, l->known && l->thread_cpus_max > 0);
	int_known(w, "cpuset_cpus", l->cpuset_cpus, l->known && l->cpuset_cpus > 0);
	str_known(w, "cpuset_list", l->known && l->cpuset_cpus > 0 ? l->cpuset_list : NULL);
	int_known(w, "cpus_usable", l->cpus_usable, l->known && l->cpus_usable > 0);
	kv_d_known(w, "quota_cpus", l->quota_cpus, l->known && l->quota_cpus > 0);
	str_known(w, "quota_cgroup", l->known && l->quota_cpus > 0 ? l->cgroup : NULL);
	kv_d_known(w, "throttled_s", l->throttled_s, l->throttle_known);
	int_known(w, "throttled_periods", (long long)l->throttled_periods, l->throttle_known);
	int_known(w, "periods", (long long)l->periods, l->throttle_known);
	kv_d_known(w, "throttled_share", l->throttled_share, l->throttle_known);
	json_obj_end(w);
}

/* One shape for every advice: what does not apply to it is null. */
/* exact (uprobes) or --light, and how --light's figures were made */
static void mode(struct json_writer *w, const struct gs_report *r)
{
	const struct light_figs *l = &r->light;

	json_key(w, "mode");
	json_obj_begin(w);
	json_key(w, "name"); json_str(w, l->on ? "light" : "exact");
	json_key(w, "light_refused");
	if (r->light_refused)
		json_str(w, r->light_refused);
	else
		json_null(w);
	json_key(w, "light");
	if (l->on) {
		json_obj_begin(w);
		kv_u(w, "sample_hz", (uint64_t)l->hz);
		kv_u(w, "futex_calls", l->futex_calls);
		kv_u(w, "contended_releases", l->contended_releases);
		kv_u(w, "ticks", l->ticks);
		kv_u(w, "ticks_held", l->ticks_held);
		kv_u(w, "reads", l->reads);
		kv_u(w, "reads_locked", l->reads_locked);
		kv_u(w, "reads_bad", l->reads_bad);
		kv_u(w, "unseen_holds", l->unseen_holds);
		json_key(w, "unseen_hold_s"); json_double(w, l->unseen_hold_s);
		kv_u(w, "stolen_wakeups", l->stolen);
		kv_u(w, "rewaits", l->rewaits);
		kv_u(w, "early_takes", l->early_takes);
		kv_u(w, "quick_waits", l->quick_waits);
		json_obj_end(w);
	} else {
		json_null(w);
	}
	json_obj_end(w);
}

static void prediction(struct json_writer *w, const struct prediction *p)
{
	bool procs = !strcmp(p->advice, "processes"), conv = !strcmp(p->advice, "switch interval");

	json_obj_begin(w);
	json_key(w, "advice"); json_str(w, p->advice);
	json_key(w, "workers");
	if (procs)
		json_int(w, p->workers);
	else
		json_null(w);
	json_key(w, "threads");
	if (p->threads > 0) {
		json_obj_begin(w);
		json_key(w, "now"); json_int(w, p->threads_now);
		json_key(w, "advised"); json_int(w, p->threads);
		json_obj_end(w);
	} else
		json_null(w);
	json_key(w, "switch_interval_us");
	if (conv) {
		json_obj_begin(w);
		json_key(w, "now"); json_int(w, p->interval_now_us);
		json_key(w, "advised"); json_int(w, p->interval_us);
		json_obj_end(w);
	} else
		json_null(w);
	json_key(w, "speedup");
	if (!conv) {
		json_obj_begin(w);
		kv_d(w, "low", p->low);
		kv_d(w, "high", p->high);
		json_obj_end(w);
	} else
		json_null(w);
	json_key(w, "wait_us");
	if (conv) {
		json_obj_begin(w);
		kv_d(w, "now", p->wait_now_us);
		kv_d(w, "low", p->wait_low_us);
		kv_d(w, "high", p->wait_high_us);
		json_obj_end(w);
	} else
		json_null(w);
	kv_d(w, "span_s", p->span_s);
	kv_d(w, "serial_s", p->serial_s);
	kv_d(w, "parallel_s", p->parallel_s);
	kv_d(w, "blocked_s", p->blocked_s);
	json_key(w, "assumptions"); json_str(w, p->assumptions);
	json_obj_end(w);
}

/* The keys of one process's report (the top level, and each child). */
static void body(struct json_writer *w, const struct gs_report *r)
{
	target(w, r);
	kv_d(w, "window_s", r->window_s);
	/* CLOCK_MONOTONIC, to line the window up with other records */
	kv_d(w, "window_start_mono_s", r->window_start_s);
	kv_d(w, "window_end_mono_s", r->window_end_s);

	json_key(w, "gil");
	json_obj_begin(w);
	kv_d(w, "held_pct", r->held_pct);
	kv_d(w, "contended_pct", r->contended_pct);
	kv_d(w, "avg_waiters", r->avg_waiters);
	json_key(w, "switch_interval_us");
	if (r->switch_interval_us >= 0)
		json_int(w, r->switch_interval_us);
	else
		json_null(w);
	dist(w, "hold", &r->hold);
	dist(w, "wait", &r->wait);
	dist(w, "handoff", &r->handoff);
	kv_d(w, "handoff_pct", r->handoff_pct);
	json_key(w, "partial_holds");
	json_obj_begin(w);
	kv_u(w, "count", r->partial_holds);
	kv_d(w, "total_s", r->partial_hold_s);
	json_obj_end(w);
	kv_u(w, "acquisitions", r->acquisitions);
	releases(w, r->forced, r->voluntary);
	kv_u(w, "voluntary_handoffs", r->voluntary_handoffs);
	json_obj_end(w);

	json_key(w, "cpu");
	json_obj_begin(w);
	kv_d(w, "on_cpu_s", r->on_cpu_s);
	kv_d(w, "with_gil_s", r->with_gil_s);
	kv_d(w, "without_gil_s", r->without_gil_s);
	kv_d(w, "parallelism", r->parallelism);
	kv_d(w, "runq_s", r->runq_s);
	kv_d(w, "early_s", r->early_s);
	cpus(w, r->cpu, r->ncpus);
	json_obj_end(w);

	limits(w, &r->limits);
	gils(w, r);
	threads(w, r);

	if (r->stacks)
		stacks(w, r->stacks);

	json_key(w, "verdict");
	json_obj_begin(w);
	json_key(w, "kind"); json_str(w, r->verdict.kind);
	json_key(w, "text"); json_str(w, r->verdict.text);
	json_obj_end(w);

	json_key(w, "prediction");
	if (r->prediction.have)
		prediction(w, &r->prediction);
	else
		json_null(w);

	json_key(w, "cost");
	json_obj_begin(w);
	kv_u(w, "probe_hits", r->probe_hits);
	json_key(w, "probe_hits_per_s"); json_double(w, r->probe_hits_per_s);
	json_key(w, "hits_per_acquire"); json_double(w, r->hits_per_acquire);
	kv_d_known(w, "trap_ns", r->trap_ns, r->trap_ns > 0);
	kv_d_known(w, "min_cpu_pct", r->cost_cpu_pct, r->cost_cpu_pct >= 0);
	json_obj_end(w);

	mode(w, r);

	json_key(w, "bpf");
	json_obj_begin(w);
	json_key(w, "stats_enabled"); json_bool(w, r->prog_stats);
	json_key(w, "programs");
	json_arr_begin(w);
	for (int i = 0; i < GS_NR_PROGS; i++) {
		const struct prog_stat *p = &r->progs[i];

		if (!p->name)
			continue;
		json_obj_begin(w);
		json_key(w, "name"); json_str(w, p->name);
		kv_u(w, "insns", p->insns);
		kv_u(w, "runs", p->runs);
		kv_u(w, "run_ns", p->run_ns);
		kv_u(w, "misses", p->misses);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_obj_end(w);

	json_key(w, "check");
	json_obj_begin(w);
	json_key(w, "applies"); json_bool(w, r->check.applies);
	json_key(w, "switches");
	json_obj_begin(w);
	json_key(w, "interpreter");
	if (r->check.have_interp)
		json_int(w, (long long)r->check.interp);
	else
		json_null(w);
	kv_u(w, "gilscope", r->check.gilscope);
	kv_u(w, "tolerance", r->check.tolerance);
	json_key(w, "interpreter_at");
	if (r->check.interp_at)
		json_str(w, r->check.interp_at);
	else
		json_null(w);
	json_obj_end(w);
	json_key(w, "ok"); json_bool(w, r->check.ok);
	json_key(w, "problems");
	json_arr_begin(w);
	for (int i = 0; i < r->check.nproblems; i++)
		json_str(w, r->check.problems[i]);
	json_arr_end(w);
	json_obj_end(w);

	json_key(w, "lost");
	json_obj_begin(w);
	kv_u(w, "events", r->lost_events);
	for (int i = 0; i < r->nlost; i++)
		kv_u(w, r->lost[i].key, r->lost[i].n);
	json_obj_end(w);
}

/* --children: each child's report, the sum, and who was left out. */
static void family(struct json_writer *w, const struct family_report *f)
{
	json_key(w, "children");
	json_arr_begin(w);
	for (size_t i = 0; i < f->nkids; i++) {
		json_obj_begin(w);
		json_key(w, "parent"); json_int(w, f->kids[i].parent);
		body(w, &f->kids[i]);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_key(w, "total");
	json_obj_begin(w);
	kv_u(w, "processes", (uint64_t)f->processes);
	json_key(w, "host_wide"); json_bool(w, f->host_wide);
	kv_u(w, "busy_processes", (uint64_t)f->busy_processes);
	kv_d(w, "window_s", f->window_s);
	kv_d(w, "on_cpu_s", f->on_cpu_s);
	kv_d(w, "with_gil_s", f->with_gil_s);
	kv_d(w, "without_gil_s", f->without_gil_s);
	kv_d(w, "parallelism", f->parallelism);
	kv_u(w, "probe_hits", f->probe_hits);
	kv_d_known(w, "min_cpu_pct", f->cost_cpu_pct, f->cost_cpu_pct >= 0);
	cpus(w, f->cpu, f->ncpus);
	/* how the processes spread over the CPUs */
	json_key(w, "per_cpu_processes");
	json_arr_begin(w);
	for (int c = 0; c < f->ncpus; c++) {
		json_obj_begin(w);
		kv_u(w, "cpu", (uint64_t)c);
		json_key(w, "processes");
		json_arr_begin(w);
		for (size_t i = 0; i <= f->nkids; i++) {
			double share = f->proc_cpu_pct[i * f->ncpus + c];

			if (share <= 0)
				continue;
			json_obj_begin(w);
			json_key(w, "pid"); json_int(w, family_report__proc(f, i)->pt->pid);
			kv_d(w, "busy_pct", share);
			json_obj_end(w);
		}
		json_arr_end(w);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_key(w, "verdict");
	json_obj_begin(w);
	json_key(w, "kind"); json_str(w, f->verdict.kind);
	json_key(w, "text"); json_str(w, f->verdict.text);
	json_obj_end(w);
	kv_u(w, "processes_lost", f->lost);
	kv_u(w, "preexec_images_dropped", f->preexec_dropped);
	json_obj_end(w);
	json_key(w, "children_skipped");
	json_arr_begin(w);
	for (size_t i = 0; i < f->nskip; i++) {
		json_obj_begin(w);
		json_key(w, "pid"); json_int(w, f->skip[i].pid);
		json_key(w, "parent"); json_int(w, f->skip[i].parent);
		json_key(w, "comm"); json_str(w, f->skip[i].comm);
		json_key(w, "reason"); json_str(w, f->skip[i].reason);
		json_obj_end(w);
	}
	json_arr_end(w);
}

int gs_report__print_json(const struct gs_report *r, FILE *f)
{
	struct json_writer *w = json_writer__new(f);

	if (!w)
		return -ENOMEM;
	json_obj_begin(w);
	kv_u(w, "version", 1);
	json_key(w, "tool");
	json_obj_begin(w);
	json_key(w, "name"); json_str(w, "gilscope");
	json_key(w, "version"); json_str(w, GS_VERSION);
	json_obj_end(w);
	body(w, r);
	if (r->family)
		family(w, r->family);
	json_obj_end(w);
	json_writer__free(w);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}
