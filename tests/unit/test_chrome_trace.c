// SPDX-License-Identifier: MIT
/* Chrome trace writer (user/render/chrome_trace.c): synthetic transitions of three
 * threads, fed out of order, must come out as valid JSON whose spans per
 * track never overlap and add up to the per-state totals the scenario below
 * was built with. Python's json module does the parsing and the exact
 * (decimal) arithmetic; this file checks what it reports. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "render/chrome_trace.h"

#define PID  1000
#define T0   5000000123ull      /* odd, so that relative times are exercised */
#define T1   (T0 + 100000)      /* window: 100 us */

/* Reads the trace named by argv[1]; prints "key value..." lines for C to
 * compare, and "ERROR ..." for every broken invariant. Times in integer ns. */
static const char checker[] =
"import json, sys\n"
"from decimal import Decimal\n"
"def ns(v): return int(Decimal(v) * 1000)\n"
"def err(*a): print('ERROR', *a)\n"
"doc = json.load(open(sys.argv[1]), parse_float=Decimal)\n"
"print('parsed 1')\n"
"print('unit', doc.get('displayTimeUnit'))\n"
"od = doc.get('otherData', {})\n"
"print('lost_records', od.get('lost_records'))\n"
"print('ignored_records', od.get('ignored_records'))\n"
"evs = doc['traceEvents']\n"
"spans, last, totals = {}, {}, {}\n"
"for e in evs:\n"
"    ph = e['ph']\n"
"    for k in ('name', 'ph', 'pid', 'tid'):\n"
"        if k not in e: err('missing', k, e)\n"
"    if e.get('pid') != 1000: err('pid', e)\n"
"    if ph == 'M':\n"
"        v = e['args'].get('name', e['args'].get('sort_index'))\n"
"        print('meta', e['name'], e['tid'], json.dumps(v))\n"
"        continue\n"
"    t = ns(e['ts'])\n"
"    key = (ph, e['tid'])\n"
"    if key in last and t < last[key]: err('ts not monotonic', e)\n"
"    last[key] = t\n"
"    if t < 0 or t > 100000: err('ts outside window', e)\n"
"    if ph == 'X':\n"
"        d = ns(e['dur'])\n"
"        if d <= 0: err('empty span', e)\n"
"        if e.get('cat') != 'gil': err('cat', e)\n"
"        s = spans.setdefault(e['tid'], [])\n"
"        if s and s[-1][1] > t: err('overlap', s[-1], e)\n"
"        # readers add in doubles (speedscope: ts - first ts + dur); where\n"
"        # spans touch, that must land exactly on the next span's ts\n"
"        if s and s[-1][1] == t:\n"
"            pts, pdur, first = s[-1][2], s[-1][3], s[0][2]\n"
"            if pts + pdur != float(e['ts']) or \\\n"
"               (pts - first) + pdur != float(e['ts']) - first:\n"
"                err('inexact in doubles', e)\n"
"        s.append((t, t + d, float(e['ts']), float(e['dur'])))\n"
"        if t + d > 100000: err('span past t1', e)\n"
"        k = (e['tid'], e['name'], e['args']['state'])\n"
"        totals[k] = totals.get(k, 0) + d\n"

"    elif ph == 'C':\n"
"        print('counter', e['name'], t, json.dumps(e['args']))\n"
"    elif ph == 'i':\n"
"        print('instant', e['s'], e['tid'], t, json.dumps(e['name']))\n"
"    else:\n"
"        err('unexpected phase', e)\n"
"for tid, s in sorted(spans.items()):\n"
"    print('spans', tid, len(s))\n"
"for (tid, name, state), d in sorted(totals.items()):\n"
"    print('total', tid, state, d, json.dumps(name))\n";

/* A record at time rel (ns) relative to T0. */
#define REC(rel, tid_, kind_, state_, w) {					\
	.ts = T0 + (rel), .tid = (tid_), .kind = (kind_), .state = (state_),	\
	.waiters = (w) }
#define ST(rel, tid, state, w) REC(rel, tid, GS_TR_STATE, state, w)

/* The scenario, in time order (the feed order below scrambles it):
 *
 *  1000 main  held 0-10500 (extended at 1000), forced switch at 10500,
 *             wait 10500-20250 (on-CPU 10500-10501 and 20000-20250: one span),
 *             held 20250-30000, held off-CPU 30000-31000, held 31000-40000,
 *             native 40000-45000, off-CPU 45000-t1
 *  1001 "worker-1\"\n": wait 2000-10500, held 10500-20000,
 *             off-CPU 20000-50000, exits at 50000
 *  1002 unnamed: native from before t0 (clamped to 0) to 70000, extended
 *             at 60000; off-CPU for 0 ns at 70000 (dropped), wait 70000-t1
 *  1003 unnamed, times off the 125 ns grid: native 90000 (rounds down),
 *             held 90030 (rounds to 90000: the native span vanishes),
 *             off-CPU 95070 (rounds up to 95125) to t1
 *
 *  waiters: 0 at 0, 1 at 2000, 0 at 20250, 1 at 70000. */
static const struct gs_trace_rec main_recs[] = {
	ST(0,     1000, GS_HELD_ON,   0),
	ST(1000,  1000, GS_HELD_ON,   0),
	REC(10500, 1000, GS_TR_FORCED, 0, 1),
	ST(10500, 1000, GS_WAIT_ON,   1),
	ST(10501, 1000, GS_WAIT_OFF,  1),
	ST(20000, 1000, GS_WAIT_ON,   1),
	ST(20250, 1000, GS_HELD_ON,   0),
	ST(30000, 1000, GS_HELD_OFF,  0),
	ST(31000, 1000, GS_HELD_ON,   0),
	ST(40000, 1000, GS_NOGIL_ON,  0),
	ST(45000, 1000, GS_NOGIL_OFF, 0),
};
static const struct gs_trace_rec worker_recs[] = {
	ST(2000,  1001, GS_WAIT_OFF,  1),
	ST(10500, 1001, GS_HELD_ON,   1),
	ST(20000, 1001, GS_NOGIL_OFF, 1),
	REC(50000, 1001, GS_TR_EXIT, 0, 0),
};
static const struct gs_trace_rec other_recs[] = {
	ST(-500,  1002, GS_NOGIL_ON,  0),
	ST(60000, 1002, GS_NOGIL_ON,  0),
	ST(70000, 1002, GS_NOGIL_OFF, 0),
	ST(70000, 1002, GS_WAIT_OFF,  1),
	ST(80000, 1002, 77,           1),      /* unknown state: ignored */
	REC(80000, 1002, 9, 0, 1),             /* unknown kind: ignored */
	ST(90000, 1003, GS_NOGIL_ON,  1),
	ST(90030, 1003, GS_HELD_ON,   1),
	ST(95070, 1003, GS_NOGIL_OFF, 1),
};

static const char *const expected[] = {
	"parsed 1",
	"unit ms",
	"lost_records 7",
	"ignored_records 2",
	"meta process_name 1000 \"python3 app.py\"",
	"meta thread_name 1000 \"MainThread\"",
	"meta thread_name 1001 \"worker-1\\\"\\n\"",
	"meta thread_name 1002 \"tid 1002\"",
	"meta thread_sort_index 1000 0",   /* main thread first */
	"meta thread_sort_index 1002 1",   /* then by first record */
	"meta thread_sort_index 1001 2",
	"meta thread_name 1003 \"tid 1003\"",
	"meta thread_sort_index 1003 3",
	"counter GIL waiters 0 {\"waiters\": 0}",
	"counter GIL waiters 2000 {\"waiters\": 1}",
	"counter GIL waiters 20250 {\"waiters\": 0}",
	"counter GIL waiters 70000 {\"waiters\": 1}",
	"instant t 1000 10500 \"forced switch\"",
	"instant g 1000 100000 \"lost 7 transition records\"",
	"spans 1000 7",
	"spans 1001 3",
	"spans 1002 2",
	"spans 1003 2",
	"total 1000 held 29250 \"holding GIL\"",
	"total 1000 held_offcpu 1000 \"holding GIL, off-CPU\"",
	"total 1000 native 5000 \"running without GIL\"",
	"total 1000 offcpu 55000 \"off-CPU\"",
	"total 1000 wait 9750 \"waiting for GIL\"",
	"total 1001 held 9500 \"holding GIL\"",
	"total 1001 offcpu 30000 \"off-CPU\"",
	"total 1001 wait 8500 \"waiting for GIL\"",
	"total 1002 native 70000 \"running without GIL\"",
	"total 1002 wait 30000 \"waiting for GIL\"",
	"total 1003 held 5125 \"holding GIL\"",
	"total 1003 offcpu 4875 \"off-CPU\"",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void feed(struct timeline *w)
{
	/* Threads interleaved against time, and main's records out of order
	 * among themselves; records of one thread with equal ts keep their
	 * order, as the ring buffer does for one thread. */
	static const int main_order[] = { 10, 0, 8, 7, 1, 2, 3, 4, 5, 6, 9 };
	size_t i;

	CHECK(timeline__add(w, &other_recs[4]) == 0);
	CHECK(timeline__add(w, &other_recs[5]) == 0);
	for (i = 0; i < N(worker_recs); i++)
		CHECK(timeline__add(w, &worker_recs[N(worker_recs) - 1 - i]) == 0);
	for (i = 0; i < N(main_order); i++)
		CHECK(timeline__add(w, &main_recs[main_order[i]]) == 0);
	for (i = N(other_recs); i-- > 6;)
		CHECK(timeline__add(w, &other_recs[i]) == 0);
	for (i = 0; i < 4; i++)
		CHECK(timeline__add(w, &other_recs[i]) == 0);
}

static bool have_python(void)
{
	return system("python3 -c 'import json, decimal' >/dev/null 2>&1") == 0;
}

/* Run the checker over path; returns its output lines (NULL-terminated). */
static char **run_checker(const char *path, size_t *nlines)
{
	char script[] = "/tmp/test_chrome_trace_XXXXXX.py";
	char cmd[512], line[4096], **lines = NULL;
	size_t n = 0;
	FILE *p;
	int fd;

	*nlines = 0;
	fd = mkstemps(script, 3);
	if (fd < 0 || write(fd, checker, sizeof(checker) - 1) != (ssize_t)(sizeof(checker) - 1)) {
		CHECK_MSG(0, "cannot write the checker: %s", strerror(errno));
		return NULL;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "python3 %s %s", script, path);
	p = popen(cmd, "r");
	CHECK(p != NULL);
	while (p && fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = 0;
		lines = realloc(lines, (n + 1) * sizeof(*lines));
		lines[n++] = strdup(line);
	}
	CHECK_MSG(p && pclose(p) == 0, "checker failed on %s", path);
	unlink(script);
	*nlines = n;
	return lines;
}

/* A line naming one output item (as opposed to a summary line). */
static bool is_item(const char *line)
{
	static const char *const kinds[] = { "total ", "counter ", "instant ", "meta " };

	for (size_t i = 0; i < N(kinds); i++)
		if (!strncmp(line, kinds[i], strlen(kinds[i])))
			return true;
	return false;
}

static bool has_line(char **lines, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(lines[i], want))
			return true;
	return false;
}

static void free_lines(char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

/* The writer keeps its records: writing again gives the same file. */
static bool same_output(struct timeline *w, const char *path)
{
	char *buf = NULL, *old = NULL;
	size_t len = 0, oldlen = 0;
	FILE *m = open_memstream(&buf, &len), *f = fopen(path, "r");
	bool same = false;
	int err;

	if (!m || !f) {
		if (m)
			fclose(m);
		if (f)
			fclose(f);
		free(buf);
		return false;
	}
	err = chrome_trace__write(w, m, T1, 7);
	fclose(m);              /* buf and len are valid from here on */
	old = malloc(len + 1);
	oldlen = old ? fread(old, 1, len + 1, f) : 0;
	same = !err && old && oldlen == len && !memcmp(old, buf, len);
	fclose(f);
	free(old);
	free(buf);
	return same;
}

/* Writes the scenario to path (kept for tools/speedscope when asked). */
static void test_scenario(const char *path)
{
	struct timeline *w = timeline__new(PID, "python3 app.py", T0);
	size_t n, errors = 0, items = 0, want_items = 0;
	char **lines;
	FILE *f;

	CHECK(w != NULL);
	if (!w)
		return;
	feed(w);
	CHECK(timeline__thread_name(w, 1001, "worker-0") == 0);
	CHECK(timeline__thread_name(w, 1001, "worker-1\"\n") == 0); /* last wins */
	CHECK(timeline__thread_name(w, 1000, "MainThread") == 0);
	CHECK(timeline__thread_name(w, 1002, "") == 0);             /* ignored */
	CHECK(timeline__thread_name(w, 1999, "idle") == 0);         /* no track */
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f) {
		timeline__free(w);
		return;
	}
	CHECK(chrome_trace__write(w, f, T1, 7) == 0);
	fclose(f);
	CHECK_MSG(same_output(w, path), "a second write differs from the first");
	timeline__free(w);

	if (!have_python()) {
		printf("test_chrome_trace: no python3, trace structure not checked\n");
		return;
	}
	lines = run_checker(path, &n);
	for (size_t i = 0; i < N(expected); i++) {
		CHECK_MSG(has_line(lines, n, expected[i]), "missing line: %s", expected[i]);
		want_items += is_item(expected[i]);
	}
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(lines[i], "ERROR", 5)) {
			errors++;
			fprintf(stderr, "checker: %s\n", lines[i]);
		}
		items += is_item(lines[i]);
	}
	CHECK_U64(errors, 0);
	/* nothing beyond the expected spans, counters, instants, metadata */
	CHECK_U64(items, want_items);
	free_lines(lines, n);
}

/* No records and nothing lost: still a valid file, without a lost marker. */
static void test_empty(const char *path)
{
	struct timeline *w = timeline__new(PID, NULL, T0);
	char **lines;
	size_t n;
	FILE *f = fopen(path, "w");

	CHECK(w && f);
	if (!w || !f) {
		timeline__free(w);
		if (f)
			fclose(f);
		return;
	}
	CHECK(chrome_trace__write(w, f, T1, 0) == 0);
	fclose(f);
	timeline__free(w);
	if (!have_python())
		return;
	lines = run_checker(path, &n);
	CHECK(has_line(lines, n, "parsed 1"));
	CHECK(has_line(lines, n, "lost_records 0"));
	CHECK(has_line(lines, n, "meta process_name 1000 \"pid 1000\""));
	CHECK_U64(n, 5);        /* parsed, unit, lost, ignored, process_name */
	free_lines(lines, n);
}

int main(int argc, char **argv)
{
	/* With an argument, the scenario's trace stays there for inspection. */
	char tmp[] = "/tmp/test_chrome_trace_XXXXXX";
	int fd = mkstemp(tmp);
	const char *path = argc > 1 ? argv[1] : tmp;

	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	test_empty(tmp);
	test_scenario(path);
	unlink(tmp);
	return check_summary("test_chrome_trace");
}
