// SPDX-License-Identifier: MIT
/* The pprof writer: its output gunzipped (zlib) and decoded by the minimal
 * protobuf reader below (varints and length-delimited fields, packed or
 * not), then checked: string_table[0] = "", the sample types, totals per
 * type (us views in ns), one non-zero value per sample, thread and pid
 * labels, locations leaf first and shared between processes, functions
 * split from "name (file:line)", one mapping that needs no symbols, the
 * window's time. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <zlib.h>

#include "check.h"
#include "render/pprof.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAXN 64

/* ---------------------------------------------------------------- decoder */

struct field {
	unsigned num, wt;
	uint64_t v;               /* wire type 0 */
	const uint8_t *p;         /* wire type 2 */
	size_t len;
};

static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* The next field of [*p, end): 1, 0 at the end, -1 malformed. */
static int next_field(const uint8_t **p, const uint8_t *end, struct field *f)
{
	uint64_t key;

	if (*p == end)
		return 0;
	if (!get_varint(p, end, &key))
		return -1;
	f->num = (unsigned)(key >> 3);
	f->wt = key & 7;
	if (f->wt == 0)
		return get_varint(p, end, &f->v) ? 1 : -1;
	if (f->wt != 2 || !get_varint(p, end, &f->v) || f->v > (uint64_t)(end - *p))
		return -1;
	f->p = *p;
	f->len = (size_t)f->v;
	*p += f->len;
	return 1;
}

/* A repeated integer field, packed (wire type 2) or not, into out. */
static size_t get_ints(const struct field *f, uint64_t *out, size_t n, size_t max)
{
	const uint8_t *p = f->p, *end = f->p + f->len;

	if (f->wt == 0) {
		if (n < max)
			out[n++] = f->v;
		return n;
	}
	while (p < end && n < max)
		if (!get_varint(&p, end, &out[n++]))
			break;
	return n;
}

struct dsample {
	uint64_t locs[MAXN], vals[8];
	size_t nlocs, nvals;
	uint64_t thread;          /* string index */
	int64_t pid;
	int nthread, npid, nother;
};

struct dprof {
	char *strings[4 * MAXN];
	size_t nstrings;
	uint64_t st_type[8], st_unit[8];
	size_t nst;
	struct dsample samples[MAXN];
	size_t nsamples;
	uint64_t loc_id[MAXN], loc_func[MAXN], loc_nlines[MAXN], loc_map[MAXN];
	int64_t loc_line[MAXN];
	size_t nlocs;
	uint64_t fn_id[MAXN], fn_name[MAXN], fn_sys[MAXN], fn_file[MAXN];
	size_t nfns;
	uint64_t map_id, map_has[11];        /* the last mapping: id, fields 7-10 */
	size_t nmaps;
	uint64_t time_nanos, duration_nanos, default_type, comment[4];
	size_t ncomments;
	int bad;                  /* malformed or over the fixed sizes */
};

static void decode_sample(struct dprof *d, const struct field *sf)
{
	struct dsample *s = &d->samples[d->nsamples++];
	const uint8_t *p = sf->p, *end = sf->p + sf->len;
	struct field f, g;
	int r;

	while ((r = next_field(&p, end, &f)) == 1) {
		if (f.num == 1)
			s->nlocs = get_ints(&f, s->locs, s->nlocs, N(s->locs));
		else if (f.num == 2)
			s->nvals = get_ints(&f, s->vals, s->nvals, N(s->vals));
		else if (f.num == 3 && f.wt == 2) {
			const uint8_t *q = f.p, *qend = f.p + f.len;
			uint64_t key = 0, str = 0, num = 0;

			while (next_field(&q, qend, &g) == 1)
				if (g.wt == 0 && g.num == 1)
					key = g.v;
				else if (g.wt == 0 && g.num == 2)
					str = g.v;
				else if (g.wt == 0 && g.num == 3)
					num = g.v;
			if (key < d->nstrings && !strcmp(d->strings[key], "thread")) {
				s->nthread++;
				s->thread = str;
			} else if (key < d->nstrings && !strcmp(d->strings[key], "pid") && !str) {
				s->npid++;
				s->pid = (int64_t)num;
			} else {
				s->nother++;
			}
		}
	}
	d->bad |= r < 0;
}

/* Strings first (labels are matched by name), then the rest. */
static void decode(struct dprof *d, const uint8_t *b, size_t n)
{
	const uint8_t *p = b, *end = b + n;
	struct field f, g;
	int r;

	memset(d, 0, sizeof(*d));
	while ((r = next_field(&p, end, &f)) == 1)
		if (f.num == 6 && f.wt == 2 && d->nstrings < N(d->strings))
			d->strings[d->nstrings++] = strndup((const char *)f.p, f.len);
	d->bad |= r < 0;
	for (p = b; next_field(&p, end, &f) == 1;) {
		const uint8_t *q = f.p, *qend = f.p + f.len;

		switch (f.num) {
		case 1:
			if (d->nst >= N(d->st_type))
				break;
			while (next_field(&q, qend, &g) == 1)
				if (g.num == 1)
					d->st_type[d->nst] = g.v;
				else if (g.num == 2)
					d->st_unit[d->nst] = g.v;
			d->nst++;
			break;
		case 2:
			if (d->nsamples < N(d->samples))
				decode_sample(d, &f);
			else
				d->bad = 1;
			break;
		case 3:
			d->nmaps++;
			while (next_field(&q, qend, &g) == 1)
				if (g.num == 1)
					d->map_id = g.v;
				else if (g.wt == 0 && g.num < N(d->map_has))
					d->map_has[g.num] = g.v;
			break;
		case 4:
			if (d->nlocs >= N(d->loc_id)) {
				d->bad = 1;
				break;
			}
			while (next_field(&q, qend, &g) == 1)
				if (g.num == 1)
					d->loc_id[d->nlocs] = g.v;
				else if (g.num == 2)
					d->loc_map[d->nlocs] = g.v;
				else if (g.num == 4 && g.wt == 2) {
					const uint8_t *l = g.p, *lend = g.p + g.len;
					struct field h;

					d->loc_nlines[d->nlocs]++;
					while (next_field(&l, lend, &h) == 1)
						if (h.num == 1)
							d->loc_func[d->nlocs] = h.v;
						else if (h.num == 2)
							d->loc_line[d->nlocs] = (int64_t)h.v;
				}
			d->nlocs++;
			break;
		case 5:
			if (d->nfns >= N(d->fn_id)) {
				d->bad = 1;
				break;
			}
			while (next_field(&q, qend, &g) == 1)
				if (g.num == 1)
					d->fn_id[d->nfns] = g.v;
				else if (g.num == 2)
					d->fn_name[d->nfns] = g.v;
				else if (g.num == 3)
					d->fn_sys[d->nfns] = g.v;
				else if (g.num == 4)
					d->fn_file[d->nfns] = g.v;
			d->nfns++;
			break;
		case 9:
			d->time_nanos = f.v;
			break;
		case 10:
			d->duration_nanos = f.v;
			break;
		case 13:
			d->ncomments = get_ints(&f, d->comment, d->ncomments, N(d->comment));
			break;
		case 14:
			d->default_type = f.v;
			break;
		}
	}
}

static void dprof_free(struct dprof *d)
{
	for (size_t i = 0; i < d->nstrings; i++)
		free(d->strings[i]);
}

static const char *str(const struct dprof *d, uint64_t i)
{
	return i < d->nstrings ? d->strings[i] : "(out of range)";
}

static int fn_index(const struct dprof *d, uint64_t id)
{
	for (size_t i = 0; i < d->nfns; i++)
		if (d->fn_id[i] == id)
			return (int)i;
	return -1;
}

static int loc_index(const struct dprof *d, uint64_t id)
{
	for (size_t i = 0; i < d->nlocs; i++)
		if (d->loc_id[i] == id)
			return (int)i;
	return -1;
}

/* A location as "name file:line". */
static void loc_text(const struct dprof *d, uint64_t id, char *buf, size_t len)
{
	int l = loc_index(d, id), f = l < 0 ? -1 : fn_index(d, d->loc_func[l]);

	if (f < 0)
		snprintf(buf, len, "(no location %llu)", (unsigned long long)id);
	else
		snprintf(buf, len, "%s %s:%lld", str(d, d->fn_name[f]), str(d, d->fn_file[f]),
			 (long long)d->loc_line[l]);
}

/* pprof__write's output, gunzipped and decoded; false on failure. */
static bool write_and_decode(const struct pprof_proc *procs, size_t n, int64_t t, int64_t dur,
			     struct dprof *d)
{
	char *gz = NULL;
	size_t gzlen = 0, cap = 1 << 16;
	FILE *f = open_memstream(&gz, &gzlen);
	uint8_t *raw = malloc(cap);
	z_stream zs = {};
	int e, rc;

	if (!f || !raw)
		return false;
	e = pprof__write(f, procs, n, t, dur);
	fclose(f);
	CHECK_MSG(e == 0, "pprof__write: %d", e);
	CHECK_MSG(gzlen > 18 && (uint8_t)gz[0] == 0x1f && (uint8_t)gz[1] == 0x8b,
		  "not gzip: %zu bytes", gzlen);
	CHECK(inflateInit2(&zs, 15 + 16) == Z_OK);    /* gzip only */
	zs.next_in = (Bytef *)gz;
	zs.avail_in = (uInt)gzlen;
	for (;;) {
		zs.next_out = raw + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		rc = inflate(&zs, Z_NO_FLUSH);
		if (rc != Z_OK || zs.avail_out)
			break;
		uint8_t *bigger = realloc(raw, cap * 2);

		if (!bigger)
			break;
		raw = bigger;
		cap *= 2;
	}
	CHECK_MSG(rc == Z_STREAM_END && zs.avail_in == 0, "inflate: %d, %u bytes left", rc, zs.avail_in);
	decode(d, raw, zs.total_out);
	CHECK_MSG(!d->bad, "malformed protobuf (%lu bytes)", zs.total_out);
	inflateEnd(&zs);
	free(raw);
	free(gz);
	return e == 0 && rc == Z_STREAM_END && !d->bad;
}

/* ---------------------------------------------------------------- fixture */

static const char *const VIEW[4] = { "wait", "gil", "nogil", "blame" };
static const char *const UNIT[4] = { "us", "samples", "samples", "us" };

/* Process 100: two threads; process 200 (--children style thread names)
 * repeats some frames, as separate strings. */
static const char *const a_wait1[] = { "wait", "MainThread [100]", "main (app.py:10)", "waiter (app.py:20)" };
static const char *const a_wait2[] = { "wait", "MainThread [100]", "main (app.py:10)", "waiter (app.py:21)" };
static const char *const a_gil[] = { "gil", "worker [101]", "main (app.py:10)", "hog (app.py:30)" };
static const char *const a_nogil[] = { "nogil", "worker [101]", "main (app.py:10)", "[truncated]" };
static const char *const a_blame[] = { "blame", "worker [101]", "main (app.py:10)", "hog (app.py:30)" };
static const char *const a_zero[] = { "gil", "worker [101]", "unseen (app.py:99)" };
static char b_main[] = "main (app.py:10)";
static const char *const b_wait[] = { "wait", "w (pid 200) [201]", b_main, "<code 0x1234>" };
static const char *const b_gil[] = { "gil", "w (pid 200) [201]", "Outer.run (lib/x.py:7)",
				     "f (x.py)" };

#define STACK(fr, w) { fr, N(fr), w }

static struct sym_stack sa_wait[] = { STACK(a_wait1, 7), STACK(a_wait2, 3) };
static struct sym_stack sa_gil[] = { STACK(a_gil, 5), STACK(a_zero, 0) };
static struct sym_stack sa_nogil[] = { STACK(a_nogil, 2) };
static struct sym_stack sa_blame[] = { STACK(a_blame, 11) };
static struct sym_stack sb_wait[] = { STACK(b_wait, 4) };
static struct sym_stack sb_gil[] = { STACK(b_gil, 1) };

static void fill(struct stack_report *sr, struct sym_stack *const st[4], const size_t n[4])
{
	memset(sr, 0, sizeof(*sr));
	for (int v = 0; v < 4; v++) {
		sr->views[v].name = VIEW[v];
		sr->views[v].title = VIEW[v];
		sr->views[v].unit = UNIT[v];
		sr->views[v].stacks = st[v];
		sr->views[v].n = n[v];
		for (size_t i = 0; i < n[v]; i++)
			sr->views[v].total += st[v][i].weight;
	}
}

/* ---------------------------------------------------------------- tests */

static void test_profile(void)
{
	struct sym_stack *a_st[4] = { sa_wait, sa_gil, sa_nogil, sa_blame };
	struct sym_stack *b_st[4] = { sb_wait, sb_gil, NULL, NULL };
	const size_t a_n[4] = { N(sa_wait), N(sa_gil), N(sa_nogil), N(sa_blame) };
	const size_t b_n[4] = { N(sb_wait), N(sb_gil), 0, 0 };
	struct stack_report ra, rb;
	struct pprof_proc procs[2] = { { &ra, 100 }, { &rb, 200 } };
	uint64_t want[4], got[4] = {};
	static struct dprof d;
	size_t pid200 = 0, hog = 0;
	char buf[256];

	fill(&ra, a_st, a_n);
	fill(&rb, b_st, b_n);
	for (int v = 0; v < 4; v++)
		want[v] = (ra.views[v].total + rb.views[v].total) * (!strcmp(UNIT[v], "us") ? 1000 : 1);
	CHECK_U64(want[0], 14000);    /* (7 + 3 + 4) us */
	CHECK_U64(want[1], 6);
	if (!write_and_decode(procs, 2, 1700000000123456789ll, 2000000000ll, &d))
		goto out;

	CHECK_MSG(d.nstrings > 0 && d.strings[0][0] == 0, "string_table[0] = \"%s\"",
		  d.nstrings ? d.strings[0] : "(none)");
	CHECK_U64(d.nst, 4);
	for (size_t v = 0; v < d.nst && v < 4; v++) {
		CHECK_STR(str(&d, d.st_type[v]), VIEW[v]);
		CHECK_STR(str(&d, d.st_unit[v]), v == 0 || v == 3 ? "nanoseconds" : "samples");
	}
	CHECK_STR(str(&d, d.default_type), "wait");
	CHECK_U64(d.time_nanos, 1700000000123456789ull);
	CHECK_U64(d.duration_nanos, 2000000000ull);
	CHECK_U64(d.ncomments, 1);
	CHECK(d.ncomments && strstr(str(&d, d.comment[0]), "gilscope"));

	/* samples: every stack of weight > 0, one value each */
	CHECK_U64(d.nsamples, 7);
	for (size_t i = 0; i < d.nsamples; i++) {
		const struct dsample *s = &d.samples[i];
		int nonzero = 0;

		CHECK_U64(s->nvals, 4);
		for (size_t v = 0; v < s->nvals && v < 4; v++) {
			got[v] += s->vals[v];
			nonzero += s->vals[v] != 0;
		}
		CHECK_MSG(nonzero == 1, "sample %zu: %d non-zero values", i, nonzero);
		CHECK_MSG(s->nthread == 1 && s->npid == 1 && !s->nother,
			  "sample %zu: %d thread, %d pid, %d other labels", i, s->nthread, s->npid, s->nother);
		CHECK_MSG(s->pid == 100 || s->pid == 200, "sample %zu: pid %lld", i, (long long)s->pid);
		if (s->pid == 200) {
			pid200++;
			CHECK_STR(str(&d, s->thread), "w (pid 200) [201]");
		} else {
			CHECK(!strcmp(str(&d, s->thread), "MainThread [100]") ||
			      !strcmp(str(&d, s->thread), "worker [101]"));
		}
		/* leaf first: gil's hog stack reads hog, then main */
		if (s->vals[1] == 5) {
			hog++;
			CHECK_U64(s->nlocs, 2);
			loc_text(&d, s->locs[0], buf, sizeof(buf));
			CHECK_STR(buf, "hog app.py:30");
			loc_text(&d, s->nlocs > 1 ? s->locs[1] : 0, buf, sizeof(buf));
			CHECK_STR(buf, "main app.py:10");
		}
		if (s->pid == 200 && s->vals[1] == 1) {    /* split: qualname, file with a '/', no line */
			loc_text(&d, s->locs[0], buf, sizeof(buf));
			CHECK_STR(buf, "f x.py:0");
			loc_text(&d, s->nlocs > 1 ? s->locs[1] : 0, buf, sizeof(buf));
			CHECK_STR(buf, "Outer.run lib/x.py:7");
		}
		if (s->pid == 200 && s->vals[0]) {         /* not "name (file)": all name */
			loc_text(&d, s->locs[0], buf, sizeof(buf));
			CHECK_STR(buf, "<code 0x1234> :0");
		}
		if (s->vals[2]) {
			loc_text(&d, s->locs[0], buf, sizeof(buf));
			CHECK_STR(buf, "[truncated] :0");
		}
	}
	CHECK_U64(pid200, 2);
	CHECK_U64(hog, 1);
	for (int v = 0; v < 4; v++)
		CHECK_MSG(got[v] == want[v], "%s: total %llu, want %llu", VIEW[v],
			  (unsigned long long)got[v], (unsigned long long)want[v]);

	/* one location per distinct frame string (main shared by both
	 * processes and four views), one function per name and file
	 * (waiter at two lines); no location for the view or thread names,
	 * none for the zero-weight stack */
	CHECK_U64(d.nlocs, 8);
	CHECK_U64(d.nfns, 7);
	/* one mapping with functions, file names and lines: nothing to
	 * symbolize */
	CHECK_U64(d.nmaps, 1);
	CHECK_U64(d.map_id, 1);
	CHECK(d.map_has[7] && d.map_has[8] && d.map_has[9]);
	for (size_t i = 0; i < d.nlocs; i++) {
		int f = fn_index(&d, d.loc_func[i]);

		CHECK_MSG(d.loc_id[i] == i + 1 && d.loc_nlines[i] == 1 && f >= 0 && d.loc_map[i] == 1,
			  "location %zu: id %llu, %llu lines, function %llu", i,
			  (unsigned long long)d.loc_id[i], (unsigned long long)d.loc_nlines[i],
			  (unsigned long long)d.loc_func[i]);
	}
	for (size_t i = 0; i < d.nfns; i++) {
		const char *name = str(&d, d.fn_name[i]);

		CHECK_MSG(d.fn_id[i] == i + 1, "function %zu has id %llu", i, (unsigned long long)d.fn_id[i]);
		CHECK_U64(d.fn_sys[i], d.fn_name[i]);
		/* no view, no thread ("NAME [TID]"), nothing of weight 0 */
		CHECK_MSG(strcmp(name, "wait") && strcmp(name, "gil") && strcmp(name, "unseen") &&
			  (!strchr(name, '[') || !strcmp(name, "[truncated]")), "function %s", name);
	}
	/* the string table has no duplicates */
	for (size_t i = 0; i < d.nstrings; i++)
		for (size_t j = i + 1; j < d.nstrings; j++)
			CHECK_MSG(strcmp(d.strings[i], d.strings[j]), "\"%s\" twice", d.strings[i]);
out:
	dprof_free(&d);
}

/* No process: still a profile, string_table[0] = "" and nothing else. */
static void test_empty(void)
{
	static struct dprof d;

	if (write_and_decode(NULL, 0, 0, 0, &d)) {
		CHECK_U64(d.nstrings > 0 && !d.strings[0][0], 1);
		CHECK_U64(d.nst, 0);
		CHECK_U64(d.nsamples, 0);
		CHECK_U64(d.nmaps, 0);
		CHECK_U64(d.time_nanos, 0);
	}
	dprof_free(&d);
}

/* Many stacks: the tables grow, and the gzip stream spans many buffers. */
static void test_many(void)
{
	enum { NS = 3000 };
	static struct sym_stack st[NS];
	static char names[NS][40];
	static const char *frames[NS][3];
	struct sym_stack *views[4] = { st, NULL, NULL, NULL };
	const size_t n[4] = { NS, 0, 0, 0 };
	struct stack_report sr;
	struct pprof_proc p = { &sr, 7 };
	char *gz = NULL;
	size_t gzlen = 0;
	FILE *f = open_memstream(&gz, &gzlen);
	z_stream zs = {};
	uint8_t out[1 << 16];
	uint64_t total = 0;
	int e, rc;

	for (int i = 0; i < NS; i++) {
		snprintf(names[i], sizeof(names[i]), "fn%d (mod%d.py:%d)", i, i % 7, i);
		frames[i][0] = "wait";
		frames[i][1] = "t [7]";
		frames[i][2] = names[i];
		st[i] = (struct sym_stack){ frames[i], 3, (uint64_t)i + 1 };
	}
	fill(&sr, views, n);
	if (!f)
		return;
	e = pprof__write(f, &p, 1, 1, 1);
	fclose(f);
	CHECK_U64(e, 0);
	/* inflate and sum every sample's first value with a streaming reader:
	 * here only the totals matter, so scan the raw bytes for samples */
	CHECK(inflateInit2(&zs, 31) == Z_OK);
	zs.next_in = (Bytef *)gz;
	zs.avail_in = (uInt)gzlen;
	uint8_t *raw = NULL;
	size_t nraw = 0;

	do {
		zs.next_out = out;
		zs.avail_out = sizeof(out);
		rc = inflate(&zs, Z_NO_FLUSH);
		uint8_t *r = realloc(raw, nraw + sizeof(out) - zs.avail_out + 1);

		if (!r)
			break;
		raw = r;
		memcpy(raw + nraw, out, sizeof(out) - zs.avail_out);
		nraw += sizeof(out) - zs.avail_out;
	} while (rc == Z_OK);
	CHECK_U64(rc, Z_STREAM_END);
	inflateEnd(&zs);
	{
		const uint8_t *q = raw, *end = raw + nraw;
		struct field fl, g;
		size_t nsamples = 0, nstrings = 0;

		while (next_field(&q, end, &fl) == 1) {
			const uint8_t *s = fl.p, *send = fl.p + fl.len;

			nstrings += fl.num == 6;
			if (fl.num != 2)
				continue;
			nsamples++;
			while (next_field(&s, send, &g) == 1)
				if (g.num == 2) {
					uint64_t vals[4];

					if (get_ints(&g, vals, 0, 4) == 4)
						total += vals[0];
				}
		}
		CHECK_U64(nsamples, NS);
		/* "", the four views, two units, fn*, mod*.py, thread, "t [7]", pid, comment */
		CHECK_U64(nstrings, 1 + 4 + 2 + NS + 7 + 4);
	}
	CHECK_U64(total, (uint64_t)NS * (NS + 1) / 2 * 1000);
	free(raw);
	free(gz);
}

int main(void)
{
	test_profile();
	test_empty();
	test_many();
	return check_summary("test_pprof");
}
