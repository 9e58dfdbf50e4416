// SPDX-License-Identifier: MIT
/* --children: the figures of a process tree as a whole. "Threads share
 * one GIL, processes each have their own" (docs/verdicts.md) is tested
 * with them: parallelism summed over processes against one process's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/family.h"

#define NS 1e9

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
	f->proc_cpu_pct = calloc((1 + nkids) * (f->ncpus > 0 ? f->ncpus : 1), sizeof(*f->proc_cpu_pct));
	if (!f->cpu || !f->proc_cpu_pct)
		return -ENOMEM;
	for (size_t i = 0; i <= nkids; i++) {
		const struct gs_report *r = family_report__proc(f, i);

		f->probe_hits += r->probe_hits;
		f->on_cpu_s += r->on_cpu_s;
		f->with_gil_s += r->with_gil_s;
		f->without_gil_s += r->without_gil_s;
		f->busy_processes += win > 0 && r->on_cpu_s / win >= GS_BUSY_CORES;
		for (int c = 0; c < f->ncpus && c < r->res->ncpus && r->res->cpu && win > 0; c++) {
			if (r->res->light && c < r->ncpus) {   /* the report's estimated split */
				f->cpu[c].with_gil_pct += r->cpu[c].with_gil_pct * r->window_s / win;
				f->cpu[c].without_gil_pct += r->cpu[c].without_gil_pct * r->window_s / win;
				continue;
			}
			f->cpu[c].with_gil_pct += 100.0 * (r->res->cpu[c].with_gil_ns / NS) / win;
			f->cpu[c].without_gil_pct += 100.0 * (r->res->cpu[c].without_gil_ns / NS) / win;
		}
		for (int c = 0; c < f->ncpus && c < r->ncpus && win > 0; c++)
			f->proc_cpu_pct[i * f->ncpus + c] = r->cpu[c].busy_pct * r->window_s / win;
	}
	for (int c = 0; c < f->ncpus; c++) {
		f->cpu[c].busy_pct = f->cpu[c].with_gil_pct + f->cpu[c].without_gil_pct;
		if (f->cpu[c].busy_pct > 100) {   /* as figures.c: repaired runs */
			double k = 100 / f->cpu[c].busy_pct;

			f->cpu[c].with_gil_pct *= k;
			f->cpu[c].without_gil_pct *= k;
			f->cpu[c].busy_pct = 100;
		}
	}
	f->parallelism = win > 0 ? f->on_cpu_s / win : 0;
	/* one tracer, one trap price, over the target's window */
	f->cost_cpu_pct = gs_trap_cpu_pct(f->probe_hits, rr->trap_ns, win);
	family_verdict(f, &f->verdict);
	return 0;
}

void family_report__free(struct family_report *f)
{
	free(f->cpu);
	free(f->proc_cpu_pct);
	f->cpu = NULL;
	f->proc_cpu_pct = NULL;
}
