/* SPDX-License-Identifier: MIT */
/* A small streaming JSON writer (pretty-printed, two-space indent). Keys and
 * string values are escaped completely: ", \, and every byte below 0x20
 * (\b \f \n \r \t short forms, \u00XX otherwise); well-formed UTF-8 passes
 * through, and each byte >= 0x80 that starts no well-formed sequence is
 * written as \ufffd (JSON text is UTF-8; names and paths are any bytes). */
#ifndef GS_JSON_H
#define GS_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json_writer;

struct json_writer *json_writer__new(FILE *f);
void json_writer__free(struct json_writer *w); /* does not close f */

void json_obj_begin(struct json_writer *w);
void json_obj_end(struct json_writer *w);
void json_arr_begin(struct json_writer *w);
void json_arr_end(struct json_writer *w);
void json_key(struct json_writer *w, const char *key); /* next value's key */
void json_str(struct json_writer *w, const char *s);   /* NULL -> null */
void json_strn(struct json_writer *w, const char *s, size_t n);
void json_int(struct json_writer *w, int64_t v);
void json_uint(struct json_writer *w, uint64_t v);
void json_double(struct json_writer *w, double v);     /* NaN/inf -> null; %.6g-ish round trip */
void json_bool(struct json_writer *w, bool v);
void json_null(struct json_writer *w);

/* Escape s into f as a quoted JSON string (used by the writer; exposed for tests). */
void json_write_escaped(FILE *f, const char *s, size_t n);

#endif
