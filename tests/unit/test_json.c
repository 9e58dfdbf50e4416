// SPDX-License-Identifier: MIT
/* JSON writer: exact escaping, exact layout, and validity as judged by
 * Python's json module when python3 is available. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "render/json.h"

/* A memory stream; the text is valid after fclose. */
struct mem { char *buf; size_t len; FILE *f; };

static FILE *mem_open(struct mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	return m->f;
}

static char *escaped(const char *s, size_t n)
{
	struct mem m;

	json_write_escaped(mem_open(&m), s, n);
	fclose(m.f);
	return m.buf;
}

static void test_escaping(void)
{
	static const char *const shortf[0x20] = {
		['\b'] = "\"\\b\"", ['\f'] = "\"\\f\"", ['\n'] = "\"\\n\"",
		['\r'] = "\"\\r\"", ['\t'] = "\"\\t\"",
	};
	char want[16], *got;

	for (int c = 0; c < 0x20; c++) {
		char in = (char)c;

		if (shortf[c])
			snprintf(want, sizeof(want), "%s", shortf[c]);
		else
			snprintf(want, sizeof(want), "\"\\u%04x\"", c);
		got = escaped(&in, 1);
		CHECK_MSG(!strcmp(got, want), "byte 0x%02x: %s, want %s", c, got, want);
		free(got);
	}
	got = escaped("a\"b\\c/d", 7);
	CHECK_STR(got, "\"a\\\"b\\\\c/d\"");
	free(got);
	got = escaped("caf\xc3\xa9 \x7f", 7);      /* UTF-8 and DEL pass through */
	CHECK_STR(got, "\"caf\xc3\xa9 \x7f\"");
	free(got);
	/* bytes that start no well-formed UTF-8 sequence: U+FFFD each (a
	 * stray byte, a truncated sequence, an overlong form, a surrogate) */
	{
		static const char in[] = "a\xff" "b \xe4\xb8 \xc0\xaf \xed\xa0\x80 \xf0\x9f\x98\x80";

		got = escaped(in, sizeof(in) - 1);
	}
	CHECK_STR(got, "\"a\\ufffdb \\ufffd\\ufffd \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd "
		       "\xf0\x9f\x98\x80\"");
	free(got);
	got = escaped("a\0b", 3);                   /* an embedded NUL is data */
	CHECK_STR(got, "\"a\\u0000b\"");
	free(got);
	got = escaped("", 0);
	CHECK_STR(got, "\"\"");
	free(got);
}

static void test_layout(void)
{
	struct json_writer *w;
	struct mem m;

	w = json_writer__new(mem_open(&m));
	CHECK(w != NULL);
	json_obj_begin(w);
	json_key(w, "a");
	json_int(w, 1);
	json_key(w, "list");
	json_arr_begin(w);
	json_uint(w, 2);
	json_obj_begin(w);
	json_obj_end(w);
	json_arr_begin(w);
	json_arr_end(w);
	json_str(w, NULL);
	json_arr_end(w);
	json_key(w, "o");
	json_obj_begin(w);
	json_key(w, "k\n");
	json_bool(w, true);
	json_obj_end(w);
	json_obj_end(w);
	json_writer__free(w);
	fclose(m.f);
	CHECK_STR(m.buf,
		  "{\n"
		  "  \"a\": 1,\n"
		  "  \"list\": [\n"
		  "    2,\n"
		  "    {},\n"
		  "    [],\n"
		  "    null\n"
		  "  ],\n"
		  "  \"o\": {\n"
		  "    \"k\\n\": true\n"
		  "  }\n"
		  "}\n");
	free(m.buf);

	/* A bare top-level scalar is a document too. */
	w = json_writer__new(mem_open(&m));
	json_double(w, NAN);
	json_writer__free(w);
	fclose(m.f);
	CHECK_STR(m.buf, "null\n");
	free(m.buf);
}

static char *one_double(double v)
{
	struct json_writer *w;
	struct mem m;

	w = json_writer__new(mem_open(&m));
	json_double(w, v);
	json_writer__free(w);
	fclose(m.f);
	m.buf[strcspn(m.buf, "\n")] = '\0';
	return m.buf;
}

static void test_doubles(void)
{
	static const struct { double v; const char *want; } cases[] = {
		{ 0.1, "0.1" }, { 1.5, "1.5" }, { 0, "0" }, { -2.25, "-2.25" },
		{ 1e6, "1000000" }, { 123456789012.0, "123456789012" },
		{ 1e300, "1e+300" }, { 0.1 + 0.2, "0.30000000000000004" },
		{ NAN, "null" }, { INFINITY, "null" }, { -INFINITY, "null" },
	};
	unsigned int bad = 0;
	char *s;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = one_double(cases[i].v);
		CHECK_STR(s, cases[i].want);
		free(s);
	}
	/* Every finite double prints so that it reads back unchanged: try
	 * random bit patterns, which cover all magnitudes. */
	srand(1);
	for (int i = 0; i < 20000; i++) {
		uint64_t bits = (uint64_t)rand() << 42 ^ (uint64_t)rand() << 21 ^ (uint64_t)rand();
		double v;

		memcpy(&v, &bits, sizeof(v));
		if (!isfinite(v))
			continue;
		s = one_double(v);
		bad += strtod(s, NULL) != v;
		free(s);
	}
	CHECK_MSG(bad == 0, "%u doubles did not round-trip", bad);
}

/* Python re-serialises our document canonically; compare that. */
static void test_python(void)
{
	const char *want =
		"{\"ctl\": \"\\u0000\\u0001\\u001f\\b\\t\\n\\f\\r\", "
		"\"deep\": [[[{\"x\": []}]]], \"e\": {}, \"f\": null, "
		"\"i\": -9223372036854775808, \"n\": null, \"q\": \"\\\"\\\\\", "
		"\"t\": [true, false, 0.5, 18446744073709551615]}\n";
	char tmpl[] = "/tmp/gs_test_json.XXXXXX", cmd[256], out[512] = "";
	struct json_writer *w;
	size_t len;
	FILE *f;
	int fd;

	if (system("command -v python3 >/dev/null 2>&1")) {
		printf("test_json: python3 not found, validity check skipped\n");
		return;
	}
	fd = mkstemp(tmpl);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	w = json_writer__new(f);
	json_obj_begin(w);
	json_key(w, "ctl");
	json_strn(w, "\0\1\37\b\t\n\f\r", 8);
	json_key(w, "q");
	json_str(w, "\"\\");
	json_key(w, "deep");
	json_arr_begin(w);
	json_arr_begin(w);
	json_arr_begin(w);
	json_obj_begin(w);
	json_key(w, "x");
	json_arr_begin(w);
	json_arr_end(w);
	json_obj_end(w);
	json_arr_end(w);
	json_arr_end(w);
	json_arr_end(w);
	json_key(w, "e");
	json_obj_begin(w);
	json_obj_end(w);
	json_key(w, "f");
	json_double(w, INFINITY);
	json_key(w, "i");
	json_int(w, INT64_MIN);
	json_key(w, "n");
	json_null(w);
	json_key(w, "t");
	json_arr_begin(w);
	json_bool(w, true);
	json_bool(w, false);
	json_double(w, 0.5);
	json_uint(w, UINT64_MAX);
	json_arr_end(w);
	json_obj_end(w);
	json_writer__free(w);
	fclose(f);

	snprintf(cmd, sizeof(cmd), "python3 -c 'import json,sys; "
		 "print(json.dumps(json.load(sys.stdin), sort_keys=True))' < %s", tmpl);
	f = popen(cmd, "r");
	CHECK(f != NULL);
	if (f) {
		len = fread(out, 1, sizeof(out) - 1, f);
		out[len] = '\0';
		CHECK_MSG(pclose(f) == 0, "python3 rejected the document");
		CHECK_STR(out, want);
	}
	unlink(tmpl);
}

int main(void)
{
	test_escaping();
	test_layout();
	test_doubles();
	test_python();
	return check_summary("test_json");
}
