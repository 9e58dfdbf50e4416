// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "model/linetable.h"
#include "model/stacks.h"

static const char *const view_names[GS_NR_VIEWS] = { "wait", "gil", "nogil", "blame" };
static const char *const view_titles[GS_NR_VIEWS] = {
	"GIL wait time, by the waiting thread's stack",
	"On-CPU samples holding the GIL (running Python)",
	"On-CPU samples without the GIL (native code)",
	"Wait time caused, by the holder's stack",
};

/* Append one code point as UTF-8. */
static size_t put_utf8(char *o, size_t room, uint32_t cp)
{
	if (cp < 0x20 || cp == 0x7f)
		cp = '?';                              /* control: keep outputs one line */
	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = '?';                              /* a lone surrogate (surrogateescape'd
							  file names) has no UTF-8 form */
	if (cp < 0x80 && room >= 1) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800 && room >= 2) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000 && room >= 3) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	if (cp < 0x110000 && room >= 4) {
		o[0] = (char)(0xf0 | cp >> 18);
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
		return 4;
	}
	return 0;
}

/* A PyUnicode's raw characters (kind bytes each) to UTF-8. */
static void decode_str(const char *raw, unsigned nbytes, unsigned kind, char *out, size_t len)
{
	size_t o = 0;

	if (!kind || kind == 3 || kind > 4) {
		snprintf(out, len, "?");
		return;
	}
	for (unsigned i = 0; i + kind <= nbytes && o + 1 < len; i += kind) {
		uint32_t cp = 0;

		memcpy(&cp, raw + i, kind);             /* little-endian */
		size_t n = put_utf8(out + o, len - 1 - o, cp);

		if (!n)
			break;
		o += n;
	}
	out[o] = 0;
}

static unsigned at_most(unsigned n, size_t max)
{
	return n < max ? n : (unsigned)max;
}

void stack_frame_name(const struct gs_code *c, int minor, uint32_t off, char *buf, size_t len)
{
	char name[GS_NAME_MAX * 4 + 1], file[GS_FILE_MAX * 4 + 1];
	const char *base;
	int line;

	/* The lengths are what BPF wrote, from sizes the target's objects
	 * claim: never past the buffers that hold the bytes. */
	decode_str(c->name, at_most(c->name_len, sizeof(c->name)), c->name_kind, name, sizeof(name));
	decode_str(c->file, at_most(c->file_len, sizeof(c->file)), c->file_kind, file, sizeof(file));
	base = strrchr(file, '/');
	base = base ? base + 1 : file;
	line = py_line_for_offset(minor, c->firstlineno, c->linetable,
				  at_most(c->lt_len, sizeof(c->linetable)), off);
	if (line < 0 && c->lt_len == 0)
		line = c->firstlineno;
	if (line >= 0)
		snprintf(buf, len, "%s (%s:%d)", name, base, line);
	else
		snprintf(buf, len, "%s (%s)", name, base);
}

/* Equal strings share one pointer, so stacks compare by pointers. */
static const char *intern(struct stack_report *sr, const char *s)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;
	char *d;

	for (const char *c = s; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ull;
	if (sr->nstrings * 2 >= sr->capidx) {   /* grow and rehash the index */
		size_t cap = sr->capidx ? sr->capidx * 2 : 1024;
		char **idx = calloc(cap, sizeof(*idx));

		if (!idx)
			return NULL;
		for (size_t k = 0; k < sr->capidx; k++) {
			uint64_t hh = 1469598103934665603ull;

			if (!sr->index[k])
				continue;
			for (const char *c = sr->index[k]; *c; c++)
				hh = (hh ^ (unsigned char)*c) * 1099511628211ull;
			for (i = hh & (cap - 1); idx[i]; i = (i + 1) & (cap - 1))
				;
			idx[i] = sr->index[k];
		}
		free(sr->index);
		sr->index = idx;
		sr->capidx = cap;
	}
	for (i = h & (sr->capidx - 1); sr->index[i]; i = (i + 1) & (sr->capidx - 1))
		if (strcmp(sr->index[i], s) == 0)
			return sr->index[i];
	if (gs_grow(&sr->strings, &sr->capstrings, sr->nstrings + 1, sizeof(*sr->strings), 256))
		return NULL;
	d = strdup(s);
	if (d) {
		sr->strings[sr->nstrings++] = d;
		sr->index[i] = d;
	}
	return d;
}

static int cmp_sym_stack(const void *a, const void *b)
{
	const struct sym_stack *x = a, *y = b;

	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	for (size_t d = 0; d < x->depth; d++)
		if (x->frames[d] != y->frames[d])
			return (uintptr_t)x->frames[d] < (uintptr_t)y->frames[d] ? -1 : 1;
	return 0;
}

/* Stacks that differ only below line granularity (another instruction of
 * the same line) become one. */
static void merge_equal(struct view_stacks *vs)
{
	size_t o = 0;

	qsort(vs->stacks, vs->n, sizeof(*vs->stacks), cmp_sym_stack);
	for (size_t i = 0; i < vs->n; i++) {
		if (o && cmp_sym_stack(&vs->stacks[o - 1], &vs->stacks[i]) == 0) {
			vs->stacks[o - 1].weight += vs->stacks[i].weight;
			free((void *)vs->stacks[i].frames);
			continue;
		}
		vs->stacks[o++] = vs->stacks[i];
	}
	vs->n = o;
}

static int cmp_code(const void *key, const void *elem)
{
	uint64_t a = *(const uint64_t *)key, b = ((const struct code_entry *)elem)->addr;

	return a < b ? -1 : a > b;
}

static int cmp_stack(const void *key, const void *elem)
{
	uint64_t a = *(const uint64_t *)key, b = ((const struct stack_entry *)elem)->id;

	return a < b ? -1 : a > b;
}

/* Frames repeat across stacks: cache each (code, offset) string. */
struct frame_cache {
	uint64_t *keys;
	const char **vals;
	size_t cap;
};

static const char *frame_string(struct stack_report *sr, struct frame_cache *fc,
				const struct gs_result *res, uint64_t packed)
{
	uint64_t code = packed & GS_FRAME_CODE_MASK, h = (packed * 0x9e3779b97f4a7c15ull);
	const struct code_entry *ce;
	char buf[GS_NAME_MAX * 4 + GS_FILE_MAX * 4 + 32];
	size_t i;

	for (i = h & (fc->cap - 1); fc->keys[i]; i = (i + 1) & (fc->cap - 1))
		if (fc->keys[i] == packed)
			return fc->vals[i];
	ce = bsearch(&code, res->codes, res->ncodes, sizeof(*res->codes), cmp_code);
	if (ce) {
		stack_frame_name(&ce->c, res->py_minor, (uint32_t)(packed >> 48), buf, sizeof(buf));
	} else {
		snprintf(buf, sizeof(buf), "<code 0x%llx>", (unsigned long long)code);
		sr->unsymbolized++;
	}
	fc->keys[i] = packed;
	fc->vals[i] = intern(sr, buf);
	return fc->vals[i];
}

int stack_report__build(struct stack_report *sr, const struct gs_result *res,
			const char *(*name_of)(uint32_t tid, void *ctx), void *ctx)
{
	struct frame_cache fc = {};
	size_t counts[GS_NR_VIEWS] = {};

	memset(sr, 0, sizeof(*sr));
	for (int v = 0; v < GS_NR_VIEWS; v++) {
		sr->views[v].name = view_names[v];
		sr->views[v].title = view_titles[v];
		sr->views[v].unit = v == GS_VIEW_GIL || v == GS_VIEW_NOGIL ? "samples" : "us";
	}
	for (size_t i = 0; i < res->ncounts; i++)
		if (res->counts[i].k.view < GS_NR_VIEWS)
			counts[res->counts[i].k.view]++;
	for (int v = 0; v < GS_NR_VIEWS; v++) {
		sr->views[v].stacks = calloc(counts[v] ? counts[v] : 1, sizeof(struct sym_stack));
		if (!sr->views[v].stacks)
			return -ENOMEM;
	}
	fc.cap = 1;
	while (fc.cap < 4 * (res->ncodes + 16))
		fc.cap <<= 1;
	fc.cap <<= 2;
	fc.keys = calloc(fc.cap, sizeof(*fc.keys));
	fc.vals = calloc(fc.cap, sizeof(*fc.vals));
	if (!fc.keys || !fc.vals) {
		free(fc.keys);
		free(fc.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < res->ncounts; i++) {
		const struct stack_count *sc = &res->counts[i];
		const struct stack_entry *se;
		struct view_stacks *vs;
		struct sym_stack *fs;
		const char **frames;
		uint64_t w;
		uint32_t depth;
		char tname[64];

		if (sc->k.view >= GS_NR_VIEWS)
			continue;
		se = bsearch(&sc->k.stack, res->stacks, res->nstacks, sizeof(*res->stacks), cmp_stack);
		if (!se || !se->st.depth)
			continue;
		/* the walk stores at most GS_MAX_FRAMES; a larger depth is not
		 * one it wrote */
		depth = se->st.depth < GS_MAX_FRAMES ? se->st.depth : GS_MAX_FRAMES;
		vs = &sr->views[sc->k.view];
		/* time views count ns in BPF; show microseconds, rounded */
		w = strcmp(vs->unit, "us") == 0 ? (sc->weight + 500) / 1000 : sc->weight;
		if (!w)
			continue;
		frames = calloc(depth + 3, sizeof(*frames));
		if (!frames)
			break;
		snprintf(tname, sizeof(tname), "%s [%u]", name_of(sc->k.tid, ctx), sc->k.tid);
		frames[0] = vs->name;
		frames[1] = intern(sr, tname);
		for (uint32_t d = 0; d < depth; d++)  /* BPF stores leaf first */
			frames[2 + d] = frame_string(sr, &fc, res, se->st.frames[depth - 1 - d]);
		fs = &vs->stacks[vs->n++];
		fs->frames = frames;
		fs->depth = depth + 2;
		if (se->st.truncated || depth < se->st.depth)
			frames[fs->depth++] = "[truncated]";
		fs->weight = w;
		vs->total += w;
	}
	free(fc.keys);
	free(fc.vals);
	for (int v = 0; v < GS_NR_VIEWS; v++)
		merge_equal(&sr->views[v]);
	return 0;
}

void stack_report__free(struct stack_report *sr)
{
	for (int v = 0; v < GS_NR_VIEWS; v++) {
		for (size_t i = 0; i < sr->views[v].n; i++)
			free((void *)sr->views[v].stacks[i].frames);
		free(sr->views[v].stacks);
	}
	for (size_t i = 0; i < sr->nstrings; i++)
		free(sr->strings[i]);
	free(sr->strings);
	free(sr->index);
	memset(sr, 0, sizeof(*sr));
}

static const struct sym_stack *top_base;

static int cmp_weight_desc(const void *a, const void *b)
{
	uint64_t x = top_base[*(const size_t *)a].weight, y = top_base[*(const size_t *)b].weight;

	return x < y ? 1 : x > y ? -1 : 0;
}

size_t stack_report__top(const struct stack_report *sr, int view, struct top_stack *top, size_t max)
{
	const struct view_stacks *vs = &sr->views[view];
	size_t *all = malloc((vs->n ? vs->n : 1) * sizeof(*all)), n;

	if (!all)
		return 0;
	for (size_t i = 0; i < vs->n; i++)
		all[i] = i;
	top_base = vs->stacks;
	qsort(all, vs->n, sizeof(*all), cmp_weight_desc);
	n = vs->n < max ? vs->n : max;
	for (size_t i = 0; i < n; i++) {
		top[i].s = &vs->stacks[all[i]];
		top[i].share = vs->total ? (double)top[i].s->weight / vs->total : 0;
	}
	free(all);
	return n;
}
