// SPDX-License-Identifier: MIT
/* Chrome Trace Event Format writer for --trace: the timeline's records
 * (model/timeline.c buffers them as they arrive) sorted, and each thread's
 * transitions replayed into complete ("X") events, which need no
 * begin/end pairing in the viewer and cannot be left dangling by a lost
 * record. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "render/json.h"
#include "render/chrome_trace.h"

/* Span kinds. WAIT_ON and WAIT_OFF share one: what a reader asks is how long
 * the thread waited for the GIL (the JSON report splits out the on-CPU part).
 * args stay the same for every span of a name: speedscope keys its frames on
 * name + args, and per-span values would make every span a frame of its own. */
enum span { SP_HELD, SP_HELD_OFF, SP_WAIT, SP_NATIVE, SP_OFFCPU, SP_NONE };

static const struct {
	const char *name;       /* the span's name on the track */
	const char *state;      /* args.state: the JSON report's key stems */
} spans[] = {
	[SP_HELD]     = { "holding GIL",          "held" },
	[SP_HELD_OFF] = { "holding GIL, off-CPU", "held_offcpu" },
	[SP_WAIT]     = { "waiting for GIL",      "wait" },
	[SP_NATIVE]   = { "running without GIL",  "native" },
	[SP_OFFCPU]   = { "off-CPU",              "offcpu" },
};

static enum span span_of(unsigned int tstate)
{
	switch (tstate) {
	case GS_HELD_ON:   return SP_HELD;
	case GS_HELD_OFF:  return SP_HELD_OFF;
	case GS_WAIT_ON:
	case GS_WAIT_OFF:  return SP_WAIT;
	case GS_NOGIL_ON:  return SP_NATIVE;
	case GS_NOGIL_OFF: return SP_OFFCPU;
	default:           return SP_NONE;
	}
}

/* Replay state of one thread, built by write(). */
struct tw_thread {
	uint32_t tid;
	const char *name;       /* borrowed from w->names; NULL: "tid N" */
	uint64_t first_ts;      /* orders the tracks; UINT64_MAX: no record */
	enum span span;         /* open span, SP_NONE when none */
	uint64_t start;         /* its start (quantized ns, relative to t0) */
};

static int cmp_rec(const void *a, const void *b)
{
	const struct tw_rec *x = a, *y = b;

	if (x->r.ts != y->r.ts)
		return x->r.ts < y->r.ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_thread_tid(const void *key, const void *elem)
{
	uint32_t tid = *(const uint32_t *)key, t = ((const struct tw_thread *)elem)->tid;

	return tid < t ? -1 : tid > t;
}

/* Track order: the main thread (tid == *pid) first, then by first appearance. */
static int cmp_track(const void *a, const void *b, void *pid)
{
	const struct tw_thread *x = *(const struct tw_thread *const *)a;
	const struct tw_thread *y = *(const struct tw_thread *const *)b;
	uint32_t main_tid = (uint32_t)*(const pid_t *)pid;
	bool xm = x->tid == main_tid, ym = y->tid == main_tid;

	if (xm != ym)
		return xm ? -1 : 1;
	if (x->first_ts != y->first_ts)
		return x->first_ts < y->first_ts ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* One entry per tid seen in a record or named, sorted by tid. */
static struct tw_thread *build_threads(const struct timeline *w, size_t *nout)
{
	size_t n = w->nrecs + w->nnames, k = 0;
	struct tw_thread *th;
	uint32_t *tids;

	*nout = 0;
	tids = malloc((n ? n : 1) * sizeof(*tids));
	if (!tids)
		return NULL;
	for (size_t i = 0; i < w->nrecs; i++)
		tids[i] = w->recs[i].r.tid;
	for (size_t i = 0; i < w->nnames; i++)
		tids[w->nrecs + i] = w->names[i].tid;
	qsort(tids, n, sizeof(*tids), cmp_u32);
	th = calloc(n ? n : 1, sizeof(*th));
	if (!th) {
		free(tids);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (k && th[k - 1].tid == tids[i])
			continue;
		th[k].tid = tids[i];
		th[k].first_ts = UINT64_MAX;
		th[k].span = SP_NONE;
		k++;
	}
	free(tids);
	for (size_t i = 0; i < w->nnames; i++) {  /* in order: the last name wins */
		struct tw_thread *t = bsearch(&w->names[i].tid, th, k, sizeof(*th), cmp_thread_tid);

		t->name = w->names[i].name;
	}
	*nout = k;
	return th;
}

/* Times in the file are multiples of 1/8 us. The format's unit is the
 * microsecond, and every reader adds ts + dur in doubles: with ns precision
 * (3 decimals, not exact in binary) ts + dur of one span comes out one ulp
 * past the next span's ts for ~40% of boundaries, and speedscope then nests
 * the next span inside this one and warns "Tried to end ...". k/8 is exact
 * in binary and in 3 decimals, so sums and differences are exact in
 * JavaScript, and Perfetto's llround(us * 1000) gives the same ns back.
 * 125 ns is far below anything a GIL timeline shows; totals per span move
 * by at most half of it. */
#define QUANTUM_NS 125

/* Record time -> ns relative to t0, rounded to the quantum; records before
 * t0 move to 0. Rounding is monotonic: the order of events is kept. */
static uint64_t rel_time(const struct timeline *w, uint64_t ts)
{
	uint64_t rel = ts > w->t0 ? ts - w->t0 : 0;

	return (rel + QUANTUM_NS / 2) / QUANTUM_NS * QUANTUM_NS;
}

/* Quantized relative ns as decimal microseconds: at most 3 decimals, printed
 * exactly by json_double's %.15g below 10^12 us. */
static void json_us(struct json_writer *j, uint64_t rel_ns)
{
	json_double(j, (double)rel_ns / 1e3);
}

/* The fields every event has; the caller adds the rest and closes it. */
static void event_begin(struct json_writer *j, const char *ph, const char *name,
			pid_t pid, uint32_t tid)
{
	json_obj_begin(j);
	json_key(j, "name"); json_str(j, name);
	json_key(j, "ph"); json_str(j, ph);
	json_key(j, "pid"); json_int(j, pid);
	json_key(j, "tid"); json_uint(j, tid);
}

static void emit_meta(struct json_writer *j, const char *what, pid_t pid, uint32_t tid,
		      const char *key, const char *sval, int64_t ival)
{
	event_begin(j, "M", what, pid, tid);
	json_key(j, "args");
	json_obj_begin(j);
	json_key(j, key);
	if (sval)
		json_str(j, sval);
	else
		json_int(j, ival);
	json_obj_end(j);
	json_obj_end(j);
}

/* End t's open span at `end`; a span of no length is dropped. */
static void close_span(struct json_writer *j, pid_t pid, struct tw_thread *t, uint64_t end)
{
	if (t->span == SP_NONE)
		return;
	if (end > t->start) {
		event_begin(j, "X", spans[t->span].name, pid, t->tid);
		json_key(j, "cat"); json_str(j, "gil");
		json_key(j, "ts"); json_us(j, t->start);
		json_key(j, "dur"); json_us(j, end - t->start);
		json_key(j, "args");
		json_obj_begin(j);
		json_key(j, "state"); json_str(j, spans[t->span].state);
		json_obj_end(j);
		json_obj_end(j);
	}
	t->span = SP_NONE;
}

static void state_change(struct json_writer *j, pid_t pid, struct tw_thread *t,
			 uint64_t ts, unsigned int tstate)
{
	enum span sp = span_of(tstate);

	if (sp == t->span)      /* same span: it goes on */
		return;
	close_span(j, pid, t, ts);
	t->span = sp;
	t->start = ts;
}

static void emit_counter(struct json_writer *j, pid_t pid, uint64_t ts, int64_t waiters)
{
	/* Counters belong to the process; tid = pid keeps Perfetto from making
	 * up a thread 0 for them. */
	event_begin(j, "C", "GIL waiters", pid, (uint32_t)pid);
	json_key(j, "ts"); json_us(j, ts);
	json_key(j, "args");
	json_obj_begin(j);
	json_key(j, "waiters"); json_int(j, waiters);
	json_obj_end(j);
	json_obj_end(j);
}

static void emit_instant(struct json_writer *j, pid_t pid, uint32_t tid, uint64_t ts,
			 const char *name, const char *scope)
{
	event_begin(j, "i", name, pid, tid);
	json_key(j, "cat"); json_str(j, "gil");
	json_key(j, "ts"); json_us(j, ts);
	json_key(j, "s"); json_str(j, scope);
	json_obj_end(j);
}

static void emit_metadata(struct json_writer *j, const struct timeline *w,
			  struct tw_thread *th, size_t nth, struct tw_thread **order)
{
	char buf[64];

	if (w->process_name) {
		emit_meta(j, "process_name", w->pid, (uint32_t)w->pid, "name", w->process_name, 0);
	} else {
		snprintf(buf, sizeof(buf), "pid %d", (int)w->pid);
		emit_meta(j, "process_name", w->pid, (uint32_t)w->pid, "name", buf, 0);
	}
	for (size_t i = 0; i < nth; i++)
		order[i] = &th[i];
	qsort_r(order, nth, sizeof(*order), cmp_track, (void *)&w->pid);
	for (size_t i = 0, idx = 0; i < nth; i++) {
		const struct tw_thread *t = order[i];

		if (t->first_ts == UINT64_MAX)
			continue;       /* named, but no record: no track */
		snprintf(buf, sizeof(buf), "tid %" PRIu32, t->tid);
		emit_meta(j, "thread_name", w->pid, t->tid, "name", t->name ? t->name : buf, 0);
		emit_meta(j, "thread_sort_index", w->pid, t->tid, "sort_index", NULL, (int64_t)idx++);
	}
}

int chrome_trace__write(struct timeline *w, FILE *f, uint64_t t1_ns, uint64_t lost)
{
	struct tw_thread *th = NULL, **order = NULL;
	struct json_writer *j = NULL;
	uint64_t t1, ignored = 0;
	int64_t waiters = INT64_MIN;    /* last value on the counter track */
	size_t nth;
	int err = 0;

	if (w->nrecs)
		qsort(w->recs, w->nrecs, sizeof(*w->recs), cmp_rec);
	th = build_threads(w, &nth);
	order = calloc(nth ? nth : 1, sizeof(*order));
	j = json_writer__new(f);
	if (!th || !order || !j) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* A record after t1 moves the end. */
	t1 = rel_time(w, t1_ns);
	if (w->nrecs && rel_time(w, w->recs[w->nrecs - 1].r.ts) > t1)
		t1 = rel_time(w, w->recs[w->nrecs - 1].r.ts);
	for (size_t i = 0; i < w->nrecs; i++) {
		struct tw_thread *t = bsearch(&w->recs[i].r.tid, th, nth, sizeof(*th), cmp_thread_tid);
		uint64_t ts = rel_time(w, w->recs[i].r.ts);

		if (t->first_ts == UINT64_MAX)
			t->first_ts = ts;
	}

	json_obj_begin(j);
	json_key(j, "traceEvents");
	json_arr_begin(j);
	emit_metadata(j, w, th, nth, order);

	for (size_t i = 0; i < w->nrecs; i++) {
		const struct gs_trace_rec *r = &w->recs[i].r;
		struct tw_thread *t = bsearch(&r->tid, th, nth, sizeof(*th), cmp_thread_tid);
		uint64_t ts = rel_time(w, r->ts);

		switch (r->kind) {
		case GS_TR_STATE:
			if (span_of(r->state) == SP_NONE) {
				ignored++;
				continue;
			}
			state_change(j, w->pid, t, ts, r->state);
			break;
		case GS_TR_FORCED:
			emit_instant(j, w->pid, t->tid, ts, "forced switch", "t");
			break;
		case GS_TR_EXIT:
			close_span(j, w->pid, t, ts);
			break;
		default:
			ignored++;
			continue;
		}
		if (r->waiters != waiters) {
			waiters = r->waiters;
			emit_counter(j, w->pid, ts, waiters);
		}
	}
	for (size_t i = 0; i < nth; i++)
		close_span(j, w->pid, &th[i], t1);

	lost += w->dropped;
	if (lost) {
		char buf[64];

		snprintf(buf, sizeof(buf), "lost %" PRIu64 " transition records", lost);
		emit_instant(j, w->pid, (uint32_t)w->pid, t1, buf, "g");
	}
	json_arr_end(j);

	json_key(j, "displayTimeUnit"); json_str(j, "ms");
	json_key(j, "otherData");
	json_obj_begin(j);
	json_key(j, "tool"); json_str(j, "gilscope");
#ifdef GS_VERSION
	json_key(j, "version"); json_str(j, GS_VERSION);
#endif
	json_key(j, "pid"); json_int(j, w->pid);
	json_key(j, "clock"); json_str(j, "CLOCK_MONOTONIC");
	json_key(j, "t0_ns"); json_uint(j, w->t0);    /* ts 0 of this file */
	json_key(j, "duration_us"); json_us(j, t1);
	json_key(j, "time_quantum_ns"); json_uint(j, QUANTUM_NS);
	json_key(j, "records"); json_uint(j, w->nrecs);
	json_key(j, "lost_records"); json_uint(j, lost);
	json_key(j, "ignored_records"); json_uint(j, ignored); /* unknown kind/state */
	json_obj_end(j);
	json_obj_end(j);

	if (fflush(f) || ferror(f))
		err = -EIO;
cleanup:
	json_writer__free(j);
	free(order);
	free(th);
	return err;
}
