// SPDX-License-Identifier: MIT
/* Line tables: hand-made tables for each format's corner cases, then every
 * code object of fixtures/lines_fixture.py under every pyenv interpreter,
 * against the lines that interpreter reports (fixtures/dump_lines.py).
 * Run from the repo root. */
#include <glob.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "check.h"
#include "model/linetable.h"

#define LINE(minor, first, t, off) \
	py_line_for_offset(minor, first, t, sizeof(t), off)

static void check_line(int minor, int first, const uint8_t *t, size_t len,
		       uint32_t off, int want)
{
	int got = py_line_for_offset(minor, first, t, len, off);

	CHECK_MSG(got == want, "3.%d offset %u: line %d, want %d", minor, off,
		  got, want);
}

static void test_lnotab(void)
{
	/* firstlineno 10; entries end at addr 0, 6, 10, 265, 265+45 */
	static const uint8_t t[] = { 0, 1, 6, 2, 4, 0xfe, 255, 0, 45, 1 };
	static const uint8_t jump[] = { 0, 127, 0, 73, 2, 1 };
	static const uint8_t odd[] = { 4, 1, 9 };
	static const struct { uint32_t off; int line; } want[] = {
		{ 0, 11 }, { 4, 11 }, { 6, 13 }, { 8, 13 }, { 10, 11 },
		{ 264, 11 }, { 309, 11 }, { 310, 12 }, { 100000, 12 },
	};

	for (int minor = 6; minor <= 9; minor++) {
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			check_line(minor, 10, t, sizeof(t), want[i].off, want[i].line);
		check_line(minor, 10, jump, sizeof(jump), 0, 210);
		check_line(minor, 10, jump, sizeof(jump), 2, 211);
		/* a trailing half pair is ignored, as PyCode_Addr2Line does */
		check_line(minor, 10, odd, sizeof(odd), 100, 11);
		/* no table: everything is on the first line */
		check_line(minor, 10, NULL, 0, 0, 10);
		check_line(minor, 10, t, 0, 50, 10);
	}
}

static void test_linetable310(void)
{
	/* firstlineno 5: [0,6) 6; two empty ranges +127 +3; [6,10) 136;
	 * [10,12) none; [12,266) 135; [266,276) 135; [276,278) 136 */
	static const uint8_t t[] = {
		6, 1, 0, 127, 0, 3, 4, 0, 2, 0x80, 254, 0xff, 10, 0, 2, 1,
	};
	static const struct { uint32_t off; int line; } want[] = {
		{ 0, 6 }, { 5, 6 }, { 6, 136 }, { 9, 136 }, { 10, -1 },
		{ 11, -1 }, { 12, 135 }, { 265, 135 }, { 266, 135 },
		{ 276, 136 }, { 277, 136 }, { 278, -1 }, { 100000, -1 },
	};
	static const uint8_t big[] = { 2, 1 };

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		check_line(10, 5, t, sizeof(t), want[i].off, want[i].line);
	check_line(10, 5, NULL, 0, 0, -1);
	check_line(10, 5, t, 1, 0, -1);		/* half a pair */
	CHECK(LINE(10, INT_MAX, big, 0) == -1);	/* line overflow */
}

static const uint8_t loc[] = {
	0x80, 0x05,			/* short form 0, 1 unit: +0 */
	0xda, 0x04, 0x09,		/* one-line 11, 3 units: +1 */
	0xf9,				/* none, 2 units */
	0xe8, 0x07,			/* no columns, 1 unit: svarint 7 = -3 */
	0xf7, 0x50, 0x06,		/* long, 8 units: svarint 400 = +200 */
	      0x00, 0x05, 0x42, 0x02,	/*   end line, col+1, endcol+1 = 130 */
	0xe0, 0x01, 0x02,		/* one-line 12, 1 unit: +2 */
	0xc8, 0x12,			/* short form 9, 1 unit: +0 */
};

static void test_locations(void)
{
	static const struct { uint32_t off; int line; } want[] = {
		{ 0, 100 }, { 1, 100 }, { 2, 101 }, { 7, 101 }, { 8, -1 },
		{ 11, -1 }, { 12, 98 }, { 13, 98 }, { 14, 298 }, { 29, 298 },
		{ 30, 300 }, { 32, 300 }, { 33, 300 }, { 34, -1 },
	};
	static const uint8_t no_header[] = { 0x05, 0x80, 0x00 };
	static const uint8_t huge[] = { 0xe8, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x01 };

	for (int minor = 11; minor <= 14; minor++) {
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			check_line(minor, 100, loc, sizeof(loc), want[i].off,
				   want[i].line);
		/* cut inside the long entry's svarint: the entries before it
		 * still decode, it and everything after have no line (and
		 * nothing past the cut is read: run under ASan to see) */
		check_line(minor, 100, loc, 10, 12, 98);
		check_line(minor, 100, loc, 10, 14, -1);
		check_line(minor, 100, loc, 10, 40, -1);
		/* cut right after a header that needs a svarint */
		check_line(minor, 100, loc, 7, 2, 101);
		check_line(minor, 100, loc, 7, 12, -1);
		check_line(minor, 100, no_header, sizeof(no_header), 0, -1);
		check_line(minor, 100, huge, sizeof(huge), 0, -1);
		check_line(minor, 100, NULL, 0, 0, -1);
	}
}

static void test_versions(void)
{
	static const uint8_t t[] = { 2, 1 };

	CHECK(LINE(5, 1, t, 0) == -1);
	CHECK(LINE(2, 1, t, 0) == -1);
	CHECK(LINE(16, 1, loc, 0) == -1);
	CHECK(LINE(-1, 1, t, 0) == -1);
	/* the same bytes mean different things per version */
	CHECK(LINE(9, 1, t, 0) == 1);
	CHECK(LINE(10, 1, t, 0) == 2);
	CHECK(LINE(11, 100, loc, 2) == 101);
}

/* ---- ground truth from the interpreters ---- */

struct code_rec {
	int first;
	uint32_t code_len;
	uint8_t *table;
	size_t len;
	char name[128];
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "C <first> <code bytes> <hex or -> <name>" */
static bool parse_code(const char *s, struct code_rec *c)
{
	char hex_fmt[32], *hex = NULL;
	size_t n;
	bool ok = false;

	free(c->table);
	c->table = NULL;
	c->len = 0;
	hex = malloc(strlen(s) + 1);
	if (!hex)
		return false;
	snprintf(hex_fmt, sizeof(hex_fmt), "C %%d %%u %%s %%%zus", sizeof(c->name) - 1);
	if (sscanf(s, hex_fmt, &c->first, &c->code_len, hex, c->name) != 4)
		goto out;
	n = strcmp(hex, "-") ? strlen(hex) : 0;
	if (n % 2)
		goto out;
	c->table = malloc(n / 2 + 1);
	if (!c->table)
		goto out;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			goto out;
		c->table[i] = hi << 4 | lo;
	}
	c->len = n / 2;
	ok = true;
out:
	free(hex);
	return ok;
}

/* Check one "O <off> <line> <line2>" record of code c. */
static void check_offset(const char *python, int minor, const struct code_rec *c,
			 uint32_t off, int want, const char *want2)
{
	int got = py_line_for_offset(minor, c->first, c->table, c->len, off);

	CHECK_MSG(got == want, "%s: %s offset %u: line %d, want %d", python,
		  c->name, off, got, want);
	/* PyCode_Addr2Line's answer, when ctypes could call it */
	if (strcmp(want2, "?"))
		CHECK_MSG(got == atoi(want2), "%s: %s offset %u: line %d, "
			  "PyCode_Addr2Line says %s", python, c->name, off, got,
			  want2);
	/* 3.10+: the offset just past the code is outside the table */
	if (minor >= 10 && off + 2 == c->code_len) {
		got = py_line_for_offset(minor, c->first, c->table, c->len, c->code_len);
		CHECK_MSG(got == -1, "%s: %s: end of code has line %d", python,
			  c->name, got);
	}
}

/* Run dump_lines.py under one interpreter and check every line it reports.
 * Returns the minor version covered, or -1. */
static int check_interpreter(const char *python, const char *dump, const char *fixture)
{
	unsigned int before = checks_failed;
	int major = 0, minor = -1, hot = -1;
	bool ended = false, have_code = false, hot_seen = false;
	struct code_rec c = { 0 };
	char cmd[4096], *line = NULL;
	size_t cap = 0;
	int status;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "'%s' -I '%s' '%s'", python, dump, fixture);
	f = popen(cmd, "r");
	CHECK_MSG(f != NULL, "popen %s", cmd);
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		unsigned int off;
		char want2[16];
		int want;

		switch (line[0]) {
		case 'V':
			CHECK(sscanf(line, "V %d %d", &major, &minor) == 2);
			break;
		case 'H':
			CHECK(sscanf(line, "H %d", &hot) == 1);
			break;
		case 'C':
			have_code = parse_code(line, &c);
			CHECK_MSG(have_code, "%s: bad record %s", python, line);
			/* the fixture's comment says where the hot line is */
			if (have_code && !strcmp(c.name, "hot_loop"))
				CHECK_MSG(hot == c.first + 3, "%s: hot line %d, "
					  "hot_loop at %d", python, hot, c.first);
			break;
		case 'O':
			if (!have_code ||
			    sscanf(line, "O %u %d %15s", &off, &want, want2) != 3) {
				CHECK_MSG(0, "%s: bad record %s", python, line);
				break;
			}
			check_offset(python, minor, &c, off, want, want2);
			if (!strcmp(c.name, "hot_loop") && want == hot)
				hot_seen = true;
			break;
		case 'E':
			ended = true;
			break;
		}
	}
	free(line);
	free(c.table);
	status = pclose(f);
	CHECK_MSG(status == 0 && ended, "%s: dump_lines.py failed (status %d)",
		  python, status);
	CHECK_MSG(major == 3 && minor >= 6 && minor <= 14, "%s: version %d.%d",
		  python, major, minor);
	CHECK_MSG(hot_seen, "%s: no offset of hot_loop on line %d", python, hot);
	return checks_failed == before ? minor : -1;
}

/* pythonX.Y or pythonX.Yt, not python3.Ym, python3.Y-config, ... */
static bool is_interpreter(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t i = strlen("python3.");

	base = base ? base + 1 : path;
	if (strncmp(base, "python3.", i) || base[i] < '0' || base[i] > '9')
		return false;
	while (base[i] >= '0' && base[i] <= '9')
		i++;
	if (base[i] == 't')
		i++;
	return base[i] == '\0' && !strchr(path, '\'');
}

static void test_interpreters(void)
{
	const char *slash = strrchr(__FILE__, '/');
	int dirlen = slash ? (int)(slash - __FILE__ + 1) : 0;
	char dump[512], fixture[512], pattern[600], root[400] = "";
	bool covered[15] = { false };
	int ncovered = 0;
	glob_t g = { 0 };
	FILE *f;

	/* the fixtures sit next to this file (run from the repo root) */
	snprintf(dump, sizeof(dump), "%.*sfixtures/dump_lines.py", dirlen, __FILE__);
	snprintf(fixture, sizeof(fixture), "%.*sfixtures/lines_fixture.py", dirlen, __FILE__);

	glob("/root/.pyenv/versions/3.*/bin/python3.*", 0, NULL, &g);
	f = popen("pyenv root 2>/dev/null", "r");
	if (f) {
		if (fgets(root, sizeof(root), f))
			root[strcspn(root, "\n")] = '\0';
		pclose(f);
	}
	if (root[0] && strcmp(root, "/root/.pyenv")) {
		snprintf(pattern, sizeof(pattern), "%s/versions/3.*/bin/python3.*", root);
		glob(pattern, GLOB_APPEND, NULL, &g);
	}

	for (size_t i = 0; i < g.gl_pathc; i++) {
		int minor;

		if (!is_interpreter(g.gl_pathv[i]))
			continue;
		minor = check_interpreter(g.gl_pathv[i], dump, fixture);
		if (minor >= 0 && minor < 15 && !covered[minor]) {
			covered[minor] = true;
			ncovered++;
		}
	}
	globfree(&g);

	printf("test_linetable: interpreters covered:");
	for (int m = 0; m < 15; m++)
		if (covered[m])
			printf(" 3.%d", m);
	printf("%s\n", ncovered ? "" : " none");
	CHECK_MSG(ncovered > 0, "no pyenv interpreter ran %s", dump);
}

int main(void)
{
	test_lnotab();
	test_linetable310();
	test_locations();
	test_versions();
	test_interpreters();
	return check_summary("test_linetable");
}
