// SPDX-License-Identifier: MIT
/* gilscope serve's text (render/openmetrics.c) over hand-built live
 * frames: values against the raw input, the histogram buckets of
 * model/hist_stats.c (slot edges, exact counts, quantiles Prometheus
 * interpolates), label escaping, both formats against golden/, and
 * `promtool check metrics` on the Prometheus text.
 *
 * GOLDEN_UPDATE=1 writes the golden files anew (then review the diff). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "model/hist_stats.h"
#include "model/live.h"
#include "render/openmetrics.h"

#ifndef GOLDEN_DIR
#define GOLDEN_DIR "tests/unit/golden"
#endif

#define MS 1000000ull
#define T0 (1000ull * 1000 * MS)

static bool update;

/* ------------------------------------------------------------- the input */

static void thread(struct gs_result *r, uint32_t tid, const char *name, const uint64_t ns[GS_NR_TSTATES],
		   uint64_t holds, uint64_t waits, bool exited)
{
	struct thread_rec *t;

	r->threads = realloc(r->threads, (r->nthreads + 1) * sizeof(*r->threads));
	t = &r->threads[r->nthreads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	memcpy(t->name, name, strnlen(name, sizeof(t->name)));
	memcpy(t->st.ns, ns, sizeof(t->st.ns));
	t->st.holds = holds;
	t->st.hold_ns = holds * 5 * MS;
	t->st.hold_max_ns = holds ? 6 * MS : 0;
	t->st.waits = waits;
	t->st.wait_max_ns = waits ? 11 * MS : 0;
	t->st.runq_ns = ns[GS_NOGIL_OFF] / 4;
	t->st.sub_held_ns = tid % 2 ? 0 : 3 * MS;
	t->exited = exited;
}

/* The slot whose lower edge is ns (ns must be one). */
static unsigned int edge_slot(uint64_t ns)
{
	unsigned int s = gs_hist_slot(ns);

	CHECK_U64(gs_hist_slot_lo(s), ns);
	return s;
}

/* Three CPU-bound threads (one exited) over 4 s, holds concentrated at
 * 5 ms; some holds exactly at bucket bounds and one ns below. */
static void proc_busy(struct live_proc *p, struct py_target *pt)
{
	struct gs_result *r = &p->cum_raw;
	const uint64_t a[GS_NR_TSTATES] = { [GS_HELD_ON] = 1300 * MS, [GS_HELD_OFF] = 20 * MS, [GS_WAIT_OFF] = 2600 * MS,
					    [GS_WAIT_ON] = 5 * MS, [GS_NOGIL_ON] = 40 * MS, [GS_NOGIL_OFF] = 35 * MS };
	const uint64_t b[GS_NR_TSTATES] = { [GS_HELD_ON] = 1310 * MS, [GS_HELD_OFF] = 10 * MS, [GS_WAIT_OFF] = 2630 * MS,
					    [GS_NOGIL_ON] = 30 * MS, [GS_NOGIL_OFF] = 20 * MS };
	const uint64_t c[GS_NR_TSTATES] = { [GS_HELD_ON] = 1290 * MS, [GS_WAIT_OFF] = 2500 * MS,
					    [GS_NOGIL_OFF] = 210 * MS };
	uint64_t *k = r->counters;

	memset(p, 0, sizeof(*p));
	memset(pt, 0, sizeof(*pt));
	p->pid = 4242;
	snprintf(p->comm, sizeof(p->comm), "py\"we\\rd");
	snprintf(p->python, sizeof(p->python), "3.12.4");
	p->pt = pt;
	p->attached_real_s = 1764820000.25;
	r->t0 = T0;
	r->t1 = T0 + 4000 * MS;
	r->ncpus = 2;
	r->cpu = calloc(2, sizeof(*r->cpu));
	r->cpu[0] = (struct gs_cpu){ 1950 * MS, 40 * MS };
	r->cpu[1] = (struct gs_cpu){ 1950 * MS, 35 * MS };
	r->interval_us = 5000;
	thread(r, 4242, "MainThread", a, 260, 259, false);
	thread(r, 4243, "worker-1", b, 262, 262, false);
	thread(r, 4244, "worker-2", c, 258, 258, true);
	k[GS_C_FORCED] = 700;
	k[GS_C_VOLUNTARY] = 80;
	k[GS_C_ACQUIRES] = 781;
	k[GS_C_HOLD_NS] = 3880 * MS;
	k[GS_C_WAIT_NS] = 7735 * MS;
	k[GS_C_CONTENDED_NS] = 3950 * MS;
	k[GS_C_HANDOFF_NS] = 21 * MS;
	k[GS_C_STACKS_FULL] = 3;   /* a loss */
	k[GS_C_TRUNCATED] = 9;     /* not one */
	/* holds: 760 in the slot of 5 ms, 10 at the 5.89 ms bound (2^22 * 45/32,
	 * counted in the next bucket), 6 one ns below it */
	r->hist[GS_HIST_HOLD][gs_hist_slot(5 * MS)] = 760;
	r->hist[GS_HIST_HOLD][edge_slot((45ull << 22) / 32)] = 10;
	r->hist[GS_HIST_HOLD][edge_slot((45ull << 22) / 32) - 1] = 6;
	/* waits: about 10 ms, and 4 of 20 s, past the last bound */
	r->hist[GS_HIST_WAIT][gs_hist_slot(10 * MS)] = 775;
	r->hist[GS_HIST_WAIT][gs_hist_slot(20000 * MS)] = 4;
	r->hist[GS_HIST_HANDOFF][gs_hist_slot(27000)] = 770;
	CHECK(live_proc__build(p) == 0);
}

/* One mostly idle thread in a container; its name is not UTF-8 and holds
 * a newline. */
static void proc_idle(struct live_proc *p, struct py_target *pt)
{
	struct gs_result *r = &p->cum_raw;
	const uint64_t a[GS_NR_TSTATES] = { [GS_HELD_ON] = 250 * MS, [GS_NOGIL_OFF] = 750 * MS };

	memset(p, 0, sizeof(*p));
	memset(pt, 0, sizeof(*pt));
	p->pid = 777;
	snprintf(p->comm, sizeof(p->comm), "duty");
	snprintf(p->python, sizeof(p->python), "3.13.5");
	snprintf(p->container, sizeof(p->container), "docker:ab12");
	p->pt = pt;
	p->attached_real_s = 1764820003.5;
	r->t0 = T0 + 3000 * MS;
	r->t1 = T0 + 4000 * MS;
	r->ncpus = 2;
	r->cpu = calloc(2, sizeof(*r->cpu));
	r->cpu[1] = (struct gs_cpu){ 250 * MS, 0 };
	r->interval_us = -1;
	thread(r, 778, "n\xff\n1", a, 50, 0, false);
	r->counters[GS_C_VOLUNTARY] = 50;
	r->counters[GS_C_ACQUIRES] = 50;
	r->counters[GS_C_HOLD_NS] = 250 * MS;
	r->hist[GS_HIST_HOLD][gs_hist_slot(5 * MS)] = 50;
	CHECK(live_proc__build(p) == 0);
}

static void frame(struct live_frame *f, struct live_proc **procs, size_t n, struct live_skip *skips, size_t nskips)
{
	memset(f, 0, sizeof(*f));
	f->seq = 4;
	f->start_s = 999;
	f->end_s = 1004;
	f->end_real_s = 1764820004.75;
	f->host_wide = true;
	f->procs = procs;
	f->nprocs = n;
	f->skips = skips;
	f->nskips = nskips;
	f->max_procs = 64;
	f->attached_total = 3;
	f->exited_total = 1;
	f->self_cpu_pct = 0.4;
}

/* ------------------------------------------------------------ the output */

/* The value of the series that starts a line with `series ` (name and
 * labels exactly as written); NAN if there is none. */
static double value_of(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, series, n) && l[n] == ' ')
			return strtod(l + n + 1, NULL);
	return NAN;
}

static unsigned int lines_with(const char *text, const char *s)
{
	unsigned int n = 0;

	for (const char *l = text; (l = strstr(l, s)); l++)
		n++;
	return n;
}

#define BUSY "pid=\"4242\",comm=\"py\\\"we\\\\rd\",python_version=\"3.12.4\",container=\"\""

static char *render(const struct live_frame *f, enum om_format fmt, bool threads, size_t *len)
{
	struct om_opts o = { .fmt = fmt, .threads = threads };
	char *t = openmetrics__render(f, &o, len);

	CHECK(t != NULL);
	CHECK(t && strlen(t) == *len);
	return t;
}

static void test_values(const struct live_frame *f, const struct live_proc *busy)
{
	size_t len;
	char *t = render(f, OM_PROMETHEUS_TEXT, false, &len);
	double held = (1300 + 20 + 1310 + 10 + 1290 - 6) / 1e3; /* less the even TIDs' sub-interpreter holds */
	char series[400];

	if (!t)
		return;
	CHECK_MSG(fabs(value_of(t, "gilscope_gil_held_seconds_total{" BUSY "}") - held) < 1e-9, "held %g",
		  value_of(t, "gilscope_gil_held_seconds_total{" BUSY "}"));
	CHECK(value_of(t, "gilscope_gil_contended_seconds_total{" BUSY "}") == 3.95);
	CHECK(value_of(t, "gilscope_gil_handoff_seconds_total{" BUSY "}") == 0.021);
	CHECK(value_of(t, "gilscope_gil_handoffs_total{" BUSY "}") == 770);
	CHECK(value_of(t, "gilscope_gil_acquisitions_total{" BUSY "}") == 781);
	CHECK(value_of(t, "gilscope_gil_releases_total{" BUSY ",kind=\"forced\"}") == 700);
	CHECK(value_of(t, "gilscope_gil_releases_total{" BUSY ",kind=\"voluntary\"}") == 80);
	CHECK(fabs(value_of(t, "gilscope_cpu_seconds_total{" BUSY ",gil=\"with\"}") - 3.9) < 1e-9);
	CHECK(fabs(value_of(t, "gilscope_cpu_seconds_total{" BUSY ",gil=\"without\"}") - 0.075) < 1e-9);
	CHECK(fabs(value_of(t, "gilscope_state_seconds_total{" BUSY ",state=\"waiting\"}") - 7.735) < 1e-9);
	CHECK(fabs(value_of(t, "gilscope_state_seconds_total{" BUSY ",state=\"offcpu\"}") - 0.265) < 1e-9);
	CHECK(fabs(value_of(t, "gilscope_state_seconds_total{" BUSY ",state=\"runnable\"}") - (8.75 + 5 + 52.5) / 1e3) < 1e-9);
	CHECK(value_of(t, "gilscope_lost_events_total{" BUSY "}") == 3);
	CHECK(value_of(t, "gilscope_threads{" BUSY "}") == 2);
	CHECK(value_of(t, "gilscope_gil_switch_interval_seconds{" BUSY "}") == 0.005);
	CHECK(!strstr(t, "gilscope_gil_switch_interval_seconds{pid=\"777\""));   /* unknown: no series */
	CHECK(value_of(t, "gilscope_processes_traced") == 2);
	CHECK(value_of(t, "gilscope_processes_skipped") == 1);
	CHECK(value_of(t, "gilscope_processes_attached_total") == 3);
	CHECK(value_of(t, "gilscope_processes_exited_total") == 1);

	/* the hold histogram: cumulative, exact at the bounds, +Inf = _count */
	{
		struct hist_buckets b;
		uint64_t bound = (45ull << 22) / 32, prev = 0;
		bool monotone = true;
		unsigned int at = HIST_BUCKETS;

		hist_buckets(busy->cum_raw.hist[GS_HIST_HOLD], &b);
		for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
			char le[40];
			double v;

			if (b.le_ns[i] == bound)
				at = i;
			snprintf(le, sizeof(le), "%.9f", b.le_ns[i] / 1e9);
			while (le[strlen(le) - 1] == '0')
				le[strlen(le) - 1] = 0;
			snprintf(series, sizeof(series), "gilscope_gil_hold_duration_seconds_bucket{" BUSY ",le=\"%s\"}", le);
			v = value_of(t, series);
			CHECK_MSG(v == (double)b.below[i], "%s: %g != %" PRIu64, series, v, b.below[i]);
			monotone &= v >= prev;
			prev = (uint64_t)v;
		}
		CHECK(monotone);
		CHECK_MSG(at < HIST_BUCKETS, "5.89 ms is not a bound");
		if (at < HIST_BUCKETS) {
			/* 5 ms is in the slot the bound before opens */
			CHECK_U64(b.below[at - 1], 0);
			CHECK_U64(b.below[at], 766);        /* the 5 ms slot and one ns below the bound */
			CHECK_U64(b.below[at + 1], 776);    /* and those at it */
		}
		CHECK(value_of(t, "gilscope_gil_hold_duration_seconds_bucket{" BUSY ",le=\"+Inf\"}") == 776);
		CHECK(value_of(t, "gilscope_gil_hold_duration_seconds_count{" BUSY "}") == 776);
		CHECK(value_of(t, "gilscope_gil_hold_duration_seconds_count{" BUSY "}") == busy->cum.hold.count);
		CHECK(value_of(t, "gilscope_gil_hold_duration_seconds_sum{" BUSY "}") == 3.88);
		CHECK(value_of(t, "gilscope_gil_wait_duration_seconds_bucket{" BUSY ",le=\"17.179869184\"}") == 775);
		CHECK(value_of(t, "gilscope_gil_wait_duration_seconds_bucket{" BUSY ",le=\"+Inf\"}") == 779);
		CHECK(value_of(t, "gilscope_gil_wait_duration_seconds_bucket{" BUSY ",le=\"0.000001024\"}") == 0);
	}

	/* labels: escaped, not-UTF-8 bytes replaced; no thread series without threads */
	CHECK(strstr(t, "comm=\"py\\\"we\\\\rd\"") != NULL);
	CHECK(strstr(t, "container=\"docker:ab12\"") != NULL);
	CHECK(!strstr(t, "gilscope_thread_"));
	CHECK(!strstr(t, "_created"));
	CHECK(!strstr(t, "# EOF"));
	CHECK(!strstr(t, "# UNIT"));
	CHECK(strstr(t, "# TYPE gilscope_gil_held_seconds_total counter\n") != NULL);
	CHECK(strstr(t, "# TYPE gilscope_gil_hold_duration_seconds histogram\n") != NULL);
	CHECK_U64(lines_with(t, "# TYPE "), lines_with(t, "# HELP "));
	free(t);

	t = render(f, OM_PROMETHEUS_TEXT, true, &len);
	if (!t)
		return;
	/* live threads only: not the exited one */
	CHECK(value_of(t, "gilscope_thread_state_seconds_total{" BUSY ",tid=\"4243\",thread=\"worker-1\",state=\"held\"}") ==
	      1.31);
	CHECK(value_of(t, "gilscope_thread_gil_holds_total{" BUSY ",tid=\"4242\",thread=\"MainThread\"}") == 260);
	CHECK(value_of(t, "gilscope_thread_gil_waits_total{" BUSY ",tid=\"4243\",thread=\"worker-1\"}") == 262);
	CHECK(!strstr(t, "tid=\"4244\""));
	CHECK(strstr(t, "tid=\"778\",thread=\"n\xef\xbf\xbd\\n1\"") != NULL);
	free(t);

	t = render(f, OM_OPENMETRICS, true, &len);
	if (!t)
		return;
	CHECK(len > 6 && !strcmp(t + len - 6, "# EOF\n"));
	CHECK_U64(lines_with(t, "# EOF"), 1);
	CHECK(strstr(t, "# TYPE gilscope_gil_held_seconds counter\n") != NULL);
	CHECK(strstr(t, "# UNIT gilscope_gil_held_seconds seconds\n") != NULL);
	CHECK(!strstr(t, "# TYPE gilscope_gil_held_seconds_total"));
	CHECK(value_of(t, "gilscope_gil_held_seconds_created{" BUSY "}") == 1764820000.25);
	CHECK(value_of(t, "gilscope_gil_hold_duration_seconds_created{" BUSY "}") == 1764820000.25);
	CHECK(value_of(t, "gilscope_gil_releases_created{" BUSY ",kind=\"forced\"}") == 1764820000.25);
	CHECK(value_of(t, "gilscope_gil_held_seconds_total{" BUSY "}") > 0);
	free(t);

	CHECK_STR(openmetrics__content_type(OM_PROMETHEUS_TEXT), "text/plain; version=0.0.4; charset=utf-8");
	CHECK_STR(openmetrics__content_type(OM_OPENMETRICS),
		  "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

/* ------------------------------------------------------------ histograms */

/* Prometheus's histogram_quantile: linear inside the bucket holding the
 * rank, the first bucket from 0. */
static double prom_quantile(const struct hist_buckets *b, double q)
{
	double rank = q * (double)b->count;

	for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
		if ((double)b->below[i] >= rank) {
			double lo = i ? (double)b->le_ns[i - 1] : 0, plo = i ? (double)b->below[i - 1] : 0;

			return lo + ((double)b->le_ns[i] - lo) * (rank - plo) / ((double)b->below[i] - plo);
		}
	}
	return (double)b->le_ns[HIST_BUCKETS - 1];
}

static void test_buckets(void)
{
	uint64_t slots[GS_HIST_SLOTS];
	struct hist_buckets b;
	unsigned int off_edge = 0, too_wide = 0, misplaced = 0;
	double worst = 0, worst_at = 0;

	CHECK_U64(hist_bucket_le_ns(0), 1024);
	CHECK(hist_bucket_le_ns(HIST_BUCKETS - 1) >= 16000000000ull);
	CHECK(HIST_BUCKETS <= 100);
	for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
		uint64_t le = hist_bucket_le_ns(i);

		off_edge += gs_hist_slot_lo(gs_hist_slot(le)) != le;
		if (i)
			too_wide += le * 5 > hist_bucket_le_ns(i - 1) * 6;   /* 20% at most */
	}
	CHECK_MSG(off_edge == 0, "%u bounds are not slot edges", off_edge);
	CHECK_MSG(too_wide == 0, "%u buckets wider than 20%%", too_wide);

	/* each event counts below exactly the bounds above its slot */
	for (unsigned int s = 0; s < GS_HIST_SLOTS; s += 7) {
		memset(slots, 0, sizeof(slots));
		slots[s] = 3;
		hist_buckets(slots, &b);
		for (unsigned int i = 0; i < HIST_BUCKETS; i++)
			misplaced += b.below[i] != (gs_hist_slot_lo(s) < b.le_ns[i] ? 3u : 0u);
		misplaced += b.count != 3;
	}
	CHECK_MSG(misplaced == 0, "%u bucket counts wrong", misplaced);

	/* a distribution concentrated anywhere from 2 us to 10 s: its median as
	 * Prometheus interpolates it within 15% */
	for (double v = 2000; v < 1e10; v *= 1.037) {
		double q, err;

		memset(slots, 0, sizeof(slots));
		slots[gs_hist_slot((uint64_t)v)] = 1000;
		hist_buckets(slots, &b);
		q = prom_quantile(&b, 0.5);
		err = fabs(q / v - 1);
		if (err > worst)
			worst = err, worst_at = v;
	}
	CHECK_MSG(worst < 0.15, "median off by %.1f%% at %.0f ns", 100 * worst, worst_at);
	/* the 5 ms case itself, spread over 4.9-5.2 ms */
	memset(slots, 0, sizeof(slots));
	for (uint64_t v = 4900000; v <= 5200000; v += 10000)
		slots[gs_hist_slot(v)] += 10;
	hist_buckets(slots, &b);
	CHECK_MSG(fabs(prom_quantile(&b, 0.5) / 5e6 - 1) < 0.15, "5 ms median %.0f ns", prom_quantile(&b, 0.5));
}

/* ------------------------------------------------------- golden, promtool */


static void golden(const char *got, size_t n1, const char *name)
{
	char path[512];
	size_t n2 = 0, at = 0;
	char *want;

	snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
	if (update) {
		FILE *f = fopen(path, "wb");

		CHECK_MSG(f && fwrite(got, 1, n1, f) == n1 && fclose(f) == 0, "cannot write %s", path);
		printf("  wrote %s (%zu bytes)\n", path, n1);
		return;
	}
	want = check_slurp(path, &n2);
	CHECK_MSG(want != NULL, "%s missing (GOLDEN_UPDATE=1 writes it)", path);
	if (want) {
		while (at < n1 && at < n2 && got[at] == want[at])
			at++;
		CHECK_MSG(n1 == n2 && at == n1, "%s differs at byte %zu (%zu vs %zu bytes): got \"%.60s\"", path, at,
			  n1, n2, at < n1 ? got + at : "");
	}
	free(want);
}

static bool have_promtool(void)
{
	return system("command -v promtool >/dev/null 2>&1") == 0;
}

/* promtool check metrics < text: exit 0 and nothing said. */
static void promtool(const char *text, size_t len, const char *what)
{
	char dir[] = "/tmp/gs-om.XXXXXX", in[600], out[600], cmd[1400];
	char *said;
	size_t n = 0;
	FILE *f;
	int rc;

	if (!have_promtool()) {
		printf("  promtool not found: %s not checked with it\n", what);
		return;
	}
	CHECK(mkdtemp(dir) != NULL);
	snprintf(in, sizeof(in), "%s/metrics", dir);
	snprintf(out, sizeof(out), "%s/said", dir);
	CHECK((f = fopen(in, "wb")) != NULL);
	if (!f)
		return;
	CHECK(fwrite(text, 1, len, f) == len);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s > %s 2>&1", in, out);
	rc = system(cmd);
	said = check_slurp(out, &n);
	CHECK_MSG(WIFEXITED(rc) && WEXITSTATUS(rc) == 0 && n == 0, "promtool on %s: status %d: %.*s", what, rc,
		  (int)n, said ? said : "");
	free(said);
	unlink(in);
	unlink(out);
	rmdir(dir);
}

int main(void)
{
	struct py_target pt[2];
	struct live_proc busy, idle, *procs[2] = { &idle, &busy };   /* by PID */
	struct live_skip skip = { .pid = 31, .comm = "python3", .reason = "PyPy: no GIL to trace" };
	struct live_frame f, empty;
	size_t len;
	char *t;

	update = getenv("GOLDEN_UPDATE") && *getenv("GOLDEN_UPDATE") == '1';
	test_buckets();
	proc_busy(&busy, &pt[0]);
	proc_idle(&idle, &pt[1]);
	frame(&f, procs, 2, &skip, 1);
	test_values(&f, &busy);

	/* with threads: a superset of the output without */
	if ((t = render(&f, OM_PROMETHEUS_TEXT, true, &len))) {
		golden(t, len, "serve.prom");
		promtool(t, len, "the text");
		free(t);
	}
	if ((t = render(&f, OM_PROMETHEUS_TEXT, false, &len))) {
		promtool(t, len, "the text without threads");
		free(t);
	}
	if ((t = render(&f, OM_OPENMETRICS, true, &len))) {
		golden(t, len, "serve.om");
		free(t);
	}
	/* no process traced yet: the families, no series */
	frame(&empty, NULL, 0, NULL, 0);
	if ((t = render(&empty, OM_PROMETHEUS_TEXT, true, &len))) {
		CHECK(value_of(t, "gilscope_processes_traced") == 0);
		CHECK(!strstr(t, "pid="));
		promtool(t, len, "an empty frame");
		free(t);
	}
	live_proc__free(&busy);
	live_proc__free(&idle);
	return check_summary("openmetrics");
}
