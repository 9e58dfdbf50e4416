// SPDX-License-Identifier: MIT
/* Seed inputs from a real interpreter, read with gilscope's own parsers
 * (built and run by tests/fuzz/seeds.sh):
 *   seeds takegil ROOT LIB OUT   take_gil (and clones) of ROOT/LIB as the
 *                                waitloop harness's input, one file each:
 *                                OUT.<symbol>
 *   seeds runtime ROOT LIB OUT   the first 1024 bytes of _PyRuntime's
 *                                initial image (_Py_DebugOffsets on 3.13+)
 * ROOT is "" for the host or a Debian root (its debug files are found in
 * it). Symbols come from LIB, or its debug file when LIB is stripped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "inspect/callsite.h"
#include "inspect/debuginfo.h"
#include "inspect/elf.h"

struct ctx {
	struct elf_file *code;
	const char *path, *out;
	int n;
};

static int each(const struct elf_sym *s, void *p)
{
	struct ctx *c = p;
	unsigned char *code;
	uint64_t call;
	char out[4096];
	uint16_t at;
	FILE *f;

	if (!s->is_func || !gs_sym_is_clone_of(s->name, "take_gil") || s->size < 8 || s->size > 60000)
		return 0;
	if (callsites__find(c->path, c->code, s->addr, s->size, "pthread_cond_timedwait", &call, 1) != 1)
		call = s->addr + s->size / 2;
	if (!(code = elf_file__read_alloc(c->code, s->addr, s->size)))
		return 0;
	at = (uint16_t)(call - s->addr);
	snprintf(out, sizeof(out), "%s.%s", c->out, s->name);
	if ((f = fopen(out, "wb"))) {
		fwrite(&at, 2, 1, f);
		fwrite(code, 1, s->size, f);
		fclose(f);
		c->n++;
	}
	free(code);
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096], dbg[4096], how[128];
	struct elf_file *ef, *syms;
	struct elf_sym s;
	struct ctx c;

	if (argc != 5)
		return fprintf(stderr, "usage: seeds takegil|runtime ROOT LIB OUT\n"), 2;
	snprintf(path, sizeof(path), "%s%s", argv[2], argv[3]);
	if (elf_file__open(path, &ef))
		return fprintf(stderr, "seeds: cannot open %s\n", path), 1;
	if (!strcmp(argv[1], "runtime")) {
		unsigned char buf[1024];
		FILE *f;

		if (elf_file__find(ef, "_PyRuntime", &s) || elf_file__read(ef, s.addr, buf, sizeof(buf)))
			return fprintf(stderr, "seeds: no _PyRuntime in %s\n", path), 1;
		if (!(f = fopen(argv[4], "wb")))
			return 1;
		fwrite(buf, 1, sizeof(buf), f);
		fclose(f);
		return 0;
	}
	syms = ef;
	if (elf_file__find(ef, "take_gil", &s) &&
	    debuginfo__find(argv[2], "/usr/lib/debug", argv[3], dbg, sizeof(dbg), how, sizeof(how)) == 0 &&
	    elf_file__open(dbg, &syms))
		syms = ef;
	c.code = ef;
	c.path = path;
	c.out = argv[4];
	c.n = 0;
	elf_file__foreach(syms, each, &c);
	printf("seeds: %s: %d take_gil bodies%s\n", path, c.n, syms != ef ? " (debug file)" : "");
	return c.n ? 0 : 1;
}
