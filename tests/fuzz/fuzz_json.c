// SPDX-License-Identifier: MIT
/* JSON string escaping (user/render/json.c): whatever bytes a target puts
 * in a name or path must come out as one JSON string that reads back as
 * exactly those bytes. Input: the bytes. */
#include "fuzz.h"
#include "render/json.h"

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decode one JSON string literal (RFC 8259, \u escapes below 0x100 only, as
 * the writer emits) from t[0..n); the decoded bytes into out. Returns the
 * decoded length, or -1 if t is not exactly one such literal. */
static long unescape(const char *t, size_t n, uint8_t *out, size_t cap)
{
	size_t i = 1, o = 0;

	if (n < 2 || t[0] != '"' || t[n - 1] != '"')
		return -1;
	while (i < n - 1) {
		unsigned char c = (unsigned char)t[i++];

		if (o >= cap)
			return -1;   /* more bytes than went in */
		if (c == '"' || c < 0x20)
			return -1;
		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		if (i >= n - 1)
			return -1;
		switch (t[i++]) {
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case '/': out[o++] = '/'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u': {
			int v = 0;

			if (i + 4 > n - 1)
				return -1;
			for (int k = 0; k < 4; k++) {
				int h = hexval(t[i + k]);

				if (h < 0)
					return -1;
				v = v << 4 | h;
			}
			if (v > 0xff)
				return -1;
			out[o++] = (uint8_t)v;
			i += 4;
			break;
		}
		default:
			return -1;
		}
	}
	return (long)o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = NULL, *s;
	size_t len = 0;
	uint8_t *back;
	FILE *f;
	struct json_writer *w;

	f = open_memstream(&text, &len);
	if (!f)
		return 0;
	json_write_escaped(f, (const char *)data, size);
	fclose(f);
	back = malloc(size + 1);
	FUZZ_ASSERT(back);
	FUZZ_ASSERT(unescape(text, len, back, size + 1) == (long)size);
	FUZZ_ASSERT(memcmp(back, data, size) == 0);
	free(back);
	free(text);

	/* the same bytes as a key and a value of the writer, NUL-terminated */
	s = malloc(size + 1);
	FUZZ_ASSERT(s);
	memcpy(s, data, size);
	s[size] = 0;
	text = NULL;
	f = open_memstream(&text, &len);
	if (f && (w = json_writer__new(f))) {
		json_obj_begin(w);
		json_key(w, s);
		json_strn(w, s, size);
		json_key(w, "n");
		json_arr_begin(w);
		json_double(w, (double)size / 3);
		json_str(w, NULL);
		json_arr_end(w);
		json_obj_end(w);
		json_writer__free(w);
	}
	if (f)
		fclose(f);
	free(text);
	free(s);
	return 0;
}
