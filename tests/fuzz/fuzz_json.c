// SPDX-License-Identifier: MIT
/* JSON string escaping (user/render/json.c): whatever bytes a target puts
 * in a name or path must come out as one JSON string, valid UTF-8, that
 * reads back as those bytes with each byte that starts no well-formed
 * UTF-8 sequence replaced by U+FFFD. Input: the bytes. */
#include "fuzz.h"
#include "render/json.h"

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The well-formed UTF-8 sequence at s[0..n): its length, 0 if none;
 * decoded to a code point and range-checked (the writer compares bytes). */
static size_t seq_len(const uint8_t *s, size_t n)
{
	unsigned c = s[0], len, cp;

	if (c < 0x80)
		return 1;
	len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
	if (!len || len > n || c > 0xf7)
		return 0;
	cp = c & (0x7f >> len);
	for (unsigned k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Decode one JSON string literal (RFC 8259; \u escapes of the BMP, no
 * surrogates, as the writer emits) from t[0..n); the decoded bytes into
 * out. Returns the decoded length, or -1 if t is not exactly one such
 * literal of well-formed UTF-8. */
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
		if (c >= 0x80) {
			size_t len = seq_len((const uint8_t *)t + i - 1, n - 1 - (i - 1));

			if (!len || o + len > cap)
				return -1;
			memcpy(out + o, t + i - 1, len);
			o += len;
			i += len - 1;
			continue;
		}
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
			i += 4;
			if (v >= 0xd800 && v <= 0xdfff)
				return -1;
			if (v < 0x80) {
				out[o++] = (uint8_t)v;
			} else if (v < 0x800) {
				if (o + 2 > cap)
					return -1;
				out[o++] = (uint8_t)(0xc0 | v >> 6);
				out[o++] = (uint8_t)(0x80 | (v & 0x3f));
			} else {
				if (o + 3 > cap)
					return -1;
				out[o++] = (uint8_t)(0xe0 | v >> 12);
				out[o++] = (uint8_t)(0x80 | ((v >> 6) & 0x3f));
				out[o++] = (uint8_t)(0x80 | (v & 0x3f));
			}
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
	size_t len = 0, nwant = 0;
	uint8_t *back, *want;
	FILE *f;
	struct json_writer *w;

	f = open_memstream(&text, &len);
	if (!f)
		return 0;
	json_write_escaped(f, (const char *)data, size);
	fclose(f);
	/* what should read back: the input, U+FFFD for each stray byte */
	want = malloc(3 * size + 1);
	back = malloc(3 * size + 1);
	FUZZ_ASSERT(want && back);
	for (size_t i = 0; i < size;) {
		size_t l = seq_len(data + i, size - i);

		if (!l) {
			memcpy(want + nwant, "\xef\xbf\xbd", 3);
			nwant += 3;
			i++;
			continue;
		}
		memcpy(want + nwant, data + i, l);
		nwant += l;
		i += l;
	}
	FUZZ_ASSERT(unescape(text, len, back, 3 * size + 1) == (long)nwant);
	FUZZ_ASSERT(memcmp(back, want, nwant) == 0);
	free(back);
	free(want);
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
