// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "model/hist_stats.h"
#include "model/threads.h"

struct thread_rec *threads__add(struct gs_result *r)
{
	if (gs_grow(&r->threads, &r->cap, r->nthreads + 1, sizeof(*r->threads), 64))
		return NULL;
	memset(&r->threads[r->nthreads], 0, sizeof(r->threads[0]));
	return &r->threads[r->nthreads++];
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* What a merged row adds up: times and counts summed, maxima maxed, the
 * wait histograms summed (its p99 is that of all their waits). The
 * in-flight fields (since, gil, oncpu, tstate, ...) mean nothing for
 * threads that exited and stay 0. */
static void merge(struct gs_thread *into, const struct gs_thread *st)
{
	for (int i = 0; i < GS_NR_TSTATES; i++)
		into->ns[i] += st->ns[i];
	into->holds += st->holds;
	into->waits += st->waits;
	into->hold_ns += st->hold_ns;
	into->runq_ns += st->runq_ns;
	into->partial_holds += st->partial_holds;
	into->sub_held_ns += st->sub_held_ns;
	into->light_ticks += st->light_ticks;
	into->light_ticks_held += st->light_ticks_held;
	into->wait_max_ns = max_u64(into->wait_max_ns, st->wait_max_ns);
	into->hold_max_ns = max_u64(into->hold_max_ns, st->hold_max_ns);
	for (int i = 0; i < GS_THIST_SLOTS; i++)
		into->whist[i] = into->whist[i] + st->whist[i] < into->whist[i] ? UINT32_MAX
										 : into->whist[i] + st->whist[i];
	into->exited = 1;
	into->slot = st->slot;
}

struct thread_rec *threads__add_exited(struct gs_result *r, uint32_t tid, const struct gs_thread *st,
				       bool own_row)
{
	struct thread_rec *t;

	if (r->exited_rows < GS_EXITED_ROWS || own_row) {
		if (!(t = threads__add(r)))
			return NULL;
		r->exited_rows++;
		t->tid = tid;
		t->st = *st;
		memcpy(t->name, st->comm, sizeof(t->name));
		t->name[sizeof(t->name) - 1] = 0;
	} else {
		if (!r->merged_row) {
			if (!(t = threads__add(r)))
				return NULL;
			r->merged_row = r->nthreads; /* index + 1 */
		}
		t = &r->threads[r->merged_row - 1];
		merge(&t->st, st);
		t->merged++;
		snprintf(t->name, sizeof(t->name), "(%u exited)", t->merged);
	}
	t->exited = true;
	t->wait_p99_ns = hist_thread_quantile(t->st.whist, 0.99, t->st.wait_max_ns);
	return t;
}

uint64_t threads__count(const struct gs_result *r)
{
	uint64_t n = 0;

	for (size_t i = 0; i < r->nthreads; i++)
		n += r->threads[i].merged ? r->threads[i].merged : 1;
	return n;
}

static int cmp_tid(const void *a, const void *b)
{
	const struct thread_rec *x = a, *y = b;

	if (!x->merged != !y->merged)
		return x->merged ? 1 : -1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

void threads__sort(struct gs_result *r)
{
	size_t i = 1;

	/* often in order already (a live view's snapshot): rows are large */
	while (i < r->nthreads && cmp_tid(&r->threads[i - 1], &r->threads[i]) < 0)
		i++;
	if (i < r->nthreads)
		qsort(r->threads, r->nthreads, sizeof(*r->threads), cmp_tid);
	r->merged_row = r->nthreads && r->threads[r->nthreads - 1].merged ? r->nthreads : 0;
}
