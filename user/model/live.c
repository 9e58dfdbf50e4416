// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model/light.h"
#include "model/live.h"

static uint64_t sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* Both results are in threads__sort's order (by TID, the merged row
 * last): one walk over both. */
static int cmp_row(const void *a, const void *b)
{
	const struct thread_rec *x = a, *y = b;

	if (!x->merged != !y->merged)
		return x->merged ? 1 : -1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* t's row in r, looked for from *from on: t comes after the rows looked
 * for before it, so one walk over r finds them all. */
static const struct thread_rec *find_thread(const struct gs_result *r, const struct thread_rec *t, size_t *from)
{
	if (!r)
		return NULL;
	while (*from < r->nthreads && cmp_row(&r->threads[*from], t) < 0)
		(*from)++;
	return *from < r->nthreads && !cmp_row(&r->threads[*from], t) ? &r->threads[*from] : NULL;
}

static void diff_thread(struct thread_rec *o, const struct thread_rec *c, const struct thread_rec *p)
{
	*o = *c;
	if (!p)
		return;
	for (int i = 0; i < GS_NR_TSTATES; i++)
		o->st.ns[i] = sub(c->st.ns[i], p->st.ns[i]);
	o->st.holds = sub(c->st.holds, p->st.holds);
	o->st.waits = sub(c->st.waits, p->st.waits);
	o->st.hold_ns = sub(c->st.hold_ns, p->st.hold_ns);
	o->st.runq_ns = sub(c->st.runq_ns, p->st.runq_ns);
	o->st.partial_holds = sub(c->st.partial_holds, p->st.partial_holds);
	o->st.sub_held_ns = sub(c->st.sub_held_ns, p->st.sub_held_ns);
	o->st.light_ticks = c->st.light_ticks >= p->st.light_ticks ? c->st.light_ticks - p->st.light_ticks : 0;
	o->st.light_ticks_held = c->st.light_ticks_held >= p->st.light_ticks_held
				 ? c->st.light_ticks_held - p->st.light_ticks_held : 0;
	/* whist: live snapshots do not carry it (bpf/gil.bpf.c,
	 * snap_live_threads): no live view shows a thread's wait quantiles */
	o->merged = c->merged > p->merged ? c->merged - p->merged : c->merged;
}

void live_light_split(struct gs_result *cur, const struct gs_result *prev)
{
	if (!cur->light || cur->light_split)
		return;
	for (size_t i = 0, from = 0; i < cur->nthreads; i++) {
		struct gs_thread *c = &cur->threads[i].st;
		const struct thread_rec *pr = find_thread(prev, &cur->threads[i], &from);
		const struct gs_thread *p = pr ? &pr->st : NULL;
		uint64_t on = c->ns[GS_HELD_ON] + c->ns[GS_NOGIL_ON], pon, d, held, nogil;
		uint32_t dn, dh;

		if (!p || !prev->light_split) {
			light__split(c, true, &held, &nogil);
			c->ns[GS_HELD_ON] = held;
			c->ns[GS_NOGIL_ON] = nogil;
			continue;
		}
		/* p is split: its sum is still its on-CPU time */
		pon = p->ns[GS_HELD_ON] + p->ns[GS_NOGIL_ON];
		d = sub(on, pon);
		dn = c->light_ticks > p->light_ticks ? c->light_ticks - p->light_ticks : 0;
		dh = c->light_ticks_held > p->light_ticks_held ? c->light_ticks_held - p->light_ticks_held : 0;
		if (dh > dn)
			dh = dn;
		if (dn)
			held = (uint64_t)((double)d * dh / dn + 0.5);
		else if (c->light_ticks)        /* no tick this interval: its share so far */
			held = (uint64_t)((double)d * (c->light_ticks_held < c->light_ticks ? c->light_ticks_held
									     : c->light_ticks) / c->light_ticks + 0.5);
		else                            /* never a tick: as accounted */
			held = sub(c->ns[GS_HELD_ON], p->ns[GS_HELD_ON]);
		if (held > d)
			held = d;
		held += p->ns[GS_HELD_ON];
		if (held > on)
			held = on;
		c->ns[GS_HELD_ON] = held;
		c->ns[GS_NOGIL_ON] = on - held;
	}
	cur->light_split = true;
}

int live_diff(struct gs_result *out, const struct gs_result *cur, const struct gs_result *prev)
{
	/* scalars and borrowed pointers first, then every owned array anew
	 * (out is written over whole: not cleared first, it is 50 KB) */
	*out = *cur;
	out->threads = NULL;
	out->cpu = NULL;
	out->counts = NULL;
	out->stacks = NULL;
	out->codes = NULL;
	out->subgils = NULL;
	out->ncounts = out->nstacks = out->ncodes = out->nsubgils = 0;
	out->nthreads = out->cap = 0;
	if (cur->ncpus > 0) {
		out->cpu = calloc((size_t)cur->ncpus, sizeof(*out->cpu));
		if (!out->cpu)
			goto nomem;
		for (int i = 0; i < cur->ncpus && cur->cpu; i++) {
			out->cpu[i] = cur->cpu[i];
			if (prev && prev->cpu && i < prev->ncpus) {
				out->cpu[i].with_gil_ns = sub(cur->cpu[i].with_gil_ns, prev->cpu[i].with_gil_ns);
				out->cpu[i].without_gil_ns =
					sub(cur->cpu[i].without_gil_ns, prev->cpu[i].without_gil_ns);
			}
		}
	}
	if (cur->nthreads) {
		out->threads = calloc(cur->nthreads, sizeof(*out->threads));
		if (!out->threads)
			goto nomem;
		out->cap = cur->nthreads;
	}
	for (size_t i = 0, from = 0; i < cur->nthreads; i++) {
		const struct thread_rec *p = find_thread(prev, &cur->threads[i], &from);
		struct thread_rec *o = &out->threads[out->nthreads];

		diff_thread(o, &cur->threads[i], p);
		if (p) {
			uint64_t any = 0;

			for (int k = 0; k < GS_NR_TSTATES; k++)
				any += o->st.ns[k];
			/* an exited thread already reported in an earlier interval */
			if (cur->threads[i].exited && p->exited && !any && !o->st.holds && !o->st.waits)
				continue;
			/* a thread's wait p99 over the interval: no live view
			 * shows it, and it is a 120-slot walk per thread */
			o->wait_p99_ns = 0;
		}
		out->nthreads++;
	}
	if (!prev)
		return 0;
	out->t0 = prev->t1;
	for (int i = 0; i < GS_NR_COUNTERS; i++)
		out->counters[i] = sub(cur->counters[i], prev->counters[i]);
	for (int k = 0; k < GS_NR_HISTS; k++)
		for (unsigned int i = 0; i < GS_HIST_SLOTS; i++)
			out->hist[k][i] = sub(cur->hist[k][i], prev->hist[k][i]);
	/* Waits and holds still open: what they added in this interval is
	 * their growth; when one ended, its whole length is in the counters. */
	out->inflight_hold_ns = sub(cur->inflight_hold_ns, prev->inflight_hold_ns);
	out->inflight_cwait_ns = sub(cur->inflight_cwait_ns, prev->inflight_cwait_ns);
	out->prog_misses = sub(cur->prog_misses, prev->prog_misses);
	for (int i = 0; i < GS_NR_PROGS; i++) {
		out->progs[i].runs = sub(cur->progs[i].runs, prev->progs[i].runs);
		out->progs[i].run_ns = sub(cur->progs[i].run_ns, prev->progs[i].run_ns);
		out->progs[i].misses = sub(cur->progs[i].misses, prev->progs[i].misses);
	}
	/* the self-check needs both edges read from the target: not per interval */
	memset(&out->sc, 0, sizeof(out->sc));
	out->lim_start = prev->lim_end.valid ? prev->lim_end : cur->lim_start;
	return 0;
nomem:
	gs_result__free(out);
	return -ENOMEM;
}

int live_proc__build_some(struct live_proc *p, unsigned views)
{
	gs_report__free(&p->iv);
	gs_report__free(&p->cum);
	memset(&p->iv, 0, sizeof(p->iv));
	memset(&p->cum, 0, sizeof(p->cum));
	if (((views & LIVE_IV) && gs_report__build(&p->iv, p->pt, &p->iv_raw, NULL)) ||
	    ((views & LIVE_CUM) && gs_report__build(&p->cum, p->pt, &p->cum_raw, NULL)))
		return -ENOMEM;
	return 0;
}

int live_proc__build(struct live_proc *p)
{
	return live_proc__build_some(p, LIVE_IV | LIVE_CUM);
}

void live_proc__free(struct live_proc *p)
{
	gs_report__free(&p->iv);
	gs_report__free(&p->cum);
	gs_result__free(&p->iv_raw);
	gs_result__free(&p->cum_raw);
}
