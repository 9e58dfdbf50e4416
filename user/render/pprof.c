// SPDX-License-Identifier: MIT
/* perftools.profiles.Profile (github.com/google/pprof, proto/profile.proto)
 * encoded by hand. The schema is small and fixed, and its wire format
 * needs only two things: varints and length-delimited fields (strings,
 * embedded messages, packed lists). So no protobuf library or generated
 * code: a growing byte buffer and the field numbers below. zlib gzips it
 * (deflateInit2 with windowBits 15 + 16), as pprof files are.
 *
 * One sample per stack of each view and process; a sample's values hold
 * one slot per view (the stack's own view set, the others 0). Locations
 * are frames, one per distinct frame string, listed leaf first; the view
 * and thread frames of a sym_stack are not locations, the thread is a
 * "thread" label and the process a numeric "pid" label. A frame
 * "name (file:line)" becomes function "name" in "file" (one function per
 * name and file) at line "line"; any other frame ("[truncated]",
 * "<code 0x...>") is a function of that name, without file or line.
 * Every location is in one mapping that says it has functions, file
 * names and lines: pprof then leaves the profile as it is, where without
 * a mapping it would look for a binary to symbolize it with ("Main binary
 * filename not available"). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "common.h"
#include "render/pprof.h"

/* profile.proto's field numbers, of the fields written. */
enum {
	PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3, PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9, PROFILE_DURATION_NANOS = 10,
	PROFILE_COMMENT = 13, PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3,
	LABEL_KEY = 1, LABEL_STR = 2, LABEL_NUM = 3,
	MAPPING_ID = 1, MAPPING_HAS_FUNCTIONS = 7, MAPPING_HAS_FILENAMES = 8, MAPPING_HAS_LINE_NUMBERS = 9,
	LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1, LINE_LINE = 2,
	FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
};

enum { WT_VARINT = 0, WT_LEN = 2 };     /* protobuf wire types */

#define PPROF_COMMENT "gilscope: wait and blame in ns of GIL wait, gil and nogil in CPU samples"

/* Protobuf bytes; err sticks at the first failure. */
struct pb {
	uint8_t *b;
	size_t n, cap;
	int err;
};

static void pb_put(struct pb *p, const void *d, size_t len)
{
	if (p->err || !len)
		return;
	if (p->n + len > p->cap) {
		size_t cap = p->cap ? p->cap : 4096;
		uint8_t *b;

		while (cap < p->n + len)
			cap *= 2;
		if (!(b = realloc(p->b, cap))) {
			p->err = -ENOMEM;
			return;
		}
		p->b = b;
		p->cap = cap;
	}
	memcpy(p->b + p->n, d, len);
	p->n += len;
}

/* Base 128, low group first; int64 fields too (no negative ones here). */
static void pb_varint(struct pb *p, uint64_t v)
{
	uint8_t buf[10];
	size_t n = 0;

	do {
		buf[n++] = (uint8_t)(v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
	pb_put(p, buf, n);
}

static void pb_key(struct pb *p, unsigned field, unsigned wire_type)
{
	pb_varint(p, (uint64_t)field << 3 | wire_type);
}

/* A varint field; proto3 leaves zeros out. */
static void pb_uint(struct pb *p, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_key(p, field, WT_VARINT);
	pb_varint(p, v);
}

static void pb_bytes(struct pb *p, unsigned field, const void *d, size_t len)
{
	pb_key(p, field, WT_LEN);
	pb_varint(p, len);
	pb_put(p, d, len);
}

/* sub (an embedded message, or a packed list of varints) as a field of
 * p; sub is emptied for the next one. */
static void pb_sub(struct pb *p, unsigned field, struct pb *sub)
{
	if (sub->err && !p->err)
		p->err = sub->err;
	pb_bytes(p, field, sub->b, sub->n);
	sub->n = 0;
	sub->err = 0;
}

/* Strings to numbers: open addressing, keys copied. */
struct strmap {
	char **keys;              /* NULL: a free slot */
	uint64_t *vals;
	size_t n, cap;            /* cap: a power of two */
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* key's slot, added with value 0 when new (*fresh then); -ENOMEM. A slot
 * holds until the next addition. */
static long strmap_slot(struct strmap *m, const char *key, bool *fresh)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		char **keys = calloc(cap, sizeof(*keys));
		uint64_t *vals = calloc(cap, sizeof(*vals));

		if (!keys || !vals) {
			free(keys);
			free(vals);
			return -ENOMEM;
		}
		for (size_t k = 0; k < m->cap; k++) {
			if (!m->keys[k])
				continue;
			for (i = str_hash(m->keys[k]) & (cap - 1); keys[i]; i = (i + 1) & (cap - 1))
				;
			keys[i] = m->keys[k];
			vals[i] = m->vals[k];
		}
		free(m->keys);
		free(m->vals);
		m->keys = keys;
		m->vals = vals;
		m->cap = cap;
	}
	for (i = str_hash(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (!strcmp(m->keys[i], key)) {
			*fresh = false;
			return (long)i;
		}
	if (!(m->keys[i] = strdup(key)))
		return -ENOMEM;
	m->vals[i] = 0;
	m->n++;
	*fresh = true;
	return (long)i;
}

static void strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
}

struct pp_func {
	uint64_t name, file;      /* string table indexes */
};

struct pp_loc {
	uint64_t func;            /* function id */
	int64_t line;             /* 0: unknown */
};

/* The profile being built: the tables grow as samples name strings and
 * frames; ids are 1 + the index. */
struct pprof {
	struct pb out;            /* the Profile message: its fields in any order */
	struct strmap strs;       /* string -> string table index */
	const char **table;       /* the string table (strs' keys), in order */
	size_t ntable, captable;
	struct strmap funcs;      /* "name\x1ffile" -> function id */
	struct pp_func *fn;
	size_t nfn, capfn;
	struct strmap locs;       /* frame -> location id */
	struct pp_loc *loc;
	size_t nloc, caploc;
	int err;
};

static uint64_t str_idx(struct pprof *pp, const char *s)
{
	bool fresh;
	long i = strmap_slot(&pp->strs, s, &fresh);

	if (i < 0 || (fresh && gs_grow(&pp->table, &pp->captable, pp->ntable + 1, sizeof(*pp->table), 256))) {
		pp->err = -ENOMEM;
		return 0;
	}
	if (fresh) {
		pp->strs.vals[i] = pp->ntable;
		pp->table[pp->ntable++] = pp->strs.keys[i];
	}
	return pp->strs.vals[i];
}

/* "name (file:line)" or "name (file)" into its parts, in place; any other
 * frame is all name. Frame names hold no control characters (stacks.c),
 * names no " (" (Python identifiers). */
static void split_frame(char *s, const char **name, const char **file, int64_t *line)
{
	size_t len = strlen(s);
	char *open = strstr(s, " ("), *colon;

	*name = s;
	*file = "";
	*line = 0;
	if (!open || open == s || s[len - 1] != ')' || open + 2 > s + len - 1)
		return;
	*open = 0;
	s[len - 1] = 0;
	*file = open + 2;
	colon = strrchr(open + 2, ':');
	if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
	    strlen(colon + 1) < 10) {
		*colon = 0;
		*line = strtoll(colon + 1, NULL, 10);
	}
}

static uint64_t function_of(struct pprof *pp, const char *name, const char *file)
{
	size_t len = strlen(name) + strlen(file) + 2;
	char *key = malloc(len);
	bool fresh;
	long i;

	if (!key) {
		pp->err = -ENOMEM;
		return 0;
	}
	snprintf(key, len, "%s\x1f%s", name, file);
	i = strmap_slot(&pp->funcs, key, &fresh);
	free(key);
	if (i < 0 || (fresh && gs_grow(&pp->fn, &pp->capfn, pp->nfn + 1, sizeof(*pp->fn), 256))) {
		pp->err = -ENOMEM;
		return 0;
	}
	if (!fresh)
		return pp->funcs.vals[i];
	pp->funcs.vals[i] = ++pp->nfn;
	pp->fn[pp->nfn - 1] = (struct pp_func){ str_idx(pp, name), str_idx(pp, file) };
	return pp->nfn;
}

static uint64_t location_of(struct pprof *pp, const char *frame)
{
	const char *name, *file;
	int64_t line;
	uint64_t id;
	char *copy;
	bool fresh;
	long i = strmap_slot(&pp->locs, frame, &fresh);

	if (i < 0 || (fresh && gs_grow(&pp->loc, &pp->caploc, pp->nloc + 1, sizeof(*pp->loc), 256))) {
		pp->err = -ENOMEM;
		return 0;
	}
	if (!fresh)
		return pp->locs.vals[i];
	id = pp->locs.vals[i] = ++pp->nloc;
	if (!(copy = strdup(frame))) {
		pp->err = -ENOMEM;
		return 0;
	}
	split_frame(copy, &name, &file, &line);
	pp->loc[id - 1] = (struct pp_loc){ function_of(pp, name, file), line };
	free(copy);
	return id;
}

/* One Sample: locations leaf first, a value per view, the labels. */
static void add_sample(struct pprof *pp, struct pb *smp, struct pb *tmp, const struct sym_stack *s,
		       int view, uint64_t value, int pid)
{
	for (size_t d = s->depth; d-- > 2;)
		pb_varint(tmp, location_of(pp, s->frames[d]));
	pb_sub(smp, SAMPLE_LOCATION_ID, tmp);
	for (int v = 0; v < GS_NR_VIEWS; v++)
		pb_varint(tmp, v == view ? value : 0);
	pb_sub(smp, SAMPLE_VALUE, tmp);
	pb_uint(tmp, LABEL_KEY, str_idx(pp, "thread"));
	pb_uint(tmp, LABEL_STR, str_idx(pp, s->depth > 1 ? s->frames[1] : ""));
	pb_sub(smp, SAMPLE_LABEL, tmp);
	pb_uint(tmp, LABEL_KEY, str_idx(pp, "pid"));
	pb_uint(tmp, LABEL_NUM, (uint64_t)pid);
	pb_sub(smp, SAMPLE_LABEL, tmp);
	pb_sub(&pp->out, PROFILE_SAMPLE, smp);
}

/* The tables and the scalars, after the samples that filled them. */
static void add_tables(struct pprof *pp, struct pb *msg, struct pb *line, int64_t time_nanos,
		       int64_t duration_nanos, uint64_t default_type)
{
	struct pb *out = &pp->out;

	if (pp->nloc) {
		pb_uint(msg, MAPPING_ID, 1);
		pb_uint(msg, MAPPING_HAS_FUNCTIONS, 1);
		pb_uint(msg, MAPPING_HAS_FILENAMES, 1);
		pb_uint(msg, MAPPING_HAS_LINE_NUMBERS, 1);
		pb_sub(out, PROFILE_MAPPING, msg);
	}
	for (size_t i = 0; i < pp->nloc; i++) {
		pb_uint(msg, LOCATION_ID, i + 1);
		pb_uint(msg, LOCATION_MAPPING_ID, 1);
		pb_uint(line, LINE_FUNCTION_ID, pp->loc[i].func);
		pb_uint(line, LINE_LINE, (uint64_t)pp->loc[i].line);
		pb_sub(msg, LOCATION_LINE, line);
		pb_sub(out, PROFILE_LOCATION, msg);
	}
	for (size_t i = 0; i < pp->nfn; i++) {
		pb_uint(msg, FUNCTION_ID, i + 1);
		pb_uint(msg, FUNCTION_NAME, pp->fn[i].name);
		pb_uint(msg, FUNCTION_SYSTEM_NAME, pp->fn[i].name);
		pb_uint(msg, FUNCTION_FILENAME, pp->fn[i].file);
		pb_sub(out, PROFILE_FUNCTION, msg);
	}
	pb_uint(out, PROFILE_TIME_NANOS, time_nanos > 0 ? (uint64_t)time_nanos : 0);
	pb_uint(out, PROFILE_DURATION_NANOS, duration_nanos > 0 ? (uint64_t)duration_nanos : 0);
	pb_uint(out, PROFILE_COMMENT, str_idx(pp, PPROF_COMMENT));
	pb_uint(out, PROFILE_DEFAULT_SAMPLE_TYPE, default_type);
	/* last: every string is in by now (index 0 is "", added first) */
	for (size_t i = 0; i < pp->ntable; i++)
		pb_bytes(out, PROFILE_STRING_TABLE, pp->table[i], strlen(pp->table[i]));
}

/* gzip: windowBits 15 + 16 asks zlib for a gzip header and trailer. */
static int gzip_to(FILE *f, const uint8_t *d, size_t n)
{
	z_stream zs = {};
	uint8_t out[16384];
	int rc = Z_OK, flush;

	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)d;
	do {        /* avail_in is an unsigned int: in pieces (zlib's zpipe.c) */
		size_t piece = n > (1u << 30) ? (1u << 30) : n, have;

		zs.avail_in = (uInt)piece;
		n -= piece;
		flush = n ? Z_NO_FLUSH : Z_FINISH;
		do {
			zs.next_out = out;
			zs.avail_out = sizeof(out);
			rc = deflate(&zs, flush);
			have = sizeof(out) - zs.avail_out;
			if (rc == Z_STREAM_ERROR || fwrite(out, 1, have, f) != have) {
				rc = Z_ERRNO;
				break;
			}
		} while (zs.avail_out == 0);
	} while (flush != Z_FINISH && rc != Z_ERRNO);
	deflateEnd(&zs);
	return rc == Z_STREAM_END && !ferror(f) ? 0 : -EIO;
}

int pprof__write(FILE *f, const struct pprof_proc *procs, size_t n, int64_t time_nanos,
		 int64_t duration_nanos)
{
	const struct stack_report *first = n ? procs[0].sr : NULL;
	struct pprof pp = {};
	struct pb smp = {}, tmp = {};
	uint64_t scale[GS_NR_VIEWS] = {}, default_type = 0;
	int e;

	str_idx(&pp, "");         /* string_table[0] must be "" */
	for (int v = 0; first && v < GS_NR_VIEWS; v++) {
		const struct view_stacks *vs = &first->views[v];
		bool us = !strcmp(vs->unit, "us");

		scale[v] = us ? 1000 : 1;
		pb_uint(&tmp, VALUE_TYPE_TYPE, str_idx(&pp, vs->name));
		pb_uint(&tmp, VALUE_TYPE_UNIT, str_idx(&pp, us ? "nanoseconds" : vs->unit));
		pb_sub(&pp.out, PROFILE_SAMPLE_TYPE, &tmp);
		if (!v)           /* pprof shows the first view (wait) unless told */
			default_type = str_idx(&pp, vs->name);
	}
	for (size_t i = 0; i < n && !pp.err; i++)
		for (int v = 0; v < GS_NR_VIEWS; v++)
			for (size_t k = 0; k < procs[i].sr->views[v].n; k++) {
				const struct sym_stack *s = &procs[i].sr->views[v].stacks[k];

				if (s->weight)
					add_sample(&pp, &smp, &tmp, s, v, s->weight * scale[v], procs[i].pid);
			}
	add_tables(&pp, &smp, &tmp, time_nanos, duration_nanos, default_type);
	e = pp.err ? pp.err : pp.out.err ? pp.out.err : smp.err ? smp.err : tmp.err;
	if (!e)
		e = gzip_to(f, pp.out.b, pp.out.n);
	free(pp.out.b);
	free(smp.b);
	free(tmp.b);
	free(pp.table);
	free(pp.fn);
	free(pp.loc);
	strmap_free(&pp.strs);
	strmap_free(&pp.funcs);
	strmap_free(&pp.locs);
	return e;
}
