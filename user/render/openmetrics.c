// SPDX-License-Identifier: MIT
/* A live frame as Prometheus text 0.0.4 or OpenMetrics 1.0.0 (the metrics:
 * docs/metrics.md). Families come one after another, each with its HELP
 * and TYPE, its samples for every process together; the figures are the
 * model's since-attach ones (live_proc.cum, .cum_raw), so counters only
 * grow while a process is traced. */
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include "model/hist_stats.h"
#include "render/openmetrics.h"

enum om_type { OM_GAUGE, OM_COUNTER, OM_HISTOGRAM };

static const char *const type_name[] = { "gauge", "counter", "histogram" };

struct om {
	FILE *m;
	const struct live_frame *f;
	const struct om_opts *o;
	/* the same in every series of a render, written once: each
	 * process's labels (NULL: written as they go), the buckets' bounds */
	char **plabels;              /* [f->nprocs] */
	size_t *plen;
	size_t hint;                 /* the process whose labels came last */
	char le[HIST_BUCKETS][24];
	uint64_t le_ns[HIST_BUCKETS];
};

/* The series' labels: the process's, then up to three more. */
#define OM_MAX_LABELS 3

struct om_labels {
	const struct live_proc *p;   /* NULL: no process labels */
	const char *k[OM_MAX_LABELS];
	const char *v[OM_MAX_LABELS];
	int n;
};

/* ---------------------------------------------------------------- values */

/* A value: every figure is a count or a sum of nanoseconds, so nine
 * decimals carry it whole (3.924, not 3.9240000000000004). */
static void put_double(FILE *m, double v)
{
	char buf[400];
	size_t n;

	if (v != v) {
		fputs("NaN", m);
		return;
	}
	if (v > 1.7976931348623157e308 || v < -1.7976931348623157e308) {
		fputs(v > 0 ? "+Inf" : "-Inf", m);
		return;
	}
	n = (size_t)snprintf(buf, sizeof(buf), "%.9f", v);
	while (n > 1 && buf[n - 1] == '0')
		n--;
	if (buf[n - 1] == '.')
		n--;
	buf[n] = 0;
	fputs(strcmp(buf, "-0") ? buf : "0", m);
}

/* An unsigned count, as %llu writes it. */
static void put_u64(FILE *m, uint64_t v)
{
	char buf[24], *p = buf + sizeof(buf);

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	fwrite(p, 1, (size_t)(buf + sizeof(buf) - p), m);
}

/* ns as exact decimal seconds: 1216 -> 0.000001216, 2^34 -> 17.179869184 */
static void ns_as_s(char *buf, size_t len, uint64_t ns)
{
	char frac[16];
	int end;

	snprintf(frac, sizeof(frac), "%09llu", (unsigned long long)(ns % 1000000000ull));
	for (end = 9; end > 0 && frac[end - 1] == '0'; end--)
		;
	frac[end] = 0;
	snprintf(buf, len, "%llu%s%s", (unsigned long long)(ns / 1000000000ull), end ? "." : "", frac);
}

/* The length of a well-formed UTF-8 sequence at s (at most n bytes), 0 if
 * it is not one (a stray, overlong, surrogate or out-of-range sequence). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A label value, at most max bytes of s: backslash, double quote and
 * newline escaped; bytes that are not UTF-8 (names come from the target)
 * become U+FFFD. */
static void put_label_value(FILE *m, const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strnlen(s, max);

	fputc('"', m);
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq(u + i, n - i);

		if (!k) {
			fputs("\xef\xbf\xbd", m);
			i++;
		} else if (u[i] == '\\' || u[i] == '"') {
			fputc('\\', m);
			fputc(u[i++], m);
		} else if (u[i] == '\n') {
			fputs("\\n", m);
			i++;
		} else {
			fwrite(u + i, 1, k, m);
			i += k;
		}
	}
	fputc('"', m);
}

/* ------------------------------------------------------------ the format */

/* HELP, TYPE (and UNIT in OpenMetrics) of a family. name is the family's
 * base name: a counter's samples add "_total". The help texts hold no
 * backslash, quote or newline. */
static void family(struct om *w, const char *name, enum om_type t, const char *unit, const char *help)
{
	const char *total = t == OM_COUNTER && w->o->fmt == OM_PROMETHEUS_TEXT ? "_total" : "";

	fprintf(w->m, "# HELP %s%s %s\n", name, total, help);
	fprintf(w->m, "# TYPE %s%s %s\n", name, total, type_name[t]);
	if (w->o->fmt == OM_OPENMETRICS && unit)
		fprintf(w->m, "# UNIT %s %s\n", name, unit);
}

/* A process's labels, without the braces. */
static void put_proc_labels(FILE *m, const struct live_proc *p)
{
	fprintf(m, "pid=\"%d\",comm=", (int)p->pid);
	put_label_value(m, p->comm, sizeof(p->comm));
	fputs(",python_version=", m);
	put_label_value(m, p->python, sizeof(p->python));
	fputs(",container=", m);
	put_label_value(m, p->container, sizeof(p->container));
}

/* p's labels as written once for this render; NULL: not there. The
 * families go over the processes in order: the next one is tried first. */
static const char *proc_labels(struct om *w, const struct live_proc *p, size_t *len)
{
	size_t n = w->f->nprocs;

	for (size_t k = 0; w->plabels && k < n; k++) {
		size_t i = (w->hint + k) % n;

		if (w->f->procs[i] == p) {
			w->hint = i + 1 < n ? i + 1 : 0;
			*len = w->plen[i];
			return w->plabels[i];
		}
	}
	return NULL;
}

/* "{" and the labels but the bucket bound; whether any was written. */
static bool put_labels_head(struct om *w, const struct om_labels *l)
{
	const struct live_proc *p = l->p;
	bool any = false;

	fputc('{', w->m);
	if (p) {
		size_t len;
		const char *s = proc_labels(w, p, &len);

		if (s)
			fwrite(s, 1, len, w->m);
		else
			put_proc_labels(w->m, p);
		any = true;
	}
	for (int i = 0; i < l->n; i++) {
		fprintf(w->m, "%s%s=", any ? "," : "", l->k[i]);
		put_label_value(w->m, l->v[i], SIZE_MAX);
		any = true;
	}
	return any;
}

static void put_labels(struct om *w, const struct om_labels *l, const char *le_key, const char *le)
{
	bool any;

	if (!l->p && !l->n && !le)
		return;
	any = put_labels_head(w, l);
	if (le) {
		if (any)
			fputc(',', w->m);
		fputs(le_key, w->m);
		fputs("=\"", w->m);
		fputs(le, w->m);
		fputc('"', w->m);
	}
	fputc('}', w->m);
}

/* name+suffix{labels} value */
static void sample(struct om *w, const char *name, const char *suffix, const struct om_labels *l, double v)
{
	fputs(name, w->m);
	fputs(suffix, w->m);
	put_labels(w, l, NULL, NULL);
	fputc(' ', w->m);
	put_double(w->m, v);
	fputc('\n', w->m);
}

/* A counter's sample, and in OpenMetrics its _created (since attach, when
 * the process's counters started from zero; created <= 0: unknown). */
static void counter(struct om *w, const char *name, const struct om_labels *l, double v, double created)
{
	sample(w, name, "_total", l, v < 0 ? 0 : v);
	if (w->o->fmt == OM_OPENMETRICS && created > 0)
		sample(w, name, "_created", l, created);
}

/* A classic histogram of slot counts (ns), its sum in seconds. */
static void histogram(struct om *w, const char *name, const struct om_labels *l, const uint64_t *slots,
		      double sum_s, double created)
{
	struct hist_buckets b;
	char le[40];

	hist_buckets(slots, &b);
	/* every bucket's line begins the same: written once, then each line
	 * in one piece */
	{
		FILE *out = w->m;
		char *head = NULL, line[1024];
		size_t hlen = 0;

		if ((w->m = open_memstream(&head, &hlen))) {
			fputs(name, w->m);
			fputs("_bucket", w->m);
			if (put_labels_head(w, l))
				fputc(',', w->m);
			fputs("le=\"", w->m);
			if (ferror(w->m) | fclose(w->m)) {
				free(head);
				head = NULL;
			}
		}
		w->m = out;
		for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
			const char *bound = le;
			size_t blen, n;
			char num[24], *d = num + sizeof(num);
			uint64_t v = b.below[i];

			if (b.le_ns[i] == w->le_ns[i])
				bound = w->le[i];
			else
				ns_as_s(le, sizeof(le), b.le_ns[i]);
			blen = strlen(bound);
			do
				*--d = (char)('0' + v % 10);
			while (v /= 10);
			n = (size_t)(num + sizeof(num) - d);
			if (head && hlen + blen + n + 4 <= sizeof(line)) {
				memcpy(line, head, hlen);
				memcpy(line + hlen, bound, blen);
				memcpy(line + hlen + blen, "\"} ", 3);
				memcpy(line + hlen + blen + 3, d, n);
				line[hlen + blen + 3 + n] = '\n';
				fwrite(line, 1, hlen + blen + n + 4, out);
				continue;
			}
			fputs(name, out);
			fputs("_bucket", out);
			put_labels(w, l, "le", bound);
			fputc(' ', out);
			put_u64(out, b.below[i]);
			fputc('\n', out);
		}
		free(head);
	}
	fputs(name, w->m);
	fputs("_bucket", w->m);
	put_labels(w, l, "le", "+Inf");
	fputc(' ', w->m);
	put_u64(w->m, b.count);
	fputc('\n', w->m);
	fputs(name, w->m);
	fputs("_count", w->m);
	put_labels(w, l, NULL, NULL);
	fputc(' ', w->m);
	put_u64(w->m, b.count);
	fputc('\n', w->m);
	sample(w, name, "_sum", l, sum_s);
	if (w->o->fmt == OM_OPENMETRICS && created > 0)
		sample(w, name, "_created", l, created);
}

/* -------------------------------------------------------- gilscope itself */

static void self_metrics(struct om *w)
{
	const struct live_frame *f = w->f;
	const struct om_labels none = { 0 };

	family(w, "gilscope_processes_traced", OM_GAUGE, NULL, "Processes gilscope traces now.");
	sample(w, "gilscope_processes_traced", "", &none, (double)f->nprocs);
	family(w, "gilscope_processes_skipped", OM_GAUGE, NULL,
	       "Python processes found but not traced (why: the serve log).");
	sample(w, "gilscope_processes_skipped", "", &none, (double)f->nskips);
	family(w, "gilscope_processes_max", OM_GAUGE, NULL, "Processes gilscope traces at once at most.");
	sample(w, "gilscope_processes_max", "", &none, (double)f->max_procs);
	family(w, "gilscope_processes_attached", OM_COUNTER, NULL, "Processes gilscope started tracing.");
	counter(w, "gilscope_processes_attached", &none, (double)f->attached_total, 0);
	family(w, "gilscope_processes_exited", OM_COUNTER, NULL,
	       "Traced processes that ended (their series leave the output).");
	counter(w, "gilscope_processes_exited", &none, (double)f->exited_total, 0);
	family(w, "gilscope_last_update_timestamp_seconds", OM_GAUGE, "seconds",
	       "When the figures served were read, Unix time.");
	sample(w, "gilscope_last_update_timestamp_seconds", "", &none, f->end_real_s);
}

/* ------------------------------------------------------- every process */

/* The main GIL's held time: every thread's, on- and off-CPU, less what
 * they held sub-interpreters' own GILs (as figures.c's held_pct). */
static double gil_held_s(const struct gs_report *r)
{
	double s = r->held_s + r->held_offcpu_s - r->sub_held_s;

	return s > 0 ? s : 0;
}

enum { ST_HELD, ST_HELD_OFFCPU, ST_NATIVE, ST_WAITING, ST_OFFCPU, ST_RUNNABLE, NR_ST };

static const char *const state_name[NR_ST] = { "held", "held_offcpu", "native", "waiting", "offcpu", "runnable" };

#define STATE_HELP(whose)                                                                                  \
	"Seconds " whose " spent in each state: held (on-CPU holding the GIL), held_offcpu (holding it "      \
	"off-CPU), native (on-CPU without it), waiting (for it), offcpu (off-CPU without it), runnable "      \
	"(the part of offcpu spent runnable without a CPU: do not add it to the others)."

static double report_state(const struct gs_report *r, int s)
{
	switch (s) {
	case ST_HELD: return r->held_s;
	case ST_HELD_OFFCPU: return r->held_offcpu_s;
	case ST_NATIVE: return r->native_s;
	case ST_WAITING: return r->wait_s;
	case ST_OFFCPU: return r->offcpu_s;
	default: return r->runq_s;
	}
}

static double thread_state(const struct thread_figs *t, int s)
{
	switch (s) {
	case ST_HELD: return t->held_s;
	case ST_HELD_OFFCPU: return t->held_offcpu_s;
	case ST_NATIVE: return t->native_s;
	case ST_WAITING: return t->wait_s;
	case ST_OFFCPU: return t->offcpu_s;
	default: return t->runq_s;
	}
}

/* One counter family with one series per process. */
typedef double (*proc_value)(const struct live_proc *p);

static void proc_counter(struct om *w, const char *name, const char *unit, const char *help, proc_value get)
{
	family(w, name, OM_COUNTER, unit, help);
	for (size_t i = 0; i < w->f->nprocs; i++) {
		const struct live_proc *p = w->f->procs[i];
		struct om_labels l = { .p = p };

		counter(w, name, &l, get(p), p->attached_real_s);
	}
}

static double v_held(const struct live_proc *p) { return gil_held_s(&p->cum); }
static double v_contended(const struct live_proc *p) { return p->cum_raw.counters[GS_C_CONTENDED_NS] / 1e9; }
static double v_handoff_s(const struct live_proc *p) { return p->cum.handoff.total_s; }
static double v_handoffs(const struct live_proc *p) { return (double)p->cum.handoff.count; }
static double v_acquisitions(const struct live_proc *p) { return (double)p->cum.acquisitions; }
static double v_lost(const struct live_proc *p) { return (double)p->cum.lost_events; }

static void proc_metrics(struct om *w)
{
	const struct live_frame *f = w->f;

	proc_counter(w, "gilscope_gil_held_seconds", "seconds",
		     "Seconds the main GIL was held, on- or off-CPU, since gilscope attached.", v_held);
	proc_counter(w, "gilscope_gil_contended_seconds", "seconds",
		     "Seconds at least one thread waited for the GIL.", v_contended);
	proc_counter(w, "gilscope_gil_handoff_seconds", "seconds",
		     "Seconds the GIL was free while threads waited for it: from each release that left "
		     "waiters to the next acquisition.", v_handoff_s);
	proc_counter(w, "gilscope_gil_handoffs", NULL, "Releases of the GIL that left threads waiting for it.",
		     v_handoffs);
	proc_counter(w, "gilscope_gil_acquisitions", NULL, "GIL acquisitions, waited for or not.", v_acquisitions);

	family(w, "gilscope_gil_releases", OM_COUNTER, NULL,
	       "GIL releases by kind: forced (another thread asked for it) or voluntary (every other release).");
	for (size_t i = 0; i < f->nprocs; i++) {
		const struct live_proc *p = f->procs[i];
		struct om_labels l = { .p = p, .k = { "kind" }, .n = 1 };

		l.v[0] = "forced";
		counter(w, "gilscope_gil_releases", &l, (double)p->cum.forced, p->attached_real_s);
		l.v[0] = "voluntary";
		counter(w, "gilscope_gil_releases", &l, (double)p->cum.voluntary, p->attached_real_s);
	}

	family(w, "gilscope_cpu_seconds", OM_COUNTER, "seconds",
	       "CPU seconds of the process's threads, gil=with: holding the GIL, gil=without: not holding it "
	       "(native code, or waiting for it on-CPU).");
	for (size_t i = 0; i < f->nprocs; i++) {
		const struct live_proc *p = f->procs[i];
		struct om_labels l = { .p = p, .k = { "gil" }, .n = 1 };

		l.v[0] = "with";
		counter(w, "gilscope_cpu_seconds", &l, p->cum.with_gil_s, p->attached_real_s);
		l.v[0] = "without";
		counter(w, "gilscope_cpu_seconds", &l, p->cum.without_gil_s, p->attached_real_s);
	}

	family(w, "gilscope_state_seconds", OM_COUNTER, "seconds", STATE_HELP("the process's threads (summed)"));
	for (size_t i = 0; i < f->nprocs; i++) {
		const struct live_proc *p = f->procs[i];
		struct om_labels l = { .p = p, .k = { "state" }, .n = 1 };

		for (int s = 0; s < NR_ST; s++) {
			l.v[0] = state_name[s];
			counter(w, "gilscope_state_seconds", &l, report_state(&p->cum, s), p->attached_real_s);
		}
	}

	proc_counter(w, "gilscope_lost_events", NULL,
		     "Events gilscope lost (full tables, skipped probe runs): its figures undercount by these.",
		     v_lost);

	family(w, "gilscope_threads", OM_GAUGE, NULL, "Live threads of the process.");
	for (size_t i = 0; i < f->nprocs; i++) {
		struct om_labels l = { .p = f->procs[i] };

		sample(w, "gilscope_threads", "", &l, f->procs[i]->cum.live_threads);
	}

	family(w, "gilscope_gil_switch_interval_seconds", OM_GAUGE, "seconds",
	       "The interpreter's switch interval (sys.getswitchinterval()), when gilscope could read it.");
	for (size_t i = 0; i < f->nprocs; i++) {
		const struct live_proc *p = f->procs[i];
		struct om_labels l = { .p = p };

		if (p->cum.switch_interval_us >= 0)
			sample(w, "gilscope_gil_switch_interval_seconds", "", &l, p->cum.switch_interval_us / 1e6);
	}

	family(w, "gilscope_gil_hold_duration_seconds", OM_HISTOGRAM, "seconds",
	       "Durations of the main GIL's completed holds.");
	for (size_t i = 0; i < f->nprocs; i++) {
		const struct live_proc *p = f->procs[i];
		struct om_labels l = { .p = p };

		histogram(w, "gilscope_gil_hold_duration_seconds", &l, p->cum_raw.hist[GS_HIST_HOLD],
			  p->cum.hold.total_s, p->attached_real_s);
	}
	family(w, "gilscope_gil_wait_duration_seconds", OM_HISTOGRAM, "seconds",
	       "Durations of completed waits for the main GIL (contended acquisitions).");
	for (size_t i = 0; i < f->nprocs; i++) {
		const struct live_proc *p = f->procs[i];
		struct om_labels l = { .p = p };

		histogram(w, "gilscope_gil_wait_duration_seconds", &l, p->cum_raw.hist[GS_HIST_WAIT],
			  p->cum.wait.total_s, p->attached_real_s);
	}
}

/* ---------------------------------------------------------- every thread */

/* Live threads only: an exited thread's series end with it (the merged
 * row of many exited threads too). */
static bool thread_shown(const struct thread_figs *t)
{
	return !t->t->exited && !t->t->merged;
}

/* tid and name: the caller's buffers (a thread's name fills its array
 * with no NUL at 15 bytes) */
struct thread_ids {
	char tid[16];
	char name[sizeof(((struct thread_rec *)0)->name) + 1];
};

static void thread_labels(struct om_labels *l, const struct live_proc *p, const struct thread_figs *t,
			  struct thread_ids *ids)
{
	snprintf(ids->tid, sizeof(ids->tid), "%u", (unsigned int)t->t->tid);
	memcpy(ids->name, t->t->name, sizeof(t->t->name));
	ids->name[sizeof(t->t->name)] = 0;
	*l = (struct om_labels){ .p = p, .k = { "tid", "thread" }, .v = { ids->tid, ids->name }, .n = 2 };
}

/* A per-thread counter family: each shown thread's holds (or waits). */
static void thread_count(struct om *w, const char *name, const char *help, bool waits)
{
	const struct live_frame *f = w->f;
	struct thread_ids ids;

	family(w, name, OM_COUNTER, NULL, help);
	for (size_t i = 0; i < f->nprocs; i++) {
		const struct live_proc *p = f->procs[i];

		for (size_t j = 0; j < p->cum.nthreads; j++) {
			const struct thread_figs *t = &p->cum.threads[j];
			struct om_labels l;

			if (!thread_shown(t))
				continue;
			thread_labels(&l, p, t, &ids);
			counter(w, name, &l, (double)(waits ? t->t->st.waits : t->t->st.holds), 0);
		}
	}
}

static void thread_metrics(struct om *w)
{
	const struct live_frame *f = w->f;
	struct thread_ids ids;

	family(w, "gilscope_thread_state_seconds", OM_COUNTER, "seconds", STATE_HELP("the thread"));
	for (size_t i = 0; i < f->nprocs; i++) {
		const struct live_proc *p = f->procs[i];

		for (size_t j = 0; j < p->cum.nthreads; j++) {
			const struct thread_figs *t = &p->cum.threads[j];
			struct om_labels l;

			if (!thread_shown(t))
				continue;
			thread_labels(&l, p, t, &ids);
			l.k[2] = "state";
			l.n = 3;
			for (int s = 0; s < NR_ST; s++) {
				l.v[2] = state_name[s];
				counter(w, "gilscope_thread_state_seconds", &l, thread_state(t, s), 0);
			}
		}
	}
	thread_count(w, "gilscope_thread_gil_holds", "The thread's completed holds of the main GIL.", false);
	thread_count(w, "gilscope_thread_gil_waits", "The thread's completed waits for the main GIL.", true);
}

/* ----------------------------------------------------------------- entry */

/* The text's buffer: grown by realloc, which moves a large block's pages
 * without copying them (open_memstream copies and zeroes each time it
 * grows: a third of a 2 MB render). */
struct text_buf {
	char *buf;
	size_t len, cap;
	bool failed;
};

static ssize_t text_write(void *cookie, const char *data, size_t n)
{
	struct text_buf *t = cookie;

	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 64 * 1024;
		char *b;

		while (t->len + n + 1 > cap)
			cap *= 2;
		if (!(b = realloc(t->buf, cap))) {
			t->failed = true;
			return -1;
		}
		t->buf = b;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, data, n);
	t->len += n;
	t->buf[t->len] = 0;
	return (ssize_t)n;
}

/* What every series of a render repeats, written once: each process's
 * labels (a bucket line is mostly labels), the buckets' bounds. Without
 * memory, the labels are written as they go. */
static void om_prepare(struct om *w)
{
	for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
		w->le_ns[i] = hist_bucket_le_ns(i);
		ns_as_s(w->le[i], sizeof(w->le[i]), w->le_ns[i]);
	}
	if (!w->f->nprocs || !(w->plabels = calloc(w->f->nprocs, sizeof(*w->plabels))) ||
	    !(w->plen = calloc(w->f->nprocs, sizeof(*w->plen))))
		goto fail;
	for (size_t i = 0; i < w->f->nprocs; i++) {
		FILE *m = open_memstream(&w->plabels[i], &w->plen[i]);

		if (!m)
			goto fail;
		put_proc_labels(m, w->f->procs[i]);
		if (ferror(m) | fclose(m))
			goto fail;
	}
	return;
fail:
	for (size_t i = 0; w->plabels && i < w->f->nprocs; i++)
		free(w->plabels[i]);
	free(w->plabels);
	free(w->plen);
	w->plabels = NULL;
	w->plen = NULL;
}

char *openmetrics__render(const struct live_frame *f, const struct om_opts *o, size_t *len)
{
	struct text_buf t = { 0 };
	struct om w = { .f = f, .o = o };
	bool bad;

	w.m = fopencookie(&t, "w", (cookie_io_functions_t){ .write = text_write });
	if (!w.m)
		return NULL;
	setvbuf(w.m, NULL, _IOFBF, 64 * 1024);
	om_prepare(&w);
	/* one thread writes this stream: stdio's per-call locking is ~a
	 * third of the time of a 1.7 MB text (64 processes) */
	__fsetlocking(w.m, FSETLOCKING_BYCALLER);
	self_metrics(&w);
	proc_metrics(&w);
	if (o->threads)
		thread_metrics(&w);
	if (o->fmt == OM_OPENMETRICS)
		fputs("# EOF\n", w.m);
	bad = ferror(w.m);
	for (size_t i = 0; w.plabels && i < f->nprocs; i++)
		free(w.plabels[i]);
	free(w.plabels);
	free(w.plen);
	if (fclose(w.m) || bad || t.failed) {
		free(t.buf);
		return NULL;
	}
	if (!t.buf && !(t.buf = calloc(1, 1)))   /* nothing written */
		return NULL;
	if (len)
		*len = t.len;
	return t.buf;
}

const char *openmetrics__content_type(enum om_format fmt)
{
	return fmt == OM_OPENMETRICS ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
				     : "text/plain; version=0.0.4; charset=utf-8";
}
