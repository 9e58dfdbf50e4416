// SPDX-License-Identifier: MIT
/* `gilscope top`'s screen (render/top.c) and its rows (model/top_rows.c)
 * over live frames built by hand, the way the live model builds them
 * (raw interval results -> live_proc__build): the figures of each row
 * against the raw input, the plain key=value lines (and their golden
 * file), and the full-screen view on a pseudo-terminal at 80x24 (its
 * golden screen, keys, sorting and expansion across frames, a resize, the
 * terminal restored on close).
 *
 * GOLDEN_UPDATE=1 writes the golden files anew (then review the diff). */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "check.h"
#include "model/top_rows.h"
#include "render/top.h"
#include <curses.h>
#include <term.h>

#ifndef GOLDEN_DIR
#define GOLDEN_DIR "tests/unit/golden"
#endif

#define MS 1000000ull
#define T0 (5000ull * 1000 * MS)       /* the interval ends at 5001 s */
#define REAL_END 1750000000.25          /* 2025-06-15T15:06:40.250Z */

static struct py_target pt0;          /* a zeroed target */
static bool update;

/* --------------------------------------------------------------- frames */

static void thread(struct gs_result *r, uint32_t tid, const char *name, const uint64_t ns[GS_NR_TSTATES],
		   uint64_t runq_ns, uint64_t holds, uint64_t hold_ns, bool exited)
{
	struct thread_rec *t;

	r->threads = realloc(r->threads, (r->nthreads + 1) * sizeof(*r->threads));
	t = &r->threads[r->nthreads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	snprintf(t->name, sizeof(t->name), "%s", name);
	memcpy(t->st.ns, ns, sizeof(t->st.ns));
	t->st.runq_ns = runq_ns;
	t->st.holds = holds;
	t->st.hold_ns = hold_ns;
	t->st.hold_max_ns = holds ? 2 * hold_ns / holds : 0;
	t->st.wait_max_ns = 9 * MS;
	t->exited = exited;
	r->cap = r->nthreads;
}

/* n events in the slot of ns */
static void hist_put(uint64_t *slots, uint64_t ns, uint64_t n)
{
	unsigned int s = 0;

	while (s + 1 < GS_HIST_SLOTS && gs_hist_slot_lo(s + 1) <= ns)
		s++;
	slots[s] += n;
}

enum kind { GIL_BOUND, IDLE, MIXED };

/* One process's raw result over (t1 - win, t1]. */
static void result(struct gs_result *r, enum kind k, double win_s)
{
	uint64_t *c = r->counters;

	memset(r, 0, sizeof(*r));
	r->t1 = T0 + 1000 * MS;
	r->t0 = r->t1 - (uint64_t)(win_s * 1e9);
	r->trap_ns = -1;
	r->interval_us = 5000;
	r->py_minor = 13;
	if (k == GIL_BOUND) {
		/* two CPU-bound threads time-slicing the GIL, the main thread joins */
		const uint64_t a[GS_NR_TSTATES] = { [GS_HELD_ON] = 480 * MS, [GS_HELD_OFF] = 10 * MS,
						    [GS_WAIT_OFF] = 490 * MS, [GS_NOGIL_ON] = 5 * MS,
						    [GS_NOGIL_OFF] = 15 * MS };
		const uint64_t b[GS_NR_TSTATES] = { [GS_HELD_ON] = 490 * MS, [GS_WAIT_OFF] = 495 * MS,
						    [GS_NOGIL_ON] = 5 * MS, [GS_NOGIL_OFF] = 10 * MS };
		const uint64_t m[GS_NR_TSTATES] = { [GS_NOGIL_OFF] = 1000 * MS };
		const uint64_t e[GS_NR_TSTATES] = { [GS_NOGIL_ON] = 1 * MS };

		thread(r, 4242, "python3", m, 0, 0, 0, false);
		thread(r, 4243, "cpu-0", a, 5 * MS, 100, 490 * MS, false);
		thread(r, 4244, "cpu-1", b, 0, 100, 490 * MS, false);
		thread(r, 0, "", e, 0, 0, 0, true);
		r->threads[3].merged = 3;
		c[GS_C_FORCED] = 190;
		c[GS_C_VOLUNTARY] = 10;
		c[GS_C_ACQUIRES] = 200;
		c[GS_C_HOLD_NS] = 980 * MS;
		c[GS_C_WAIT_NS] = 990 * MS;
		c[GS_C_CONTENDED_NS] = 950 * MS;
		c[GS_C_HANDOFF_NS] = 3 * MS;
		hist_put(r->hist[GS_HIST_HOLD], 5 * MS, 200);
		hist_put(r->hist[GS_HIST_WAIT], 5 * MS, 200);
		hist_put(r->hist[GS_HIST_HANDOFF], 250000, 12);
		r->handoff_max_ns = 400000;
	} else if (k == IDLE) {
		const uint64_t m[GS_NR_TSTATES] = { [GS_NOGIL_ON] = 1 * MS, [GS_NOGIL_OFF] = 499 * MS };

		thread(r, 777, "python3.12", m, 0, 0, 0, false);
	} else {
		/* one thread runs Python 40% of the time, one blocks on I/O */
		const uint64_t a[GS_NR_TSTATES] = { [GS_HELD_ON] = 400 * MS, [GS_NOGIL_OFF] = 600 * MS };
		const uint64_t b[GS_NR_TSTATES] = { [GS_HELD_ON] = 20 * MS, [GS_WAIT_OFF] = 30 * MS,
						    [GS_NOGIL_ON] = 100 * MS, [GS_NOGIL_OFF] = 850 * MS };

		thread(r, 31337, "worker", a, 0, 50, 400 * MS, false);
		thread(r, 31338, "io", b, 20 * MS, 10, 20 * MS, false);
		c[GS_C_VOLUNTARY] = 60;
		c[GS_C_ACQUIRES] = 60;
		c[GS_C_HOLD_NS] = 420 * MS;
		c[GS_C_WAIT_NS] = 30 * MS;
		c[GS_C_CONTENDED_NS] = 30 * MS;
		hist_put(r->hist[GS_HIST_HOLD], 8 * MS, 60);
		hist_put(r->hist[GS_HIST_WAIT], 3 * MS, 10);
	}
}

static struct live_proc *proc(pid_t pid, const char *comm, const char *container, const char *python, enum kind k,
			      double win_s)
{
	struct live_proc *p = calloc(1, sizeof(*p));

	p->pid = pid;
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
	snprintf(p->container, sizeof(p->container), "%s", container);
	snprintf(p->python, sizeof(p->python), "%s", python);
	p->pt = &pt0;
	p->partial = win_s < 1.0;
	result(&p->iv_raw, k, win_s);
	result(&p->cum_raw, k, win_s);
	p->cum_raw.t0 -= 10000 * MS;
	CHECK(live_proc__build(p) == 0);
	return p;
}

static void skip(struct live_skip *s, pid_t pid, const char *comm, const char *container, const char *reason)
{
	memset(s, 0, sizeof(*s));
	s->pid = pid;
	snprintf(s->comm, sizeof(s->comm), "%s", comm);
	snprintf(s->container, sizeof(s->container), "%s", container);
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
}

/* Frame 1: a GIL-bound process, an idle one attached half-way through
 * the interval (in a container with a long name), a mixed one; two
 * skipped. Frame 2: the same, one skip gone and another new. */
static struct live_frame *frame(int n)
{
	struct live_frame *f = calloc(1, sizeof(*f));

	f->seq = (uint64_t)n;
	f->end_s = (T0 + 1000 * MS) / 1e9 + (n - 1);
	f->start_s = f->end_s - 1.0;
	f->end_real_s = REAL_END + (n - 1);
	f->max_procs = 64;
	f->attached_total = 3;
	f->self_cpu_pct = n == 1 ? 1.25 : -1;
	f->nprocs = 3;
	f->procs = calloc(3, sizeof(*f->procs));
	f->procs[0] = proc(777, "python3.12", "web-frontend-7f9c8d-production-eu", "3.12.4", IDLE, 0.5);
	f->procs[1] = proc(4242, "python3", "", "3.13.5", GIL_BOUND, 1.0);
	f->procs[2] = proc(31337, "my app", "", "3.11.9", MIXED, 1.0);
	f->nskips = 2;
	f->skips = calloc(2, sizeof(*f->skips));
	if (n == 1) {
		skip(&f->skips[0], 9000, "python2", "", "Python 2.7: not supported");
		skip(&f->skips[1], 9001, "pypy3", "ci", "PyPy: no \"GIL\" probes");
	} else {
		skip(&f->skips[0], 9001, "pypy3", "ci", "PyPy: no \"GIL\" probes");
		skip(&f->skips[1], 9002, "python3.14t", "", "free-threaded build");
	}
	return f;
}

static void frame_free(struct live_frame *f)
{
	for (size_t i = 0; i < f->nprocs; i++) {
		live_proc__free(f->procs[i]);
		free(f->procs[i]);
	}
	free(f->procs);
	free(f->skips);
	free(f);
}

/* ---------------------------------------------------------------- golden */

static void golden(const char *got, size_t n1, const char *name)
{
	char path[512];
	FILE *f;
	char *want = NULL;
	size_t n2 = 0, at = 0;

	snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
	if (update) {
		f = fopen(path, "wb");
		CHECK_MSG(f && fwrite(got, 1, n1, f) == n1 && fclose(f) == 0, "cannot write %s", path);
		printf("  wrote %s (%zu bytes)\n", path, n1);
		return;
	}
	f = fopen(path, "rb");
	CHECK_MSG(f != NULL, "%s missing (GOLDEN_UPDATE=1 writes it)", path);
	if (!f)
		return;
	want = malloc(1 << 16);
	n2 = fread(want, 1, 1 << 16, f);
	fclose(f);
	while (at < n1 && at < n2 && got[at] == want[at])
		at++;
	CHECK_MSG(n1 == n2 && at == n1, "%s differs at byte %zu (%zu vs %zu bytes): got \"%.60s\"", path, at, n1, n2,
		  at < n1 ? got + at : "");
	free(want);
}

/* ----------------------------------------------------------------- model */

static const struct top_proc_row *row_of(const struct top_view *v, pid_t pid)
{
	long i = top_view__find(v, pid);

	return i >= 0 ? &v->procs[i] : NULL;
}

#define NEAR(a, b) (fabs_((a) - (b)) < 1e-6)
static double fabs_(double x)
{
	return x < 0 ? -x : x;
}

static void test_rows(void)
{
	struct live_frame *f = frame(1);
	struct top_view v;
	const struct top_proc_row *a, *b, *c;
	const struct top_thread_row *t;

	CHECK(top_view__build(&v, f) == 0);
	frame_free(f);   /* the view owns its copies */
	CHECK_U64(v.nprocs, 3);
	CHECK_U64(v.nskips, 2);
	CHECK(NEAR(v.interval_s, 1.0));
	a = row_of(&v, 4242);
	b = row_of(&v, 777);
	c = row_of(&v, 31337);
	CHECK(a && b && c);
	if (!a || !b || !c)
		goto out;
	/* held: 480 + 10 + 490 ms of 1 s; contended 950 ms; waiters 990 ms/s */
	CHECK_MSG(NEAR(a->held_pct, 98.0), "%f", a->held_pct);
	CHECK_MSG(NEAR(a->contended_pct, 95.0), "%f", a->contended_pct);
	CHECK_MSG(NEAR(a->avg_waiters, 0.99), "%f", a->avg_waiters);
	CHECK_U64(a->waits, 200);
	CHECK_MSG(NEAR(a->waits_per_s, 200), "%f", a->waits_per_s);
	CHECK_U64(a->handoffs, 12);
	/* on-CPU: 480 + 490 + 5 + 5 + 1 ms */
	CHECK_MSG(NEAR(a->cores, 0.981), "%f", a->cores);
	/* the waits' slot: 5 ms, within the longest wait (9 ms) */
	CHECK_MSG(a->wait_p99_us >= 4000 && a->wait_p99_us <= 9000, "%f", a->wait_p99_us);
	CHECK_STR(a->verdict, "gil-bound");
	CHECK_STR(a->python, "3.13.5");
	CHECK_STR(a->container, "");
	/* the idle process: half an interval, nothing waited */
	CHECK(b->partial);
	CHECK(NEAR(b->window_s, 0.5));
	CHECK(NEAR(b->held_pct, 0));
	CHECK(NEAR(b->waits_per_s, 0) && NEAR(b->wait_p99_us, 0));
	CHECK_STR(b->verdict, "idle");
	CHECK_STR(b->container, "web-frontend-7f9c8d-production-eu");
	/* 10 waits in 1 s */
	CHECK(NEAR(c->waits_per_s, 10));
	CHECK_MSG(NEAR(c->held_pct, 42.0), "%f", c->held_pct);

	/* threads, busiest first: cpu-1 (985 ms) cpu-0 (975 ms), then the
	 * merged row (1 ms), then the main thread (0) */
	CHECK_U64(a->nthreads, 4);
	CHECK_U64(a->threads[0].tid, 4244);
	CHECK_U64(a->threads[1].tid, 4243);
	CHECK_U64(a->threads[2].merged, 3);
	CHECK_U64(a->threads[3].tid, 4242);
	t = &a->threads[1];
	/* held counts held off-CPU; off-CPU leaves out the runnable part */
	CHECK_MSG(NEAR(t->held_pct, 49.0), "%f", t->held_pct);
	CHECK_MSG(NEAR(t->native_pct, 0.5), "%f", t->native_pct);
	CHECK_MSG(NEAR(t->wait_pct, 49.0), "%f", t->wait_pct);
	CHECK_MSG(NEAR(t->offcpu_pct, 1.0), "%f", t->offcpu_pct);
	CHECK_MSG(NEAR(t->runq_pct, 0.5), "%f", t->runq_pct);
	CHECK(NEAR(t->held_pct + t->native_pct + t->wait_pct + t->offcpu_pct + t->runq_pct, 100.0));
	CHECK(NEAR(a->threads[3].offcpu_pct, 100.0));
	/* the idle process's thread over its half interval */
	CHECK_MSG(NEAR(b->threads[0].offcpu_pct, 99.8), "%f", b->threads[0].offcpu_pct);

	/* sorting: each key's natural direction, reverse, ties by PID */
	top_view__sort(&v, TOP_SORT_HELD, false);
	CHECK(v.procs[0].pid == 4242 && v.procs[1].pid == 31337 && v.procs[2].pid == 777);
	top_view__sort(&v, TOP_SORT_HELD, true);
	CHECK(v.procs[0].pid == 777 && v.procs[2].pid == 4242);
	top_view__sort(&v, TOP_SORT_PID, false);
	CHECK(v.procs[0].pid == 777 && v.procs[1].pid == 4242 && v.procs[2].pid == 31337);
	top_view__sort(&v, TOP_SORT_PID, true);
	CHECK(v.procs[0].pid == 31337 && v.procs[2].pid == 777);
	top_view__sort(&v, TOP_SORT_WAITS, false);
	CHECK(v.procs[0].pid == 4242 && v.procs[1].pid == 31337 && v.procs[2].pid == 777);
	top_view__sort(&v, TOP_SORT_CORES, false);
	CHECK(v.procs[0].pid == 4242 && v.procs[2].pid == 777);
	top_view__sort(&v, TOP_SORT_P99, false);
	CHECK(v.procs[0].pid == 4242 && v.procs[1].pid == 31337);
	/* a tie (no contention in 777; give 31337 none either): by PID */
	v.procs[top_view__find(&v, 31337)].contended_pct = 0;
	top_view__sort(&v, TOP_SORT_CONTENDED, false);
	CHECK(v.procs[0].pid == 4242 && v.procs[1].pid == 777 && v.procs[2].pid == 31337);
	CHECK(top_sort__descending(TOP_SORT_HELD) && !top_sort__descending(TOP_SORT_PID));
out:
	top_view__free(&v);
	CHECK(v.procs == NULL && v.nprocs == 0);
}

/* ----------------------------------------------------------------- plain */

/* The value of key in the line of pid=PID (the first line with it). */
static bool value_of(const char *text, pid_t pid, const char *key, char *out, size_t n)
{
	char want[32], k[64];
	const char *line = text;

	snprintf(want, sizeof(want), " pid=%d ", (int)pid);
	snprintf(k, sizeof(k), " %s=", key);
	while (line && *line) {
		const char *end = strchr(line, '\n'), *at;
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[1024];

		snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
		if (strstr(buf, want) && (at = strstr(buf, k))) {
			at += strlen(k);
			snprintf(out, n, "%.*s", (int)strcspn(at, " "), at);
			return true;
		}
		line = end ? end + 1 : NULL;
	}
	return false;
}

static size_t count_lines(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_plain(void)
{
	char *text = NULL, err[256] = "", v[64];
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	struct top_ui *u = NULL;
	struct live_frame *f;

	CHECK(top_ui__open(&u, false, NULL, err, sizeof(err)) == -EINVAL && u == NULL && *err);
	CHECK(top_ui__open(&u, false, mem, err, sizeof(err)) == 0 && u);
	if (!u)
		return;
	CHECK(top_ui__keys(u) == 0);
	f = frame(1);
	top_ui__draw(u, f);
	frame_free(f);
	/* flushed with the frame */
	CHECK_MSG(len > 0 && count_lines(text, "\n") == 5, "%zu bytes, %zu lines", len, count_lines(text, "\n"));
	f = frame(2);
	top_ui__draw(u, f);
	frame_free(f);
	top_ui__close(u);
	top_ui__close(u);   /* a second close is a no-op */
	top_ui__draw(u, NULL);   /* closed: ignored */
	fclose(mem);

	/* frame 1: 3 processes, 2 skips; frame 2: 3 processes and the new skip */
	CHECK_U64(count_lines(text, "\n"), 9);
	CHECK_U64(count_lines(text, "time=2025-06-15T15:06:40.250Z "), 5);
	CHECK_U64(count_lines(text, "time=2025-06-15T15:06:41.250Z "), 4);
	CHECK_U64(count_lines(text, " pid=9001 "), 1);
	CHECK_U64(count_lines(text, " pid=9002 "), 1);
	CHECK_U64(count_lines(text, " skipped="), 3);
	CHECK(value_of(text, 4242, "held_pct", v, sizeof(v)));
	CHECK_STR(v, "98.0");
	CHECK(value_of(text, 4242, "waits_per_s", v, sizeof(v)));
	CHECK_STR(v, "200");
	CHECK(value_of(text, 4242, "verdict", v, sizeof(v)));
	CHECK_STR(v, "gil-bound");
	CHECK(value_of(text, 4242, "contended_pct", v, sizeof(v)));
	CHECK_STR(v, "95.0");
	CHECK(value_of(text, 4242, "handoffs", v, sizeof(v)));
	CHECK_STR(v, "12");
	CHECK(value_of(text, 4242, "container", v, sizeof(v)));
	CHECK_STR(v, "");
	CHECK(value_of(text, 777, "verdict", v, sizeof(v)));
	CHECK_STR(v, "idle");
	CHECK(value_of(text, 777, "waits_per_s", v, sizeof(v)));
	CHECK_STR(v, "0");
	CHECK(value_of(text, 31337, "waits_per_s", v, sizeof(v)));
	CHECK_STR(v, "10");
	/* a value with a space or quotes is quoted */
	CHECK(strstr(text, " comm=\"my app\" ") != NULL);
	CHECK(strstr(text, " skipped=\"PyPy: no \\\"GIL\\\" probes\"\n") != NULL);
	golden(text, len, "top.plain");
	free(text);
}

/* ------------------------------------------------------------ full screen */

struct pty {
	int master, slave;
	FILE *in, *out;
	char *seen;          /* everything the view wrote */
	size_t nseen;
};

static bool pty_open(struct pty *p, int rows, int cols)
{
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };

	memset(p, 0, sizeof(*p));
	if (openpty(&p->master, &p->slave, NULL, NULL, &ws))
		return false;
	fcntl(p->master, F_SETFL, O_NONBLOCK);
	p->in = fdopen(dup(p->slave), "r");
	p->out = fdopen(dup(p->slave), "w");
	return p->in && p->out;
}

/* Read what the view wrote so far (the pty would fill up otherwise). */
static void pty_drain(struct pty *p)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(p->master, buf, sizeof(buf))) > 0) {
		p->seen = realloc(p->seen, p->nseen + (size_t)n + 1);
		memcpy(p->seen + p->nseen, buf, (size_t)n);
		p->nseen += (size_t)n;
		p->seen[p->nseen] = 0;
	}
}

static void pty_keys(struct pty *p, const char *keys)
{
	CHECK(write(p->master, keys, strlen(keys)) == (ssize_t)strlen(keys));
	usleep(20000);
}

static void pty_close(struct pty *p)
{
	fclose(p->in);
	fclose(p->out);
	close(p->slave);
	close(p->master);
	free(p->seen);
}

/* Screen line y as shown, trailing blanks cut. */
static const char *screen_line(int y, char *buf, int n)
{
	int len;

	buf[0] = 0;
	if (mvinnstr(y, 0, buf, n - 1) == ERR)
		return buf;
	len = (int)strlen(buf);
	while (len > 0 && buf[len - 1] == ' ')
		buf[--len] = 0;
	return buf;
}

/* The whole screen, one text line per screen line. */
static char *screen_text(size_t *len)
{
	char *text = NULL, line[512];
	FILE *m = open_memstream(&text, len);

	for (int y = 0; y < LINES; y++)
		fprintf(m, "%s\n", screen_line(y, line, sizeof(line)));
	fclose(m);
	return text;
}

/* The screen line that starts with pid (right-aligned), -1 if none. */
static int line_of_pid(pid_t pid)
{
	char want[16], line[512];

	snprintf(want, sizeof(want), "%d ", (int)pid);
	for (int y = 0; y < LINES; y++) {
		const char *l = screen_line(y, line, sizeof(line));

		l += strspn(l, " ");
		if (!strncmp(l, want, strlen(want)))
			return y;
	}
	return -1;
}

static bool screen_has(const char *s)
{
	char line[512];

	for (int y = 0; y < LINES; y++)
		if (strstr(screen_line(y, line, sizeof(line)), s))
			return true;
	return false;
}

static bool selected(int y)
{
	return y >= 0 && (mvinch(y, 0) & A_REVERSE) && (mvinch(y, COLS - 1) & A_REVERSE);
}

/* Each process row ends with its verdict on the same line: none wrapped. */
static void check_rows_whole(const char *when)
{
	static const struct { pid_t pid; const char *verdict; } rows[] = {
		{ 4242, "gil-bound" }, { 777, "idle" }, { 31337, NULL },
	};
	char line[512];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int y = line_of_pid(rows[i].pid);
		const char *l;

		CHECK_MSG(y >= 0, "%s: no row for PID %d", when, (int)rows[i].pid);
		if (y < 0 || !rows[i].verdict)
			continue;
		l = screen_line(y, line, sizeof(line));
		CHECK_MSG(strlen(l) >= strlen(rows[i].verdict) &&
				  !strcmp(l + strlen(l) - strlen(rows[i].verdict), rows[i].verdict),
			  "%s: row of %d does not end with its verdict: \"%s\"", when, (int)rows[i].pid, l);
	}
	for (int y = 0; y < LINES; y++) {
		const char *l = screen_line(y, line, sizeof(line));

		CHECK_MSG(strncmp(l, "gil-bound", 9) && strncmp(l, "idle", 4), "%s: line %d is a wrapped end: \"%s\"",
			  when, y, l);
	}
}

static void test_screen(void)
{
	struct pty p;
	struct top_ui *u = NULL;
	struct live_frame *f;
	char err[256] = "", line[512], *rmcup, *text;
	size_t len;
	int y, y2;

	if (!pty_open(&p, 24, 80)) {
		CHECK_MSG(false, "no pseudo-terminal: %s", strerror(errno));
		return;
	}
	/* no terminal type: refused with a reason, nothing drawn */
	unsetenv("TERM");
	CHECK(top_ui__open_term(&u, p.in, p.out, err, sizeof(err)) == -ENOTTY && !u && *err);
	setenv("TERM", "xterm", 1);
	CHECK(top_ui__open_term(&u, p.in, p.out, err, sizeof(err)) == 0 && u);
	if (!u) {
		printf("  %s\n", err);
		pty_close(&p);
		return;
	}
	CHECK(top_ui__open_term(&(struct top_ui *){ NULL }, p.in, p.out, err, sizeof(err)) == -EBUSY);
	rmcup = tigetstr("rmcup");
	rmcup = rmcup && rmcup != (char *)-1 ? strdup(rmcup) : NULL;
	pty_drain(&p);
	CHECK(LINES == 24 && COLS == 80);
	CHECK(screen_has("waiting for the first interval"));

	f = frame(1);
	top_ui__draw(u, f);
	frame_free(f);
	pty_drain(&p);
	/* the header, every column, every process, the skips below */
	CHECK(strstr(screen_line(0, line, sizeof(line)), "traced 3  skipped 2  own CPU 1.2%") != NULL);
	for (const char **c = (const char *[]){ "PID", "NAME", "PY", "HELD", "CONT", "WTRS", "HOFFS", "WAIT/S", "P99",
						"CORES", "VERDICT", NULL }; *c; c++)
		CHECK_MSG(strstr(screen_line(2, line, sizeof(line)), *c) != NULL, "column %s", *c);
	check_rows_whole("80x24");
	CHECK(screen_has(" python3.12@w 3.12 "));   /* the container, cut to the column */
	CHECK(screen_has("NOT TRACED (2)") && screen_has("Python 2.7: not supported"));
	/* sorted by held, the busiest selected */
	y = line_of_pid(4242);
	CHECK(y == 3 && selected(y));
	CHECK(line_of_pid(31337) == 4 && line_of_pid(777) == 5);
	CHECK(strstr(screen_line(y, line, sizeof(line)), " 98.0 95.0 0.99    12    200 5.0ms  0.98 gil-bound") != NULL);

	/* j: the next row; t: its threads; Enter: folded again */
	pty_keys(&p, "j");
	CHECK(top_ui__keys(u) == 0);
	CHECK(selected(line_of_pid(31337)) && !selected(line_of_pid(4242)));
	pty_keys(&p, "kt");
	CHECK(top_ui__keys(u) == 0);
	pty_drain(&p);
	y = line_of_pid(4242);
	CHECK(selected(y));
	CHECK_MSG(strstr(screen_line(y + 1, line, sizeof(line)), "TID") != NULL, "\"%s\"", line);
	CHECK_MSG(strstr(screen_line(y + 2, line, sizeof(line)), "4244 cpu-1") != NULL, "\"%s\"", line);
	CHECK_MSG(strstr(line, " 49.0 ") && strstr(line, " 49.5 "), "\"%s\"", line);   /* held 490 ms, wait 495 ms */
	CHECK(strstr(screen_line(y + 4, line, sizeof(line)), "(3 exited)") != NULL);
	text = screen_text(&len);
	golden(text, len, "top_screen.txt");
	free(text);

	/* n: by PID (low first), n again: high first; the selection stays
	 * on its process */
	pty_keys(&p, "n");
	top_ui__keys(u);
	CHECK(line_of_pid(777) < line_of_pid(4242) && line_of_pid(4242) < line_of_pid(31337));
	pty_keys(&p, "n");
	top_ui__keys(u);
	pty_drain(&p);
	CHECK(line_of_pid(31337) < line_of_pid(4242) && line_of_pid(4242) < line_of_pid(777));
	CHECK(selected(line_of_pid(4242)));
	/* the next frame keeps the order, the selection and the expansion */
	f = frame(2);
	top_ui__draw(u, f);
	frame_free(f);
	pty_drain(&p);
	y = line_of_pid(4242);
	CHECK(line_of_pid(31337) < y && y < line_of_pid(777) && selected(y));
	CHECK(strstr(screen_line(y + 1, line, sizeof(line)), "TID") != NULL);
	CHECK(strstr(screen_line(0, line, sizeof(line)), "(#2)") && strstr(line, "own CPU ?"));
	/* an arrow key (the terminal's own sequence) moves too */
	{
		const char *down = tigetstr("kcud1");

		if (down && down != (char *)-1) {
			pty_keys(&p, down);
			top_ui__keys(u);
			CHECK(selected(line_of_pid(777)));
		}
	}

	/* narrower: the lines are cut at the edge, not wrapped */
	{
		struct winsize ws = { .ws_row = 20, .ws_col = 60 };

		CHECK(ioctl(p.master, TIOCSWINSZ, &ws) == 0);
		raise(SIGWINCH);
		usleep(20000);
		top_ui__keys(u);
		pty_drain(&p);
		CHECK_MSG(LINES == 20 && COLS == 60, "%dx%d", COLS, LINES);
		y2 = line_of_pid(4242);
		CHECK(y2 >= 0 && strlen(screen_line(y2, line, sizeof(line))) <= 60);
		CHECK(line_of_pid(777) >= 0 && line_of_pid(31337) >= 0);
		for (y = 0; y < LINES; y++)
			CHECK_MSG(strncmp(screen_line(y, line, sizeof(line)), "il-bound", 8) &&
				  strncmp(line, "bound", 5), "line %d wrapped: \"%s\"", y, line);
	}

	pty_keys(&p, "q");
	CHECK(top_ui__keys(u) == 1);
	top_ui__close(u);
	top_ui__close(u);
	pty_drain(&p);
	/* the terminal left as it was: the alternate screen left last */
	if (rmcup) {
		const char *at = p.seen ? strstr(p.seen, rmcup) : NULL;

		CHECK_MSG(at != NULL, "rmcup not written");
		CHECK(at && !strstr(at + strlen(rmcup), "\033[?1049h"));
	}
	free(rmcup);
	/* a new view may open once the first is closed */
	CHECK(top_ui__open_term(&u, p.in, p.out, err, sizeof(err)) == 0);
	top_ui__close(u);
	pty_close(&p);
}

int main(void)
{
	update = getenv("GOLDEN_UPDATE") && *getenv("GOLDEN_UPDATE") == '1';
	test_rows();
	test_plain();
	test_screen();
	return check_summary("test_top");
}
