// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/top_rows.h"

static const struct {
	const char *name;
	bool descending;
} sorts[TOP_NR_SORTS] = {
	[TOP_SORT_HELD] = { "held", true },
	[TOP_SORT_CONTENDED] = { "contended", true },
	[TOP_SORT_WAITS] = { "waits/s", true },
	[TOP_SORT_P99] = { "wait p99", true },
	[TOP_SORT_CORES] = { "cores", true },
	[TOP_SORT_PID] = { "pid", false },
};

const char *top_sort__name(enum top_sort k)
{
	return k < TOP_NR_SORTS ? sorts[k].name : "?";
}

bool top_sort__descending(enum top_sort k)
{
	return k < TOP_NR_SORTS && sorts[k].descending;
}

/* s as a share of the window, in %; never negative */
static double share(double s, double window_s)
{
	return window_s > 0 && s > 0 ? 100.0 * s / window_s : 0;
}

void top_thread_row__build(struct top_thread_row *row, const struct thread_figs *t, double window_s)
{
	memset(row, 0, sizeof(*row));
	row->tid = t->t->tid;
	row->merged = t->t->merged;
	row->exited = t->t->exited;
	snprintf(row->name, sizeof(row->name), "%s", t->t->name);
	row->held_pct = share(t->held_s + t->held_offcpu_s, window_s);
	row->native_pct = share(t->native_s, window_s);
	row->wait_pct = share(t->wait_s, window_s);
	/* runq_s is part of offcpu_s: each in one column only */
	row->offcpu_pct = share(t->offcpu_s - t->runq_s, window_s);
	row->runq_pct = share(t->runq_s, window_s);
}

static double busy_pct(const struct top_thread_row *t)
{
	return t->held_pct + t->native_pct + t->wait_pct;
}

static int cmp_thread(const void *a, const void *b)
{
	const struct top_thread_row *x = a, *y = b;
	double bx = busy_pct(x), by = busy_pct(y);

	if (bx != by)
		return bx > by ? -1 : 1;
	/* merged rows last, then by TID */
	if (!x->merged != !y->merged)
		return x->merged ? 1 : -1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int proc_row(struct top_proc_row *row, const struct live_proc *p, bool threads)
{
	const struct gs_report *r = &p->iv;

	memset(row, 0, sizeof(*row));
	row->pid = p->pid;
	snprintf(row->comm, sizeof(row->comm), "%s", p->comm);
	snprintf(row->container, sizeof(row->container), "%s", p->container);
	snprintf(row->python, sizeof(row->python), "%s", p->python);
	snprintf(row->verdict, sizeof(row->verdict), "%s", r->verdict.kind ? r->verdict.kind : "-");
	row->partial = p->partial;
	row->window_s = r->window_s;
	row->held_pct = r->held_pct;
	row->contended_pct = r->contended_pct;
	row->avg_waiters = r->avg_waiters;
	row->handoffs = r->handoff.count;
	row->waits = r->wait.count;
	row->waits_per_s = r->window_s > 0 ? r->wait.count / r->window_s : 0;
	row->wait_p99_us = r->wait.count ? r->wait.p99_us : 0;
	row->cores = r->parallelism;
	if (!r->nthreads || !threads)
		return 0;
	row->threads = calloc(r->nthreads, sizeof(*row->threads));
	if (!row->threads)
		return -ENOMEM;
	for (size_t i = 0; i < r->nthreads; i++)
		top_thread_row__build(&row->threads[i], &r->threads[i], r->window_s);
	row->nthreads = r->nthreads;
	qsort(row->threads, row->nthreads, sizeof(*row->threads), cmp_thread);
	return 0;
}

int top_proc_row__build(struct top_proc_row *row, const struct live_proc *p)
{
	return proc_row(row, p, true);
}

void top_proc_row__free(struct top_proc_row *row)
{
	free(row->threads);
	row->threads = NULL;
	row->nthreads = 0;
}

int top_view__build(struct top_view *v, const struct live_frame *f)
{
	return top_view__build_some(v, f, true);
}

int top_view__build_some(struct top_view *v, const struct live_frame *f, bool threads)
{
	memset(v, 0, sizeof(*v));
	v->seq = f->seq;
	v->interval_s = f->end_s > f->start_s ? f->end_s - f->start_s : 0;
	v->end_real_s = f->end_real_s;
	v->host_wide = f->host_wide;
	v->light = f->light;
	v->self_cpu_pct = f->self_cpu_pct;
	v->max_procs = f->max_procs;
	v->attached_total = f->attached_total;
	v->exited_total = f->exited_total;
	if (f->nprocs) {
		v->procs = calloc(f->nprocs, sizeof(*v->procs));
		if (!v->procs)
			goto nomem;
	}
	for (size_t i = 0; i < f->nprocs; i++) {
		if (proc_row(&v->procs[i], f->procs[i], threads)) {
			top_proc_row__free(&v->procs[i]);
			goto nomem;
		}
		v->nprocs++;
	}
	if (f->nskips) {
		v->skips = malloc(f->nskips * sizeof(*v->skips));
		if (!v->skips)
			goto nomem;
		memcpy(v->skips, f->skips, f->nskips * sizeof(*v->skips));
		v->nskips = f->nskips;
	}
	return 0;
nomem:
	top_view__free(v);
	return -ENOMEM;
}

void top_view__free(struct top_view *v)
{
	for (size_t i = 0; i < v->nprocs; i++)
		top_proc_row__free(&v->procs[i]);
	free(v->procs);
	free(v->skips);
	memset(v, 0, sizeof(*v));
}

static double sort_value(const struct top_proc_row *p, enum top_sort key)
{
	switch (key) {
	case TOP_SORT_HELD: return p->held_pct;
	case TOP_SORT_CONTENDED: return p->contended_pct;
	case TOP_SORT_WAITS: return p->waits_per_s;
	case TOP_SORT_P99: return p->wait_p99_us;
	case TOP_SORT_CORES: return p->cores;
	default: return (double)p->pid;
	}
}

/* qsort has no context argument: the key of the sort under way */
static _Thread_local struct {
	enum top_sort key;
	bool descending;
} sorting;

static int cmp_proc(const void *a, const void *b)
{
	const struct top_proc_row *x = a, *y = b;
	double vx = sort_value(x, sorting.key), vy = sort_value(y, sorting.key);

	if (vx != vy)
		return (vx < vy) == sorting.descending ? 1 : -1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

void top_view__sort(struct top_view *v, enum top_sort key, bool reverse)
{
	sorting.key = key < TOP_NR_SORTS ? key : TOP_SORT_HELD;
	sorting.descending = top_sort__descending(sorting.key) != reverse;
	if (v->nprocs > 1)
		qsort(v->procs, v->nprocs, sizeof(*v->procs), cmp_proc);
}

long top_view__find(const struct top_view *v, pid_t pid)
{
	for (size_t i = 0; i < v->nprocs; i++)
		if (v->procs[i].pid == pid)
			return (long)i;
	return -1;
}
