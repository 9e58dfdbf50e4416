// SPDX-License-Identifier: MIT
/* Streaming JSON writer. Each open container remembers whether it is an
 * object and how many members it has, which is all comma placement and
 * indentation need. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "render/json.h"

struct json_level {
	bool is_obj;
	size_t n;               /* members written so far */
};

struct json_writer {
	FILE *f;
	struct json_level *stack;
	size_t depth, cap;
	bool have_key;          /* json_key() wrote "key": for the next value */
	bool broken;            /* out of memory: write nothing more */
};

struct json_writer *json_writer__new(FILE *f)
{
	struct json_writer *w = calloc(1, sizeof(*w));

	if (w)
		w->f = f;
	return w;
}

void json_writer__free(struct json_writer *w)
{
	if (!w)
		return;
	free(w->stack);
	free(w);
}

static void indent(struct json_writer *w)
{
	fputc('\n', w->f);
	for (size_t i = 0; i < w->depth; i++)
		fputs("  ", w->f);
}

/* Separator and indentation before a member of the current container. */
static void member_start(struct json_writer *w)
{
	if (w->depth) {
		if (w->stack[w->depth - 1].n++)
			fputc(',', w->f);
		indent(w);
	}
}

static bool value_start(struct json_writer *w)
{
	if (w->broken)
		return false;
	if (w->have_key)
		w->have_key = false;
	else
		member_start(w);
	return true;
}

/* A top-level value is a complete document: end it with a newline. */
static void value_end(struct json_writer *w)
{
	if (!w->depth)
		fputc('\n', w->f);
}

static void begin(struct json_writer *w, bool is_obj)
{
	if (!value_start(w))
		return;
	if (gs_grow(&w->stack, &w->cap, w->depth + 1, sizeof(*w->stack), 8)) {
		w->broken = true;
		return;
	}
	w->stack[w->depth].is_obj = is_obj;
	w->stack[w->depth].n = 0;
	w->depth++;
	fputc(is_obj ? '{' : '[', w->f);
}

static void end(struct json_writer *w)
{
	bool is_obj;

	if (w->broken || !w->depth)
		return;
	is_obj = w->stack[w->depth - 1].is_obj;
	w->depth--;
	/* Empty containers stay on one line: {} and []. */
	if (w->stack[w->depth].n)
		indent(w);
	fputc(is_obj ? '}' : ']', w->f);
	value_end(w);
}

void json_obj_begin(struct json_writer *w) { begin(w, true); }
void json_obj_end(struct json_writer *w) { end(w); }
void json_arr_begin(struct json_writer *w) { begin(w, false); }
void json_arr_end(struct json_writer *w) { end(w); }

void json_key(struct json_writer *w, const char *key)
{
	if (w->broken)
		return;
	member_start(w);
	json_write_escaped(w->f, key, strlen(key));
	fputs(": ", w->f);
	w->have_key = true;
}

/* The length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no
 * overlong forms, surrogates or code points past U+10FFFF), 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, lo = s[0] == 0xe0 ? 0xa0 : 0x80, hi = s[0] == 0xed ? 0x9f : 0xbf;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, lo = s[0] == 0xf0 ? 0x90 : 0x80, hi = s[0] == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	return len;
}

void json_write_escaped(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80) {
			/* JSON is UTF-8: a byte that starts no well-formed
			 * sequence (a thread's name, a path: any bytes) is
			 * written as U+FFFD */
			size_t len = utf8_seq((const unsigned char *)s + i, n - i);

			if (!len) {
				fputs("\\ufffd", f);
				continue;
			}
			fwrite(s + i, 1, len, f);
			i += len - 1;
			continue;
		}

		switch (c) {
		case '"':  fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (c < 0x20)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

void json_strn(struct json_writer *w, const char *s, size_t n)
{
	if (!s) {
		json_null(w);
		return;
	}
	if (!value_start(w))
		return;
	json_write_escaped(w->f, s, n);
	value_end(w);
}

void json_str(struct json_writer *w, const char *s)
{
	json_strn(w, s, s ? strlen(s) : 0);
}

static void raw(struct json_writer *w, const char *text)
{
	if (!value_start(w))
		return;
	fputs(text, w->f);
	value_end(w);
}

void json_int(struct json_writer *w, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	raw(w, buf);
}

void json_uint(struct json_writer *w, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	raw(w, buf);
}

void json_double(struct json_writer *w, double v)
{
	char buf[40];

	if (!isfinite(v)) {
		raw(w, "null"); /* JSON has no NaN or Infinity */
		return;
	}
	/* Shortest of 15 or 17 digits that reads back as the same double:
	 * 0.1 stays "0.1", and nothing is lost when 15 digits are not enough. */
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	/* A locale with a decimal comma would break the number. */
	for (char *p = buf; *p; p++)
		if (*p == ',')
			*p = '.';
	raw(w, buf);
}

void json_bool(struct json_writer *w, bool v)
{
	raw(w, v ? "true" : "false");
}

void json_null(struct json_writer *w)
{
	raw(w, "null");
}
