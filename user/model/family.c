// SPDX-License-Identifier: MIT
/* --children: the figures of a process tree as a whole. The seeds' claim
 * "threads share one GIL, processes each have their own" is tested here:
 * parallelism summed over processes against one process's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/figures.h"

#define NS 1e9

static void verdict(struct family_report *f, const struct gs_report *root)
{
	const struct gs_report *top = root;
	double top_cpu = root->on_cpu_s;
	struct verdict *v = &f->verdict;
	int n;

	for (size_t i = 0; i < f->nkids; i++)
		if (f->kids[i].on_cpu_s > top_cpu) {
			top = &f->kids[i];
			top_cpu = top->on_cpu_s;
		}
	/* Several processes each running Python on their own core. */
	if (f->busy_processes >= 2 && f->parallelism >= 1.3) {
		int bound = 0;

		for (size_t i = 0; i <= f->nkids; i++) {
			const struct gs_report *r = i ? &f->kids[i - 1] : root;

			bound += r->window_s > 0 && r->on_cpu_s / r->window_s >= 0.2 && r->held_pct >= 70;
		}
		v->kind = "multi-process";
		n = snprintf(v->text, sizeof(v->text),
			     "%d processes ran at once, %.2f cores' worth of CPU together (%d of them busy, %d holding "
			     "their own GIL >= 70%% of the time): each process has its own GIL, so processes run Python in "
			     "parallel where threads of one process cannot.",
			     f->processes, f->parallelism, f->busy_processes, bound);
		if (f->ncpus > 0 && f->parallelism >= 0.9 * f->ncpus && n > 0 && (size_t)n < sizeof(v->text))
			snprintf(v->text + n, sizeof(v->text) - n,
				 " All %d CPUs are busy: more processes would not go faster.", f->ncpus);
		return;
	}
	v->kind = top->verdict.kind;
	snprintf(v->text, sizeof(v->text), "the busiest process, PID %d (%.2f cores), is %s: %.600s", top->pt->pid,
		 top->window_s > 0 ? top->on_cpu_s / top->window_s : 0, top->verdict.kind, top->verdict.text);
}

int family_report__build(struct family_report *f, const struct gs_report *root,
			 const struct gs_report *kids, size_t nkids)
{
	const struct gs_result *rr = root->res;
	double win = root->window_s;

	f->root = root;
	f->kids = kids;
	f->nkids = nkids;
	f->processes = 1 + (int)nkids;
	f->window_s = win;
	f->ncpus = rr->ncpus;
	f->cpu = calloc(f->ncpus > 0 ? f->ncpus : 1, sizeof(*f->cpu));
	if (!f->cpu)
		return -ENOMEM;
	for (size_t i = 0; i <= nkids; i++) {
		const struct gs_report *r = i ? &kids[i - 1] : root;

		f->probe_hits += r->probe_hits;
		f->on_cpu_s += r->on_cpu_s;
		f->with_gil_s += r->with_gil_s;
		f->without_gil_s += r->without_gil_s;
		f->busy_processes += win > 0 && r->on_cpu_s / win >= 0.2;
		for (int c = 0; c < f->ncpus && c < r->res->ncpus && r->res->cpu && win > 0; c++) {
			f->cpu[c].with_gil_pct += 100.0 * (r->res->cpu[c].with_gil_ns / NS) / win;
			f->cpu[c].without_gil_pct += 100.0 * (r->res->cpu[c].without_gil_ns / NS) / win;
		}
	}
	for (int c = 0; c < f->ncpus; c++)
		f->cpu[c].busy_pct = f->cpu[c].with_gil_pct + f->cpu[c].without_gil_pct;
	f->parallelism = win > 0 ? f->on_cpu_s / win : 0;
	/* one tracer, one trap price, over the target's window */
	f->cost_cpu_pct = gs_trap_cpu_pct(f->probe_hits, rr->trap_ns, win);
	verdict(f, root);
	return 0;
}

void family_report__free(struct family_report *f)
{
	free(f->cpu);
	f->cpu = NULL;
}
