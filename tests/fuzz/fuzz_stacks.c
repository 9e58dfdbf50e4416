// SPDX-License-Identifier: MIT
/* Frame names from captured code objects (user/model/stacks.c): what BPF
 * copied out of the target's memory (struct gs_code, struct gs_pystack) is
 * the "fake target memory" here, taken as is, lengths and kinds included.
 * Input: minor (1 byte), bytecode offset (4 bytes LE), one struct gs_code
 * (zero-padded when short), then one struct gs_pystack whose frames name
 * that code object (a frame with a low byte < 0x80 is pointed at it). */
#include "fuzz.h"
#include "model/stacks.h"

#define CODE_ADDR 0x7f0000001000ull

_Static_assert(sizeof(struct gs_code) == 2464, "seed files (tests/fuzz/seeds.py) pack this layout");

/* Strict UTF-8: no overlongs, surrogates or code points past U+10FFFF. */
static int utf8_ok(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s, n, cp;

		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return 0;
		for (unsigned i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		s += n + 1;
	}
	return 1;
}

static const char *name_of(uint32_t tid, void *ctx)
{
	return "MainThread";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct code_entry *ce;
	struct stack_entry *se;
	struct stack_count sc[2];
	struct gs_result res;
	struct stack_report sr;
	struct top_stack top[4];
	char buf[GS_NAME_MAX * 4 + GS_FILE_MAX * 4 + 32];
	uint32_t off;
	size_t n;
	int minor;

	if (size < 5)
		return 0;
	minor = data[0] % 18;
	memcpy(&off, data + 1, 4);
	data += 5;
	size -= 5;
	/* heap copies of exactly the captured structs: ASan sees past them */
	ce = calloc(1, sizeof(*ce));
	se = calloc(1, sizeof(*se));
	if (!ce || !se)
		goto out;
	ce->addr = CODE_ADDR;
	n = size < sizeof(ce->c) ? size : sizeof(ce->c);
	memcpy(&ce->c, data, n);
	data += n;
	size -= n;

	stack_frame_name(&ce->c, minor, off, buf, sizeof(buf));
	FUZZ_ASSERT(strlen(buf) < sizeof(buf));
	FUZZ_ASSERT(utf8_ok((const unsigned char *)buf));

	se->id = 42;
	n = size < sizeof(se->st) ? size : sizeof(se->st);
	memcpy(&se->st, data, n);
	for (size_t i = 0; i < GS_MAX_FRAMES; i++)
		if ((se->st.frames[i] & 0xff) < 0x80)
			se->st.frames[i] = (se->st.frames[i] & ~GS_FRAME_CODE_MASK) | CODE_ADDR;
	memset(sc, 0, sizeof(sc));
	sc[0].k.stack = 42;
	sc[0].k.tid = 7;
	sc[0].k.view = GS_VIEW_GIL;
	sc[0].weight = 3;
	sc[1] = sc[0];
	sc[1].k.view = GS_VIEW_WAIT;
	sc[1].weight = 5000;
	memset(&res, 0, sizeof(res));
	res.counts = sc;
	res.ncounts = 2;
	res.stacks = se;
	res.nstacks = 1;
	res.codes = ce;
	res.ncodes = 1;
	res.py_minor = minor;
	if (stack_report__build(&sr, &res, name_of, NULL) == 0) {
		for (int v = 0; v < GS_NR_VIEWS; v++) {
			const struct view_stacks *vs = &sr.views[v];

			for (size_t i = 0; i < vs->n; i++)
				for (size_t d = 0; d < vs->stacks[i].depth; d++) {
					FUZZ_ASSERT(vs->stacks[i].frames[d] != NULL);
					FUZZ_ASSERT(utf8_ok((const unsigned char *)vs->stacks[i].frames[d]));
				}
			(void)stack_report__top(&sr, v, top, 4);
		}
	}
	stack_report__free(&sr);
out:
	free(ce);
	free(se);
	return 0;
}
