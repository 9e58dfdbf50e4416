// SPDX-License-Identifier: MIT
/* Flame graph SVG writer.
 *
 * Each view's stacks are sorted (frame by frame, with strcmp) and then
 * merged in one pass: a stack shares its leading frames with the one before
 * it, so only its remaining frames are new nodes, and those are appended
 * after their already-finished siblings. Nodes thus come out in pre-order
 * with children in name order, parents always before children, which lets
 * one more pass lay out the horizontal offsets.
 *
 * The SVG is complete without scripting (the first view, unzoomed); the
 * embedded script only moves and hides the frames that are already there.
 * For that, each frame carries its depth, offset and weight in the view's
 * own units as gs:d, gs:o, gs:w attributes, and its full name as the first
 * line of its <title>. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "render/flamegraph.h"

#define FG_NS		"urn:x-gilscope:flamegraph"
#define FG_WIDTH	1200	/* SVG width, px */
#define FG_PAD		10	/* left and right margins, px */
#define FG_GRAPH_W	(FG_WIDTH - 2 * FG_PAD)
#define FG_ROW		16	/* px per stack level, 1 px of it a gap */
#define FG_CHAR_W	7.3	/* advance of the 12 px monospace font: 0.6 em,
				 * rounded up; the script measures the real one */
#define FG_TEXT_PAD	3	/* px between a frame's edge and its text */
#define FG_MIN_SHARE	0.001	/* frames under 0.1% of the view are left out */
/* gilscope's stacks start with the view name and the thread name: those
 * rows get their own colours so they do not read as code. */
#define FG_KEY_FRAMES	2

#define NO_PARENT	((size_t)-1)

struct fg_node {
	const char *name;	/* borrowed from the caller's stacks */
	uint64_t weight;	/* this frame and everything above it */
	uint64_t off;		/* weight to its left within the view */
	uint64_t cursor;	/* layout: where the next child starts */
	size_t parent;		/* NO_PARENT for the first frame of a stack */
	size_t depth;
	bool drawn;
};

struct fg_tree {
	struct fg_node *nodes;
	size_t n, cap;
	uint64_t total;
	size_t rows;		/* levels holding a drawn frame */
	size_t elided;		/* frames left out */
	uint64_t elided_weight;	/* weight of the outermost left-out frames */
};

/* A frame name made fit for display: valid UTF-8 without control
 * characters, not yet escaped for XML. */
struct fg_clean {
	char *buf;
	size_t cap, len;
	size_t chars;		/* code points */
};

static const char *frame_name(const struct fg_stack *s, size_t i)
{
	return s->frames[i] ? s->frames[i] : "[null]";
}

/* ---- merging ---------------------------------------------------------- */

static int cmp_stacks(const void *a, const void *b)
{
	const struct fg_stack *x = *(const struct fg_stack *const *)a;
	const struct fg_stack *y = *(const struct fg_stack *const *)b;
	size_t n = x->depth < y->depth ? x->depth : y->depth;

	for (size_t i = 0; i < n; i++) {
		int c = strcmp(frame_name(x, i), frame_name(y, i));

		if (c)
			return c;
	}
	return (x->depth > y->depth) - (x->depth < y->depth);
}

static int tree_add(struct fg_tree *t, const char *name, size_t parent,
		    size_t depth, uint64_t weight, size_t *idx)
{
	if (gs_grow(&t->nodes, &t->cap, t->n + 1, sizeof(*t->nodes), 64))
		return -ENOMEM;
	t->nodes[t->n] = (struct fg_node){
		.name = name, .weight = weight, .parent = parent, .depth = depth,
	};
	*idx = t->n++;
	return 0;
}

/* Offsets, which frames are drawn, and the footnote's figures. */
static void tree_layout(struct fg_tree *t)
{
	double min_weight = (double)t->total * FG_MIN_SHARE;
	uint64_t top_cursor = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct fg_node *nd = &t->nodes[i];
		uint64_t *cursor = nd->parent == NO_PARENT ? &top_cursor
				   : &t->nodes[nd->parent].cursor;

		nd->off = *cursor;
		*cursor += nd->weight;
		nd->cursor = nd->off;
		/* A child is never wider than its parent, so the drawn
		 * frames form a tree of their own. */
		nd->drawn = (double)nd->weight >= min_weight;
		if (nd->drawn) {
			if (nd->depth + 1 > t->rows)
				t->rows = nd->depth + 1;
			continue;
		}
		t->elided++;
		if (nd->parent == NO_PARENT || t->nodes[nd->parent].drawn)
			t->elided_weight += nd->weight;
	}
}

static int tree_build(const struct fg_view *v, struct fg_tree *t)
{
	const struct fg_stack **sorted = NULL, *prev = NULL;
	size_t ns = 0, *path = NULL, path_cap = 0;
	int err = 0;

	memset(t, 0, sizeof(*t));
	if (v->n && !v->stacks)
		return -EINVAL;
	sorted = calloc(v->n ? v->n : 1, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < v->n; i++) {
		const struct fg_stack *s = &v->stacks[i];

		if (!s->weight)
			continue;
		if (s->depth && !s->frames) {
			err = -EINVAL;
			goto cleanup;
		}
		if (t->total + s->weight < t->total) {
			err = -EOVERFLOW;
			goto cleanup;
		}
		t->total += s->weight;
		sorted[ns++] = s;
	}
	qsort(sorted, ns, sizeof(*sorted), cmp_stacks);

	for (size_t k = 0; k < ns; k++) {
		const struct fg_stack *s = sorted[k];
		size_t common = 0;

		if (prev)
			while (common < s->depth && common < prev->depth &&
			       !strcmp(frame_name(s, common), frame_name(prev, common)))
				common++;
		if (s->depth > path_cap) {
			size_t *p = realloc(path, s->depth * sizeof(*p));

			if (!p) {
				err = -ENOMEM;
				goto cleanup;
			}
			path = p;
			path_cap = s->depth;
		}
		/* path[] still holds prev's nodes up to common. */
		for (size_t i = 0; i < common; i++)
			t->nodes[path[i]].weight += s->weight;
		for (size_t i = common; i < s->depth; i++) {
			err = tree_add(t, frame_name(s, i), i ? path[i - 1] : NO_PARENT,
				       i, s->weight, &path[i]);
			if (err)
				goto cleanup;
		}
		prev = s;
	}
	tree_layout(t);

cleanup:
	free(path);
	free(sorted);
	if (err) {
		free(t->nodes);
		memset(t, 0, sizeof(*t));
	}
	return err;
}

/* ---- text --------------------------------------------------------------- */

/* Decode the UTF-8 sequence at s (NUL-terminated). Returns its length and
 * sets *cp; for an ill-formed sequence returns minus the length of its
 * maximal well-formed prefix (at least 1), to be replaced by one U+FFFD as
 * Unicode recommends and browsers do. The second byte's range excludes
 * overlong forms, surrogates and code points past U+10FFFF. */
static int utf8_next(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	int len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		*cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		*cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		*cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return -1;
	}
	for (int i = 1; i < len; i++) {
		if (s[i] < lo || s[i] > hi) /* also stops at the NUL */
			return -i;
		*cp = *cp << 6 | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

/* Characters that must not reach the SVG as they are: C0 controls (a
 * newline would also break the <title> format), DEL and C1 controls, and
 * U+FFFE/U+FFFF, which XML forbids. */
static bool unwanted(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xfffe || cp == 0xffff;
}

static int clean_text(struct fg_clean *c, const char *s)
{
	static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
	const unsigned char *p = (const unsigned char *)s;
	/* Each input byte becomes at most one U+FFFD. */
	size_t need = strlen(s) * 3 + 1;

	if (need > c->cap) {
		char *buf = realloc(c->buf, need);

		if (!buf)
			return -ENOMEM;
		c->buf = buf;
		c->cap = need;
	}
	c->len = c->chars = 0;
	while (*p) {
		uint32_t cp;
		int n = utf8_next(p, &cp);

		if (n > 0 && !unwanted(cp)) {
			memcpy(c->buf + c->len, p, n);
			c->len += n;
		} else {
			memcpy(c->buf + c->len, repl, 3);
			c->len += 3;
		}
		p += n > 0 ? n : -n;
		c->chars++;
	}
	c->buf[c->len] = '\0';
	return 0;
}

/* s must be clean (valid UTF-8, no control characters). */
static void xml_putn(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default: fputc(s[i], f);
		}
	}
}

/* Any string: cleaned, then escaped. */
static int xml_puts(FILE *f, struct fg_clean *c, const char *s)
{
	int err = clean_text(c, s ? s : "");

	if (!err)
		xml_putn(f, c->buf, c->len);
	return err;
}

/* The cleaned text as it fits into width px: whole, or its first
 * characters and "..", or nothing when not even one character and ".."
 * fit. The script applies the same rule after zooming. */
static void xml_put_fit(FILE *f, const struct fg_clean *c, double width)
{
	double room = (width - 2 * FG_TEXT_PAD) / FG_CHAR_W;
	size_t fit = room > 0 ? (size_t)room : 0, keep, i;

	if (c->chars <= fit) {
		xml_putn(f, c->buf, c->len);
		return;
	}
	if (fit < 3)
		return;
	keep = fit - 2;
	for (i = 0; i < c->len; i++) {
		/* Count code points by their first bytes. */
		if (((unsigned char)c->buf[i] & 0xc0) != 0x80 && keep-- == 0)
			break;
	}
	xml_putn(f, c->buf, i);
	fputs("..", f);
}

/* 1234567 -> "1,234,567" */
static const char *fmt_u64(char buf[32], uint64_t v)
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
	size_t o = 0;

	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* ---- colours ------------------------------------------------------------ */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static double hue_to_rgb(double p, double q, double t)
{
	if (t < 0)
		t += 1;
	if (t > 1)
		t -= 1;
	if (t < 1.0 / 6)
		return p + (q - p) * 6 * t;
	if (t < 0.5)
		return q;
	if (t < 2.0 / 3)
		return p + (q - p) * (2.0 / 3 - t) * 6;
	return p;
}

/* h in degrees, s and l in [0,1]. */
static void put_hsl(FILE *f, double h, double s, double l)
{
	double q = l < 0.5 ? l * (1 + s) : l + s - l * s, p = 2 * l - q;

	h /= 360;
	fprintf(f, "rgb(%d,%d,%d)", (int)(255 * hue_to_rgb(p, q, h + 1.0 / 3) + 0.5),
		(int)(255 * hue_to_rgb(p, q, h) + 0.5),
		(int)(255 * hue_to_rgb(p, q, h - 1.0 / 3) + 0.5));
}

/* Hashed from the name, so one function has one colour in every view. */
static void put_colour(FILE *f, const struct fg_node *nd)
{
	uint64_t h = fnv1a(nd->name);
	double a = (double)(h & 0xffff) / 0xffff;
	double b = (double)(h >> 16 & 0xffff) / 0xffff;
	double c = (double)(h >> 32 & 0xffff) / 0xffff;

	if (nd->depth == 0)
		put_hsl(f, 220, 0.30, 0.68);		/* the view: slate */
	else if (nd->depth < FG_KEY_FRAMES)
		put_hsl(f, 165 + 45 * a, 0.40, 0.64);	/* threads: teal to blue */
	else
		put_hsl(f, 6 + 46 * a, 0.78 + 0.17 * b, 0.55 + 0.10 * c); /* red to amber */
}

/* ---- the document --------------------------------------------------------- */

static const char fg_css[] =
	"text { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 12px; fill: #000; }\n"
	"#title { font-family: 'DejaVu Sans', Verdana, sans-serif; font-size: 17px; }\n"
	".sub { font-size: 12px; fill: #333; }\n"
	".note { font-size: 11px; fill: #555; }\n"
	".f { cursor: pointer; }\n"
	".f text { pointer-events: none; }\n"
	".f:hover > rect { stroke: #222; stroke-width: 0.6; }\n"
	".f.anc { opacity: 0.55; }\n"
	".f.hl > rect { fill: rgb(214,62,232); }\n"
	".btn { cursor: pointer; }\n"
	"text.btn { fill: #1d3f8a; text-decoration: underline; }\n"
	".vb rect { fill: #ececec; stroke: #a0a0a0; }\n"
	".vb text { fill: #1d3f8a; }\n"
	".vb.on rect { fill: #d4dbef; stroke: #1d3f8a; }\n"
	".vb.on text { font-weight: bold; fill: #000; }\n"
	".hid { display: none; }\n";

/* Sits in a CDATA section, so it must never contain "]]>". */
static const char fg_js[] =
	"(function () {\n"
	"'use strict';\n"
	"var NS = '" FG_NS "';\n"
	"var svg = document.documentElement;\n"
	"var LEFT = +svg.getAttributeNS(NS, 'left'), FULL = +svg.getAttributeNS(NS, 'width');\n"
	"var HINT = 'Hover a frame for details, click to zoom, Ctrl-F to search, Esc to reset.';\n"
	"var statusEl = document.getElementById('status');\n"
	"var matchEl = document.getElementById('matched');\n"
	"var resetEl = document.getElementById('reset');\n"
	"var searchEl = document.getElementById('search');\n"
	"var vbs = Array.prototype.slice.call(document.querySelectorAll('g.vb'));\n"
	"var views = [], cur = null, zoomed = null, term = null, termText = '';\n"
	"var cw = 7.3;\n"
	"\n"
	"function num(n) {\n"
	"\tvar s = String(Math.round(n)), out = '';\n"
	"\twhile (s.length > 3) { out = ',' + s.slice(-3) + out; s = s.slice(0, -3); }\n"
	"\treturn s + out;\n"
	"}\n"
	"function pct(part, whole) {\n"
	"\treturn (whole > 0 ? 100 * part / whole : 0).toFixed(2) + '%';\n"
	"}\n"
	"/* The real advance of the frame font, for fitting names after zooms. */\n"
	"function measure() {\n"
	"\tvar probe = 'abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMNOPQRSTUVWXYZ./0123456789';\n"
	"\tvar t = document.createElementNS('http://www.w3.org/2000/svg', 'text');\n"
	"\tt.textContent = probe;\n"
	"\tsvg.appendChild(t);\n"
	"\tvar w = t.getComputedTextLength() / probe.length;\n"
	"\tsvg.removeChild(t);\n"
	"\tif (w > 0) cw = w;\n"
	"}\n"
	"function init() {\n"
	"\tvar els = document.querySelectorAll('g.view');\n"
	"\tfor (var i = 0; i < els.length; i++) {\n"
	"\t\tvar v = { el: els[i], frames: [], total: +els[i].getAttributeNS(NS, 'total'),\n"
	"\t\t\tunit: els[i].getAttributeNS(NS, 'unit') };\n"
	"\t\tvar gs = els[i].querySelectorAll('g.f');\n"
	"\t\tfor (var j = 0; j < gs.length; j++) {\n"
	"\t\t\tvar g = gs[j], lines = g.querySelector('title').textContent.split('\\n');\n"
	"\t\t\tvar f = { g: g, name: lines[0], info: lines.slice(1).join(' '),\n"
	"\t\t\t\tchars: Array.from(lines[0]),\n"
	"\t\t\t\to: +g.getAttributeNS(NS, 'o'), w: +g.getAttributeNS(NS, 'w'),\n"
	"\t\t\t\td: +g.getAttributeNS(NS, 'd'),\n"
	"\t\t\t\tr: g.querySelector('rect'), t: g.querySelector('text') };\n"
	"\t\t\tg._fg = f;\n"
	"\t\t\tv.frames.push(f);\n"
	"\t\t}\n"
	"\t\tviews.push(v);\n"
	"\t}\n"
	"}\n"
	"/* Same rule as the C writer: whole name, or a prefix and '..', or nothing. */\n"
	"function fit(chars, w) {\n"
	"\tvar n = Math.floor((w - 6) / cw);\n"
	"\tif (chars.length <= n) return chars.join('');\n"
	"\treturn n < 3 ? '' : chars.slice(0, n - 2).join('') + '..';\n"
	"}\n"
	"function place(f, x, w) {\n"
	"\tf.r.setAttribute('x', x.toFixed(2));\n"
	"\tf.r.setAttribute('width', w.toFixed(2));\n"
	"\tf.t.setAttribute('x', (x + 3).toFixed(2));\n"
	"\tf.t.textContent = fit(f.chars, w);\n"
	"}\n"
	"/* Unzoomed, or zoomed to one frame: it and everything above it fill the\n"
	" * width, the frames below it (its callers) are shown faded at full width,\n"
	" * the rest is hidden. Intervals of one depth never overlap, so\n"
	" * containment in the zoomed frame's interval finds its descendants. */\n"
	"function layout() {\n"
	"\tvar z = zoomed, O = z ? z.o : 0, W = z ? z.w : cur.total, D = z ? z.d : 0;\n"
	"\tcur.frames.forEach(function (f) {\n"
	"\t\tvar cls = f.g.classList;\n"
	"\t\tif (z && f.d < D && f.o <= O && f.o + f.w >= O + W) {\n"
	"\t\t\tcls.remove('hid');\n"
	"\t\t\tcls.add('anc');\n"
	"\t\t\tplace(f, LEFT, FULL);\n"
	"\t\t} else if (W > 0 && f.d >= D && f.o >= O && f.o + f.w <= O + W) {\n"
	"\t\t\tcls.remove('hid', 'anc');\n"
	"\t\t\tplace(f, LEFT + (f.o - O) / W * FULL, f.w / W * FULL);\n"
	"\t\t} else {\n"
	"\t\t\tcls.add('hid');\n"
	"\t\t}\n"
	"\t});\n"
	"\tresetEl.classList.toggle('hid', !z);\n"
	"}\n"
	"function zoom(f) { zoomed = f; layout(); }\n"
	"function unzoom() { zoomed = null; layout(); }\n"
	"/* The matched share counts nested matches once: after sorting by\n"
	" * offset, only the part of each interval past the furthest end seen\n"
	" * so far is new. */\n"
	"function highlight() {\n"
	"\tvar hits = [];\n"
	"\tcur.frames.forEach(function (f) {\n"
	"\t\tvar hit = term !== null && term.test(f.name);\n"
	"\t\tf.g.classList.toggle('hl', hit);\n"
	"\t\tif (hit) hits.push(f);\n"
	"\t});\n"
	"\tsearchEl.textContent = term ? 'Reset search' : 'Search';\n"
	"\tif (!term) { matchEl.textContent = ''; return; }\n"
	"\thits.sort(function (a, b) { return a.o - b.o || b.w - a.w; });\n"
	"\tvar sum = 0, end = 0;\n"
	"\thits.forEach(function (f) {\n"
	"\t\tvar e = f.o + f.w;\n"
	"\t\tif (e > end) { sum += e - Math.max(f.o, end); end = e; }\n"
	"\t});\n"
	"\tmatchEl.textContent = 'Matched: ' + pct(sum, cur.total) + ' (' + num(sum) + ' ' +\n"
	"\t\tcur.unit + ' in ' + hits.length + ' frames)';\n"
	"}\n"
	"/* A regular expression, or the literal text when it is not one. */\n"
	"function setSearch(input) {\n"
	"\tif (input === null) return;\n"
	"\tif (input === '') {\n"
	"\t\tterm = null;\n"
	"\t} else {\n"
	"\t\ttermText = input;\n"
	"\t\ttry {\n"
	"\t\t\tterm = new RegExp(input);\n"
	"\t\t} catch (e) {\n"
	"\t\t\tterm = { test: function (s) { return s.indexOf(input) >= 0; } };\n"
	"\t\t}\n"
	"\t}\n"
	"\thighlight();\n"
	"}\n"
	"function ask() {\n"
	"\tsetSearch(window.prompt('Highlight frames matching (regular expression):', termText));\n"
	"}\n"
	"function show(i) {\n"
	"\tviews.forEach(function (v, j) { v.el.classList.toggle('hid', j !== i); });\n"
	"\tvbs.forEach(function (b, j) { b.classList.toggle('on', j === i); });\n"
	"\tcur = views[i];\n"
	"\tzoomed = null;\n"
	"\tlayout();\n"
	"\thighlight();\n"
	"}\n"
	"function frameOf(e) {\n"
	"\tvar g = e.target.closest ? e.target.closest('g.f') : null;\n"
	"\treturn g ? g._fg : null;\n"
	"}\n"
	"\n"
	"measure();\n"
	"init();\n"
	"if (!views.length) return;\n"
	"statusEl.textContent = HINT;\n"
	"show(0);\n"
	"svg.addEventListener('click', function (e) {\n"
	"\tvar b = e.target.closest ? e.target.closest('.btn') : null;\n"
	"\tif (b === resetEl) {\n"
	"\t\tunzoom();\n"
	"\t} else if (b === searchEl) {\n"
	"\t\tif (term) setSearch(''); else ask();\n"
	"\t} else if (b) {\n"
	"\t\tif (vbs.indexOf(b) >= 0) show(vbs.indexOf(b));\n"
	"\t} else if (frameOf(e)) {\n"
	"\t\tzoom(frameOf(e));\n"
	"\t}\n"
	"});\n"
	"svg.addEventListener('mouseover', function (e) {\n"
	"\tvar f = frameOf(e);\n"
	"\tif (f) statusEl.textContent = fit(Array.from(f.name + '  ' + f.info), FULL);\n"
	"});\n"
	"svg.addEventListener('mouseout', function (e) {\n"
	"\tif (frameOf(e)) statusEl.textContent = HINT;\n"
	"});\n"
	"window.addEventListener('keydown', function (e) {\n"
	"\tif ((e.ctrlKey || e.metaKey) && (e.key === 'f' || e.key === 'F')) {\n"
	"\t\te.preventDefault();\n"
	"\t\task();\n"
	"\t} else if (e.key === 'Escape') {\n"
	"\t\tsetSearch('');\n"
	"\t\tunzoom();\n"
	"\t}\n"
	"});\n"
	"})();\n";

struct fg_doc {
	FILE *f;
	struct fg_clean clean;
	double graph_top;	/* y of the topmost row */
	size_t rows;		/* rows of every view */
};

static int write_frame(struct fg_doc *d, const struct fg_tree *t, const struct fg_node *nd,
		       const char *unit)
{
	FILE *f = d->f;
	double x = FG_PAD + (double)nd->off / (double)t->total * FG_GRAPH_W;
	double w = (double)nd->weight / (double)t->total * FG_GRAPH_W;
	double y = d->graph_top + (double)(d->rows - 1 - nd->depth) * FG_ROW;
	char num[32];
	int err;

	fprintf(f, "<g class=\"f\" gs:d=\"%zu\" gs:o=\"%llu\" gs:w=\"%llu\"><title>", nd->depth,
		(unsigned long long)nd->off, (unsigned long long)nd->weight);
	err = xml_puts(f, &d->clean, nd->name);
	if (err)
		return err;
	fprintf(f, "\n%s ", fmt_u64(num, nd->weight));
	xml_putn(f, unit, strlen(unit));
	fprintf(f, " (%.2f%%)</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" rx=\"2\" fill=\"",
		share(nd->weight, t->total), x, y, w, FG_ROW - 1);
	put_colour(f, nd);
	fprintf(f, "\"/><text x=\"%.2f\" y=\"%.1f\">", x + FG_TEXT_PAD, y + FG_ROW - 4.5);
	xml_put_fit(f, &d->clean, w);
	fputs("</text></g>\n", f);
	return 0;
}

static int write_view(struct fg_doc *d, const struct fg_view *v, const struct fg_tree *t,
		      size_t idx, double foot_y)
{
	FILE *f = d->f;
	char num[32], *unit;
	int err;

	/* Cleaned once here, reused for every frame's title. */
	err = clean_text(&d->clean, v->unit ? v->unit : "");
	if (err)
		return err;
	unit = strdup(d->clean.buf);
	if (!unit)
		return -ENOMEM;
	fprintf(f, "<g class=\"view%s\" id=\"view%zu\" gs:total=\"%llu\" gs:unit=\"", idx ? " hid" : "",
		idx, (unsigned long long)t->total);
	xml_putn(f, unit, strlen(unit));
	fputs("\">\n", f);
	fprintf(f, "<text class=\"sub\" x=\"%d\" y=\"46\" text-anchor=\"middle\">", FG_WIDTH / 2);
	err = xml_puts(f, &d->clean, v->title);
	if (err)
		goto cleanup;
	fputs("</text>\n", f);

	if (!t->total)
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\">No samples.</text>\n",
			FG_WIDTH / 2, d->graph_top + (double)d->rows * FG_ROW / 2);
	for (size_t i = 0; i < t->n; i++) {
		if (!t->nodes[i].drawn)
			continue;
		err = write_frame(d, t, &t->nodes[i], unit);
		if (err)
			goto cleanup;
	}

	fprintf(f, "<text class=\"note\" x=\"%d\" y=\"%.1f\">Total %s ", FG_PAD, foot_y,
		fmt_u64(num, t->total));
	xml_putn(f, unit, strlen(unit));
	fprintf(f, ". %s frame%s narrower than %.1f%% of the total %s not drawn",
		fmt_u64(num, t->elided), t->elided == 1 ? "" : "s", 100 * FG_MIN_SHARE,
		t->elided == 1 ? "is" : "are");
	if (t->elided)
		fprintf(f, "; they cut short stacks holding %.2f%% of the weight",
			share(t->elided_weight, t->total));
	fputs(".</text>\n</g>\n", f);

cleanup:
	free(unit);
	return err;
}

/* One clickable button per view, left to right. */
static int write_selector(struct fg_doc *d, const struct fg_view *views,
			  const struct fg_tree *trees, size_t nviews)
{
	FILE *f = d->f;
	double x = FG_PAD;
	char num[32];
	int err;

	for (size_t i = 0; i < nviews; i++) {
		size_t chars;
		double w;

		fprintf(f, "<g class=\"btn vb%s\" id=\"vb%zu\"><title>", i ? "" : " on", i);
		err = xml_puts(f, &d->clean, views[i].title);
		if (err)
			return err;
		fputs("</title>", f);
		/* The label's width from its characters: name, ": ", total, " ", unit. */
		err = clean_text(&d->clean, views[i].unit ? views[i].unit : "");
		if (err)
			return err;
		chars = d->clean.chars + strlen(fmt_u64(num, trees[i].total)) + 3;
		err = clean_text(&d->clean, views[i].name ? views[i].name : "");
		if (err)
			return err;
		chars += d->clean.chars;
		w = (double)chars * FG_CHAR_W + 16;
		fprintf(f, "<rect x=\"%.1f\" y=\"55\" width=\"%.1f\" height=\"20\" rx=\"3\"/>"
			"<text x=\"%.1f\" y=\"69\">", x, w, x + 8);
		xml_putn(f, d->clean.buf, d->clean.len);
		fprintf(f, ": %s ", num);
		err = xml_puts(f, &d->clean, views[i].unit);
		if (err)
			return err;
		fputs("</text></g>\n", f);
		x += w + 8;
	}
	return 0;
}

static int write_doc(struct fg_doc *d, const char *title, const struct fg_view *views,
		     const struct fg_tree *trees, size_t nviews)
{
	FILE *f = d->f;
	double status_y, foot_y, height;
	int err;

	d->rows = 1;
	for (size_t i = 0; i < nviews; i++)
		if (trees[i].rows > d->rows)
			d->rows = trees[i].rows;
	d->graph_top = nviews > 1 ? 86 : 62;
	status_y = d->graph_top + (double)d->rows * FG_ROW + 18;
	foot_y = status_y + 18;
	height = foot_y + 10;

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n", f);
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:gs=\"" FG_NS "\" version=\"1.1\" "
		"width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" gs:left=\"%d\" gs:width=\"%d\">\n",
		FG_WIDTH, height, FG_WIDTH, height, FG_PAD, FG_GRAPH_W);
	fputs("<title>", f);
	err = xml_puts(f, &d->clean, title);
	if (err)
		return err;
	fprintf(f, "</title>\n<style type=\"text/css\"><![CDATA[\n%s]]></style>\n", fg_css);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%.0f\" fill=\"#f7f7f2\"/>\n",
		FG_WIDTH, height);
	fprintf(f, "<text id=\"title\" x=\"%d\" y=\"24\" text-anchor=\"middle\">", FG_WIDTH / 2);
	err = xml_puts(f, &d->clean, title);
	if (err)
		return err;
	fputs("</text>\n", f);
	fprintf(f, "<text id=\"reset\" class=\"btn hid\" x=\"%d\" y=\"46\">Reset zoom</text>\n", FG_PAD);
	fprintf(f, "<text id=\"search\" class=\"btn\" x=\"%d\" y=\"46\" text-anchor=\"end\">Search</text>\n",
		FG_WIDTH - FG_PAD);
	if (nviews > 1) {
		err = write_selector(d, views, trees, nviews);
		if (err)
			return err;
	}
	if (!nviews)
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\">No data.</text>\n",
			FG_WIDTH / 2, d->graph_top + FG_ROW / 2.0);
	for (size_t i = 0; i < nviews; i++) {
		err = write_view(d, &views[i], &trees[i], i, foot_y);
		if (err)
			return err;
	}
	fprintf(f, "<text id=\"status\" x=\"%d\" y=\"%.1f\"> </text>\n", FG_PAD, status_y);
	fprintf(f, "<text id=\"matched\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\"></text>\n",
		FG_WIDTH - FG_PAD, status_y);
	fprintf(f, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n</svg>\n", fg_js);
	return 0;
}

int flamegraph__write_svg(FILE *f, const char *title, const struct fg_view *views, size_t nviews)
{
	struct fg_doc doc = { .f = f };
	struct fg_tree *trees = NULL;
	size_t built = 0;
	int err = 0;

	if (!f || (nviews && !views))
		return -EINVAL;
	errno = 0; /* so that a failed write's errno is the one returned */
	trees = calloc(nviews ? nviews : 1, sizeof(*trees));
	if (!trees)
		return -ENOMEM;
	for (; built < nviews; built++) {
		err = tree_build(&views[built], &trees[built]);
		if (err)
			goto cleanup;
	}
	err = write_doc(&doc, title, views, trees, nviews);
	if (err)
		goto cleanup;
	if (fflush(f) || ferror(f))
		err = errno ? -errno : -EIO;

cleanup:
	for (size_t i = 0; i < built; i++)
		free(trees[i].nodes);
	free(trees);
	free(doc.clean.buf);
	return err;
}
