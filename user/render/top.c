// SPDX-License-Identifier: MIT
/* `gilscope top`'s screen (docs/top.md): the full-screen view and the
 * plain key=value lines. Everything shown comes from model/top_rows.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "model/top_rows.h"
#include "render/top.h"
/* last: its macros (erase, clear, timeout...) must not meet other headers */
#include <curses.h>

struct top_ui {
	bool tty;
	bool closed;
	FILE *plain;
	/* full-screen */
	SCREEN *scr;
	FILE *term;
	struct top_view view;
	bool have_view;
	enum top_sort sort;
	bool reverse;
	pid_t sel_pid;                /* the selected process, 0 none */
	size_t sel;                   /* its row */
	pid_t *expanded;              /* processes shown with their threads */
	size_t nexpanded, capexpanded;
	size_t scroll;                /* first line of the list shown */
	/* plain: the skipped PIDs of the previous frame */
	pid_t *skipped;
	size_t nskipped;
	struct top_ui *next_closed;
};

/* the full-screen view not yet closed, for the atexit handler */
static struct top_ui *open_tty;
static bool atexit_installed;
/* closed handles stay allocated (a second close is a no-op) and reachable */
static struct top_ui *closed_uis;

/* ------------------------------------------------------------ formatting */

/* Human count, at most 5 characters: 999, 12.3k, 123k, 1.2M. */
static const char *count5(char *b, size_t n, double v)
{
	if (v < 9999.5)
		snprintf(b, n, "%.0f", v);
	else if (v < 99950)
		snprintf(b, n, "%.1fk", v / 1e3);
	else if (v < 999500)
		snprintf(b, n, "%.0fk", v / 1e3);
	else if (v < 9.995e6)
		snprintf(b, n, "%.1fM", v / 1e6);
	else
		snprintf(b, n, "%.0fM", v / 1e6);
	return b;
}

/* Human duration from us, at most 5 characters: 850us, 5.1ms, 120ms,
 * 1.20s, 12.0s, 120s; "-" for none. */
static const char *dur5(char *b, size_t n, double us, bool none)
{
	if (none)
		snprintf(b, n, "-");
	else if (us < 999.5)
		snprintf(b, n, "%.0fus", us);
	else if (us < 9950)
		snprintf(b, n, "%.1fms", us / 1e3);
	else if (us < 999500)
		snprintf(b, n, "%.0fms", us / 1e3);
	else if (us < 9.995e6)
		snprintf(b, n, "%.2fs", us / 1e6);
	else if (us < 99.95e6)
		snprintf(b, n, "%.1fs", us / 1e6);
	else
		snprintf(b, n, "%.0fs", us / 1e6);
	return b;
}

/* A percentage in 4 characters: "97.1", " 5.0", " 100". */
static const char *pct4(char *b, size_t n, double v)
{
	if (v >= 99.95)
		snprintf(b, n, "%4.0f", v);
	else
		snprintf(b, n, "%4.1f", v);
	return b;
}

/* A figure in 4 characters: "0.99", "12.3", " 123". */
static const char *num4(char *b, size_t n, double v)
{
	if (v < 9.995)
		snprintf(b, n, "%4.2f", v);
	else if (v < 99.95)
		snprintf(b, n, "%4.1f", v);
	else
		snprintf(b, n, "%4.0f", v);
	return b;
}

/* "comm@container", or comm on the host */
static const char *proc_name(char *b, size_t n, const char *comm, const char *container)
{
	if (*container)
		snprintf(b, n, "%s@%s", comm, container);
	else
		snprintf(b, n, "%s", comm);
	return b;
}

/* CLOCK_REALTIME seconds as ISO 8601 UTC with milliseconds. */
static const char *utc_time(char *b, size_t n, double real_s)
{
	time_t secs = real_s > 0 ? (time_t)real_s : 0;
	long ms = real_s > 0 ? (long)((real_s - (double)secs) * 1e3 + 0.5) : 0;
	struct tm tm;

	if (ms >= 1000) {
		secs++;
		ms -= 1000;
	}
	if (!gmtime_r(&secs, &tm)) {
		snprintf(b, n, "?");
		return b;
	}
	snprintf(b, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	return b;
}

/* ----------------------------------------------------------------- plain */

static bool bare_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && c != '"' && c != '=' && c != '\\';
}

/* A logfmt value: bare when it can be, else quoted ("\"" and "\\"
 * escaped, control bytes as '?'); an empty value stays empty. */
static void plain_value(FILE *f, const char *s)
{
	bool bare = true;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (!bare_char(*p))
			bare = false;
	if (bare) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		fputc(*p < ' ' || *p == 0x7f ? '?' : *p, f);
	}
	fputc('"', f);
}

static void plain_kv(FILE *f, const char *key, const char *value)
{
	fprintf(f, " %s=", key);
	plain_value(f, value);
}

static void plain_proc(FILE *f, const char *when, const struct top_proc_row *p)
{
	fprintf(f, "time=%s pid=%d", when, (int)p->pid);
	plain_kv(f, "comm", p->comm);
	plain_kv(f, "container", p->container);
	plain_kv(f, "python", p->python);
	fprintf(f, " held_pct=%.1f contended_pct=%.1f waiters=%.2f handoffs=%llu waits_per_s=%.0f "
		   "wait_p99_us=%.0f cores=%.2f",
		p->held_pct, p->contended_pct, p->avg_waiters, (unsigned long long)p->handoffs, p->waits_per_s,
		p->wait_p99_us, p->cores);
	plain_kv(f, "verdict", p->verdict);
	fputc('\n', f);
}

static void plain_skip(FILE *f, const char *when, const struct live_skip *s)
{
	fprintf(f, "time=%s pid=%d", when, (int)s->pid);
	plain_kv(f, "comm", s->comm);
	plain_kv(f, "container", s->container);
	plain_kv(f, "skipped", s->reason);
	fputc('\n', f);
}

static bool pid_in(const pid_t *set, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == pid)
			return true;
	return false;
}

/* Every process's line, then the skips new since the previous frame. */
static void plain_frame(struct top_ui *u, const struct top_view *v)
{
	char when[64];
	pid_t *now = NULL;

	utc_time(when, sizeof(when), v->end_real_s);
	for (size_t i = 0; i < v->nprocs; i++)
		plain_proc(u->plain, when, &v->procs[i]);
	if (v->nskips)
		now = malloc(v->nskips * sizeof(*now));
	for (size_t i = 0; i < v->nskips; i++) {
		if (!pid_in(u->skipped, u->nskipped, v->skips[i].pid))
			plain_skip(u->plain, when, &v->skips[i]);
		if (now)
			now[i] = v->skips[i].pid;
	}
	free(u->skipped);
	u->skipped = now;
	u->nskipped = now ? v->nskips : 0;
	fflush(u->plain);
}

/* ----------------------------------------------------------- full screen */

#define HEAD_LINES 3     /* title, sort and keys, column names */
#define NAMEW_MIN   8
#define NAMEW_MAX   40

/* The fixed columns of a process row besides PID and NAME: the spaces,
 * PY to CORES; then VERDICT, given 15 before NAME takes the rest. */
#define ROW_FIXED  (1 + 1 + 5 + 1 + 4 + 1 + 4 + 1 + 4 + 1 + 5 + 1 + 6 + 1 + 5 + 1 + 5 + 1)
#define VERDICT_W  15

/* One line of text at y, clipped at the screen's edge (never wrapped),
 * bytes that do not print as '?'; fill: the attribute runs to the edge. */
static void put_line(int y, attr_t a, bool fill, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	if (y < 0 || y >= LINES || COLS <= 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	for (int i = 0; i < n; i++)
		if ((unsigned char)buf[i] < ' ' || (unsigned char)buf[i] >= 0x7f)
			buf[i] = '?';
	if (fill)
		while (n < COLS && n < (int)sizeof(buf) - 1)
			buf[n++] = ' ';
	buf[n] = 0;
	attrset(a);
	mvaddnstr(y, 0, buf, COLS);
	attrset(A_NORMAL);
}

/* The PID column: as wide as the largest PID shown, at least 5. */
static int pid_width(const struct top_view *v)
{
	int w = 5;

	for (size_t i = 0; i < v->nprocs; i++) {
		char b[16];
		int n = snprintf(b, sizeof(b), "%d", (int)v->procs[i].pid);

		if (n > w)
			w = n;
	}
	return w;
}

static int name_width(int pidw)
{
	int w = COLS - pidw - ROW_FIXED - VERDICT_W;

	return w < NAMEW_MIN ? NAMEW_MIN : w > NAMEW_MAX ? NAMEW_MAX : w;
}

/* "3.13.5" -> "3.13": the column has room for major.minor */
static void short_version(char *b, size_t n, const char *v)
{
	const char *dot = strchr(v, '.');
	size_t len;

	dot = dot ? strchr(dot + 1, '.') : NULL;
	len = dot ? (size_t)(dot - v) : strlen(v);
	snprintf(b, n, "%.*s", (int)len, v);
}

static void draw_title(const struct top_ui *u, size_t first, size_t shown, size_t total)
{
	const struct top_view *v = &u->view;
	char cpu[16], rows[48] = "";

	if (v->self_cpu_pct >= 0)
		snprintf(cpu, sizeof(cpu), "%.1f%%", v->self_cpu_pct);
	else
		snprintf(cpu, sizeof(cpu), "?");
	if (shown < total)
		snprintf(rows, sizeof(rows), "  lines %zu-%zu of %zu", first + 1, first + shown, total);
	put_line(0, A_BOLD, false, "gilscope top%s %s  interval %.2f s (#%llu)  traced %zu  skipped %zu  own CPU %s%s",
		 v->host_wide ? " -a" : "", v->light ? "light" : "exact", v->interval_s, (unsigned long long)v->seq, v->nprocs, v->nskips, cpu,
		 rows);
	put_line(1, A_NORMAL, false, "sort: %s, %s  |  q quit  j/k move  t threads  sort: h c w p u n",
		 top_sort__name(u->sort), top_sort__descending(u->sort) != u->reverse ? "high first" : "low first");
}

static void draw_columns(int pidw, int namew)
{
	put_line(2, A_REVERSE, true, "%*s %-*s %-5s %4s %4s %4s %5s %6s %5s %5s %s", pidw, "PID", namew, "NAME",
		 "PY", "HELD", "CONT", "WTRS", "HOFFS", "WAIT/S", "P99", "CORES", "VERDICT");
}

static void draw_proc(int y, const struct top_proc_row *p, bool selected, int pidw, int namew)
{
	char name[96], py[16], held[8], cont[8], wtrs[8], hoffs[8], waits[8], p99[8];

	proc_name(name, sizeof(name), p->comm, p->container);
	short_version(py, sizeof(py), p->python);
	put_line(y, selected ? A_REVERSE : A_NORMAL, selected, "%*d %-*.*s %-5.5s %s %s %s %5s %6s %5s %5.2f %s",
		 pidw, (int)p->pid, namew, namew, name, py, pct4(held, sizeof(held), p->held_pct),
		 pct4(cont, sizeof(cont), p->contended_pct), num4(wtrs, sizeof(wtrs), p->avg_waiters),
		 count5(hoffs, sizeof(hoffs), (double)p->handoffs), count5(waits, sizeof(waits), p->waits_per_s),
		 dur5(p99, sizeof(p99), p->wait_p99_us, p->waits == 0), p->cores, p->verdict);
}

#define THREAD_FMT "  %7s %-15.15s %7s %7s %7s %7s %7s%s"

static void draw_thread_head(int y)
{
	put_line(y, A_BOLD, false, THREAD_FMT, "TID", "THREAD", "held%", "native%", "wait%", "offcpu%", "runq%", "");
}

static void draw_thread(int y, const struct top_thread_row *t)
{
	char tid[16], name[32], c[5][16];

	if (t->merged) {
		snprintf(tid, sizeof(tid), "-");
		snprintf(name, sizeof(name), "(%u exited)", t->merged);
	} else {
		snprintf(tid, sizeof(tid), "%u", t->tid);
		snprintf(name, sizeof(name), "%s", t->name);
	}
	snprintf(c[0], sizeof(c[0]), "%.1f", t->held_pct);
	snprintf(c[1], sizeof(c[1]), "%.1f", t->native_pct);
	snprintf(c[2], sizeof(c[2]), "%.1f", t->wait_pct);
	snprintf(c[3], sizeof(c[3]), "%.1f", t->offcpu_pct);
	snprintf(c[4], sizeof(c[4]), "%.1f", t->runq_pct);
	put_line(y, A_NORMAL, false, THREAD_FMT, tid, name, c[0], c[1], c[2], c[3], c[4],
		 t->exited && !t->merged ? "  exited" : "");
}

/* The list under the column names: process rows, and under each
 * expanded one its thread rows (busiest first, as many as fit). */
enum line_kind { LINE_PROC, LINE_THREAD_HEAD, LINE_THREAD, LINE_MORE, LINE_NONE };

struct line {
	enum line_kind kind;
	size_t proc, idx;   /* idx: a thread row, or for LINE_MORE how many more */
};

static bool is_expanded(const struct top_ui *u, pid_t pid)
{
	return pid_in(u->expanded, u->nexpanded, pid);
}

/* The lines of the list; *sel_first, *sel_last: the selected process's. */
static struct line *list_lines(const struct top_ui *u, size_t room, size_t *n, size_t *sel_first, size_t *sel_last)
{
	const struct top_view *v = &u->view;
	size_t cap = 0, len = 0;
	struct line *l = NULL;
	/* an expanded process shows as many threads as fit with its row */
	size_t max_threads = room > 3 ? room - 3 : 1;

	*sel_first = *sel_last = 0;
	for (size_t i = 0; i < v->nprocs; i++) {
		const struct top_proc_row *p = &v->procs[i];
		size_t want = 1;
		size_t shown = 0;

		if (is_expanded(u, p->pid)) {
			shown = p->nthreads <= max_threads ? p->nthreads : max_threads - 1;
			want += 1 + (p->nthreads ? shown : 1) + (shown < p->nthreads ? 1 : 0);
		}
		if (len + want > cap) {
			size_t ncap = (cap ? cap * 2 : 64) + want;
			struct line *nl = realloc(l, ncap * sizeof(*l));

			if (!nl)
				break;
			l = nl;
			cap = ncap;
		}
		if (i == u->sel)
			*sel_first = len;
		l[len++] = (struct line){ LINE_PROC, i, 0 };
		if (want > 1) {
			l[len++] = (struct line){ LINE_THREAD_HEAD, i, 0 };
			if (!p->nthreads)
				l[len++] = (struct line){ LINE_NONE, i, 0 };
			for (size_t t = 0; t < shown; t++)
				l[len++] = (struct line){ LINE_THREAD, i, t };
			if (shown < p->nthreads)
				l[len++] = (struct line){ LINE_MORE, i, p->nthreads - shown };
		}
		if (i == u->sel)
			*sel_last = len - 1;
	}
	*n = len;
	return l;
}

/* The first line shown: the selected process's row in view, and its
 * threads as far as they fit. */
static size_t scroll_to(size_t scroll, size_t n, size_t room, size_t first, size_t last)
{
	if (last >= scroll + room)
		scroll = last - room + 1;
	if (first < scroll)
		scroll = first;
	if (n <= room)
		return 0;
	return scroll > n - room ? n - room : scroll;
}

static void draw_skips(const struct top_view *v, int y)
{
	size_t n = 0;

	if (!v->nskips || y + 1 >= LINES)
		return;
	put_line(y++, A_BOLD, false, "NOT TRACED (%zu)", v->nskips);
	for (; n < v->nskips && y < LINES; n++, y++) {
		const struct live_skip *s = &v->skips[n];
		char name[96];

		if (y == LINES - 1 && n + 1 < v->nskips) {
			put_line(y, A_NORMAL, false, "  ... and %zu more", v->nskips - n);
			return;
		}
		put_line(y, A_NORMAL, false, "  %7d %-20.20s %s", (int)s->pid,
			 proc_name(name, sizeof(name), s->comm, s->container), s->reason);
	}
}

static void draw_screen(struct top_ui *u)
{
	const struct top_view *v = &u->view;
	size_t room = LINES > HEAD_LINES ? (size_t)(LINES - HEAD_LINES) : 0;
	size_t n = 0, first = 0, last = 0;
	struct line *l;
	int pidw, namew, y = HEAD_LINES;

	erase();
	if (!u->have_view) {
		put_line(0, A_BOLD, false, "gilscope top");
		put_line(1, A_NORMAL, false, "waiting for the first interval...  q quit");
		refresh();
		return;
	}
	pidw = pid_width(v);
	namew = name_width(pidw);
	l = list_lines(u, room, &n, &first, &last);
	u->scroll = scroll_to(u->scroll, n, room, first, last);
	draw_title(u, u->scroll, n < room ? n : room, n);
	draw_columns(pidw, namew);
	if (!v->nprocs)
		put_line(y++, A_NORMAL, false, "  no Python process traced");
	for (size_t i = u->scroll; i < n && y < LINES; i++, y++) {
		const struct top_proc_row *p = &v->procs[l[i].proc];

		switch (l[i].kind) {
		case LINE_PROC:
			draw_proc(y, p, l[i].proc == u->sel, pidw, namew);
			break;
		case LINE_THREAD_HEAD:
			draw_thread_head(y);
			break;
		case LINE_THREAD:
			draw_thread(y, &p->threads[l[i].idx]);
			break;
		case LINE_MORE:
			put_line(y, A_NORMAL, false, "  ... %zu more threads", l[i].idx);
			break;
		case LINE_NONE:
			put_line(y, A_NORMAL, false, "  no thread ran in this interval");
			break;
		}
	}
	free(l);
	draw_skips(v, y);
	refresh();
}

/* The selection follows its process across sorts and frames; when that
 * process is gone, the row at the same place. */
static void reselect(struct top_ui *u)
{
	long i = u->sel_pid ? top_view__find(&u->view, u->sel_pid) : -1;

	if (i >= 0) {
		u->sel = (size_t)i;
	} else if (u->view.nprocs) {
		if (u->sel >= u->view.nprocs)
			u->sel = u->view.nprocs - 1;
		u->sel_pid = u->view.procs[u->sel].pid;
	} else {
		u->sel = 0;
		u->sel_pid = 0;
	}
}

static void select_row(struct top_ui *u, long row)
{
	if (!u->view.nprocs)
		return;
	if (row < 0)
		row = 0;
	if (row >= (long)u->view.nprocs)
		row = (long)u->view.nprocs - 1;
	u->sel = (size_t)row;
	u->sel_pid = u->view.procs[row].pid;
}

/* Processes that left the frame lose their expansion (PIDs are reused). */
static void prune_expanded(struct top_ui *u)
{
	size_t k = 0;

	for (size_t i = 0; i < u->nexpanded; i++)
		if (top_view__find(&u->view, u->expanded[i]) >= 0)
			u->expanded[k++] = u->expanded[i];
	u->nexpanded = k;
}

static void toggle_expanded(struct top_ui *u)
{
	pid_t pid = u->sel_pid;

	if (!pid)
		return;
	for (size_t i = 0; i < u->nexpanded; i++)
		if (u->expanded[i] == pid) {
			u->expanded[i] = u->expanded[--u->nexpanded];
			return;
		}
	if (u->nexpanded == u->capexpanded) {
		size_t cap = u->capexpanded ? 2 * u->capexpanded : 8;
		pid_t *n = realloc(u->expanded, cap * sizeof(*n));

		if (!n)
			return;
		u->expanded = n;
		u->capexpanded = cap;
	}
	u->expanded[u->nexpanded++] = pid;
}

/* A sort key: another key sorts in its natural direction, the same key
 * again turns the order round. */
static void sort_by(struct top_ui *u, enum top_sort key)
{
	if (key == u->sort)
		u->reverse = !u->reverse;
	else
		u->sort = key, u->reverse = false;
	top_view__sort(&u->view, u->sort, u->reverse);
	reselect(u);
}

static int sort_key(int ch)
{
	switch (ch) {
	case 'h': return TOP_SORT_HELD;
	case 'c': return TOP_SORT_CONTENDED;
	case 'w': return TOP_SORT_WAITS;
	case 'p': return TOP_SORT_P99;
	case 'u': return TOP_SORT_CORES;
	case 'n': return TOP_SORT_PID;
	default: return -1;
	}
}

/* One key: 1 quit, 0 handled (redraw), -1 not a key of ours. */
static int on_key(struct top_ui *u, int ch)
{
	long page = LINES > HEAD_LINES + 1 ? LINES - HEAD_LINES - 1 : 1;
	int key = sort_key(ch);

	if (key >= 0) {
		sort_by(u, (enum top_sort)key);
		return 0;
	}
	switch (ch) {
	case 'q':
	case 'Q':
		return 1;
	case KEY_UP:
	case 'k':
		select_row(u, (long)u->sel - 1);
		return 0;
	case KEY_DOWN:
	case 'j':
		select_row(u, (long)u->sel + 1);
		return 0;
	case KEY_PPAGE:
		select_row(u, (long)u->sel - page);
		return 0;
	case KEY_NPAGE:
		select_row(u, (long)u->sel + page);
		return 0;
	case KEY_HOME:
	case 'g':
		select_row(u, 0);
		return 0;
	case KEY_END:
	case 'G':
		select_row(u, (long)u->view.nprocs - 1);
		return 0;
	case 't':
	case '\n':
	case '\r':
	case KEY_ENTER:
		toggle_expanded(u);
		return 0;
	case KEY_RESIZE:
		return 0;
	case 12: /* ^L */
		clearok(curscr, TRUE);
		return 0;
	default:
		return -1;
	}
}

/* ------------------------------------------------------------------ API */

static void restore_at_exit(void)
{
	if (open_tty)
		top_ui__close(open_tty);
}

static int open_screen(struct top_ui *u, FILE *in, FILE *term, char *err, size_t errlen)
{
	const char *type = getenv("TERM");

	if (open_tty) {
		snprintf(err, errlen, "a full-screen view is already open");
		return -EBUSY;
	}
	if (!type || !*type) {
		snprintf(err, errlen, "TERM is not set: no full-screen view (pipe the output for plain lines)");
		return -ENOTTY;
	}
	u->scr = newterm(type, term, in);
	if (!u->scr) {
		snprintf(err, errlen, "cannot open the terminal '%s' for a full-screen view (unknown to terminfo?)", type);
		return -ENOTTY;
	}
	u->term = term;
	set_term(u->scr);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	open_tty = u;
	if (!atexit_installed && atexit(restore_at_exit) == 0)
		atexit_installed = true;
	draw_screen(u);
	return 0;
}

static int ui_new(struct top_ui **out, bool tty, FILE *plain, FILE *in, FILE *term, char *err, size_t errlen)
{
	struct top_ui *u = calloc(1, sizeof(*u));
	int e;

	*out = NULL;
	if (!u) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	u->tty = tty;
	u->plain = plain;
	u->sort = TOP_SORT_HELD;
	if (!tty && !plain) {
		snprintf(err, errlen, "no output for the plain lines");
		free(u);
		return -EINVAL;
	}
	if (tty && (e = open_screen(u, in, term, err, errlen))) {
		free(u);
		return e;
	}
	*out = u;
	return 0;
}

int top_ui__open(struct top_ui **out, bool tty, FILE *plain, char *err, size_t errlen)
{
	return ui_new(out, tty, plain, stdin, stdout, err, errlen);
}

int top_ui__open_term(struct top_ui **out, FILE *in, FILE *term, char *err, size_t errlen)
{
	return ui_new(out, true, NULL, in, term, err, errlen);
}

void top_ui__draw(struct top_ui *u, const struct live_frame *f)
{
	struct top_view v;

	if (!u || u->closed)
		return;
	if (top_view__build_some(&v, f, u->tty))
		return;   /* out of memory: the last frame stays up */
	if (!u->tty) {
		plain_frame(u, &v);
		top_view__free(&v);
		return;
	}
	top_view__free(&u->view);
	u->view = v;
	u->have_view = true;
	top_view__sort(&u->view, u->sort, u->reverse);
	reselect(u);
	prune_expanded(u);
	draw_screen(u);
}

int top_ui__keys(struct top_ui *u)
{
	bool redraw = false;
	int ch;

	if (!u || u->closed || !u->tty)
		return 0;
	while ((ch = getch()) != ERR) {
		int r = on_key(u, ch);

		if (r == 1)
			return 1;
		if (r == 0)
			redraw = true;
	}
	if (redraw)
		draw_screen(u);
	return 0;
}

void top_ui__close(struct top_ui *u)
{
	if (!u || u->closed)
		return;
	u->closed = true;
	if (u->tty) {
		endwin();
		delscreen(u->scr);
		u->scr = NULL;
		fflush(u->term);
		if (open_tty == u)
			open_tty = NULL;
	} else if (u->plain) {
		fflush(u->plain);
	}
	top_view__free(&u->view);
	free(u->expanded);
	free(u->skipped);
	u->expanded = NULL;
	u->skipped = NULL;
	u->nexpanded = u->capexpanded = u->nskipped = 0;
	u->next_closed = closed_uis;
	closed_uis = u;
}
