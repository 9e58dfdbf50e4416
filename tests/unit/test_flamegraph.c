// SPDX-License-Identifier: MIT
/* Flame graph SVG: the merged tree (offsets and weights computed by hand),
 * elision, text fitting, escaping of hostile names, and well-formed XML as
 * judged by Python's parser when python3 is available. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "render/flamegraph.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define FFFD "\xef\xbf\xbd"

/* The SVG of views as a NUL-terminated string; NULL on error. */
static char *render(const char *title, const struct fg_view *views, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f)
		return NULL;
	err = flamegraph__write_svg(f, title, views, n);
	fclose(f);
	CHECK_MSG(err == 0, "flamegraph__write_svg: %d", err);
	if (err) {
		free(buf);
		return NULL;
	}
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Every output byte below 0x20 is a newline or a tab (the script's
 * indentation; names lose theirs, as test_escaping checks). */
static bool no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
			return false;
	return true;
}

static void check_xml(const char *svg, const char *what)
{
	char path[] = "/tmp/test_flamegraph.XXXXXX", cmd[256];
	int fd, rc;

	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		printf("test_flamegraph: no python3, XML parse of %s skipped\n", what);
		return;
	}
	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, svg, strlen(svg)) == (ssize_t)strlen(svg));
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import sys,xml.etree.ElementTree as E; E.parse(sys.argv[1])' %s", path);
	rc = system(cmd);
	CHECK_MSG(rc == 0, "%s is not well-formed XML (kept in %s)", what, path);
	if (rc == 0)
		unlink(path);
}

/* One frame as write_frame() prints it: depth, offset, weight, name. */
static const char *frame_at(const char *svg, unsigned int d, unsigned int o, unsigned int w,
			    const char *name)
{
	char want[512];

	snprintf(want, sizeof(want), "<g class=\"f\" gs:d=\"%u\" gs:o=\"%u\" gs:w=\"%u\"><title>%s\n",
		 d, o, w, name);
	return strstr(svg, want);
}

/* Unsorted input with a repeated stack, a prefix-only stack, a zero-weight
 * stack, a depth-0 stack, and names whose byte order is not case order.
 *
 *   total 55 = 10+5+20+7+3+2+4+4 (the depth-0 stack counts, draws nothing)
 *   B        w=4  off=0    (uppercase sorts first)
 *   a        w=44 off=4    = 10+5+20+7+2
 *   a;b      w=24 off=4    = 10+5+7+2; 5 of it is self time, at the right
 *   a;b;c    w=17 off=4    = 10+7 merged
 *   a;b;e    w=2  off=21
 *   a;d      w=20 off=28
 *   x        w=3  off=48
 */
static void test_merge(void)
{
	static const char *const abc[] = { "a", "b", "c" }, *const ab[] = { "a", "b" },
		*const ad[] = { "a", "d" }, *const x[] = { "x" }, *const abe[] = { "a", "b", "e" },
		*const zz[] = { "z", "z" }, *const B[] = { "B" };
	const struct sym_stack stacks[] = {
		{ abc, 3, 10 }, { x, 1, 3 }, { ab, 2, 5 }, { ad, 2, 20 }, { zz, 2, 0 },
		{ abc, 3, 7 }, { NULL, 0, 4 }, { abe, 3, 2 }, { B, 1, 4 },
	};
	const struct fg_view view = { "t", "merge test", "us", stacks, N(stacks) };
	const char *p[7];
	char *svg = render("merge", &view, 1);

	if (!svg)
		return;
	CHECK_U64(count(svg, "<g class=\"f\""), 7);
	CHECK(strstr(svg, "gs:total=\"55\""));
	CHECK((p[0] = frame_at(svg, 0, 0, 4, "B")));
	CHECK((p[1] = frame_at(svg, 0, 4, 44, "a")));
	CHECK((p[2] = frame_at(svg, 1, 4, 24, "b")));
	CHECK((p[3] = frame_at(svg, 2, 4, 17, "c")));
	CHECK((p[4] = frame_at(svg, 2, 21, 2, "e")));
	CHECK((p[5] = frame_at(svg, 1, 28, 20, "d")));
	CHECK((p[6] = frame_at(svg, 0, 48, 3, "x")));
	for (size_t i = 1; i < N(p); i++)
		CHECK_MSG(p[i - 1] && p[i] && p[i - 1] < p[i], "frame %zu out of pre-order", i);
	CHECK(!strstr(svg, "<title>z\n"));
	/* Widths: a is 44/55 of 1180 px at x = 10 + 4/55 * 1180. */
	CHECK(strstr(svg, "<title>a\n44 us (80.00%)</title><rect x=\"95.82\" y=\""));
	CHECK(strstr(svg, "width=\"944.00\""));
	CHECK(strstr(svg, "<title>c\n17 us (30.91%)</title>"));
	/* A single view has no selector. */
	CHECK_U64(count(svg, "class=\"btn vb"), 0);
	CHECK(strstr(svg, "0 frames narrower than 0.1% of the total are not drawn."));
	CHECK_U64(count(svg, "]]>"), 2); /* the style's and the script's */
	CHECK(no_controls(svg));
	check_xml(svg, "the merge test");
	free(svg);
}

/* total 100001, so frames under 100.001 are left out: tiny (50), and rare,
 * rare;x, rare;x;y (1 each). The outermost of them hold 51 (0.05%). */
static void test_elision(void)
{
	static const char *const m[] = { "main" }, *const mt[] = { "main", "tiny" },
		*const o[] = { "other" }, *const rxy[] = { "rare", "x", "y" };
	const struct sym_stack stacks[] = {
		{ m, 1, 99800 }, { mt, 2, 50 }, { o, 1, 150 }, { rxy, 3, 1 },
	};
	const struct fg_view view = { "e", "elision", "samples", stacks, N(stacks) };
	char *svg = render("elision", &view, 1);

	if (!svg)
		return;
	CHECK_U64(count(svg, "<g class=\"f\""), 2);
	CHECK(frame_at(svg, 0, 0, 99850, "main"));
	CHECK(frame_at(svg, 0, 99850, 150, "other"));
	CHECK(strstr(svg, "<title>main\n99,850 samples (99.85%)</title>"));
	CHECK(strstr(svg, "Total 100,001 samples. 4 frames narrower than 0.1% of the total are "
			  "not drawn; they cut short stacks holding 0.05% of the weight."));
	CHECK(!strstr(svg, "tiny"));
	free(svg);
}

/* Names that fill only part of their frame come out cut, at a character
 * boundary: 10% of 1180 px leaves room for 15 characters of 7.3 px. */
static void test_fit(void)
{
	static const char *const l[] = { "abcdefghijklmnopqrstuvwxyz" },
		*const u[] = { "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			       "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" },
		*const s[] = { "short" }, *const big[] = { "big" }, *const n[] = { "narrow" };
	const struct sym_stack stacks[] = {
		{ l, 1, 100 }, { u, 1, 100 }, { s, 1, 100 }, { big, 1, 680 }, { n, 1, 20 },
	};
	const struct fg_view view = { "f", "fit", "us", stacks, N(stacks) };
	char *svg = render("fit", &view, 1);

	if (!svg)
		return;
	CHECK(strstr(svg, ">abcdefghijklm..</text>"));
	CHECK(strstr(svg, ">\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9..</text>"));
	CHECK(strstr(svg, ">short</text>"));
	/* 23.6 px: room for 2 characters, too few for one and "..". */
	CHECK(strstr(svg, "<title>narrow\n20 us (2.00%)</title>"));
	CHECK(!strstr(svg, ">narrow</text>") && !strstr(svg, ">n..</text>"));
	free(svg);
}

/* Hostile names, title, view name and unit: escaped, cleaned, still XML. */
static void test_escaping(void)
{
	static const char *const names[] = {
		"<script>alert(1)</script>",
		"a&b",
		"q\"uote'",
		"ctl\x01\x1f\x7f\n\t.",
		"bad\xff\xfe.",
		"over\xc0\xaf.",
		"sur\xed\xa0\x80.",
		"c1\xc2\x85.",
		"nonchar\xef\xbf\xbe.",
		"big\xf4\x90\x80\x80.",
		"trunc\xe2\x82",
		"ok\xc3\xa9\xe2\x82\xac\xf0\x9f\x90\x8d",
		"]]>",
	};
	struct sym_stack stacks[N(names)];
	const struct fg_view views[] = {
		{ "v<1>", "t&\"it'le", "u<s>", stacks, N(stacks) },
		{ "two", NULL, NULL, stacks, 2 },
	};
	char *svg;

	for (size_t i = 0; i < N(names); i++)
		stacks[i] = (struct sym_stack){ &names[i], 1, 1000 + i };
	svg = render("<&>\x1b", views, N(views));
	if (!svg)
		return;
	CHECK(!strstr(svg, "<script>alert"));
	CHECK(strstr(svg, "<title>&lt;script&gt;alert(1)&lt;/script&gt;\n"));
	CHECK(strstr(svg, "<title>a&amp;b\n"));
	CHECK(strstr(svg, "<title>q&quot;uote&apos;\n"));
	CHECK(strstr(svg, "<title>ctl" FFFD FFFD FFFD FFFD FFFD ".\n"));
	CHECK(strstr(svg, "<title>bad" FFFD FFFD ".\n"));
	CHECK(strstr(svg, "<title>over" FFFD FFFD ".\n"));
	CHECK(strstr(svg, "<title>sur" FFFD FFFD FFFD ".\n"));
	CHECK(strstr(svg, "<title>c1" FFFD ".\n"));
	CHECK(strstr(svg, "<title>nonchar" FFFD ".\n"));
	CHECK(strstr(svg, "<title>big" FFFD FFFD FFFD FFFD ".\n"));
	CHECK(strstr(svg, "<title>trunc" FFFD "\n"));
	CHECK(strstr(svg, "<title>ok\xc3\xa9\xe2\x82\xac\xf0\x9f\x90\x8d\n"));
	CHECK(strstr(svg, "<title>]]&gt;\n"));
	CHECK(strstr(svg, "<title>&lt;&amp;&gt;" FFFD "</title>"));
	CHECK(strstr(svg, "gs:unit=\"u&lt;s&gt;\""));
	CHECK(strstr(svg, "t&amp;&quot;it&apos;le"));
	CHECK(strstr(svg, ">v&lt;1&gt;: 13,078 u&lt;s&gt;</text>"));
	/* Two views: a selector with two buttons, the second view hidden. */
	CHECK_U64(count(svg, "class=\"btn vb"), 2);
	CHECK(strstr(svg, "<g class=\"view hid\" id=\"view1\" gs:total=\"2001\""));
	CHECK(no_controls(svg));
	CHECK_U64(count(svg, "]]>"), 2);
	check_xml(svg, "the escaping test");
	free(svg);
}

static void test_edges(void)
{
	const struct fg_view empty = { "none", "nothing", "us", NULL, 0 };
	FILE *full;
	char *svg;

	CHECK_U64(flamegraph__write_svg(NULL, "x", &empty, 1), (uint64_t)-EINVAL);
	CHECK_U64(flamegraph__write_svg(stdout, "x", NULL, 1), (uint64_t)-EINVAL);
	svg = render("empty", &empty, 1);
	if (svg) {
		CHECK(strstr(svg, "No samples."));
		check_xml(svg, "an empty view");
		free(svg);
	}
	svg = render(NULL, NULL, 0);
	if (svg) {
		CHECK(strstr(svg, "No data."));
		check_xml(svg, "no views");
		free(svg);
	}
	/* A failed write is an error. */
	full = fopen("/dev/full", "w");
	if (full) {
		CHECK_U64(flamegraph__write_svg(full, "x", &empty, 1), (uint64_t)-ENOSPC);
		fclose(full);
	}
}

int main(void)
{
	test_merge();
	test_elision();
	test_fit();
	test_escaping();
	test_edges();
	return check_summary("test_flamegraph");
}
