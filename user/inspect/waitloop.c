// SPDX-License-Identifier: MIT
#include <capstone/capstone.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include "inspect/elf.h"
#include "inspect/waitloop.h"

/* The most code decoded: take_gil is 0.5-1.3 KiB in every build here (the
 * symbol's size is the file's word, and Capstone keeps ~1 KiB of detail
 * per instruction). */
#define GS_WAITLOOP_MAX_CODE (16u << 10)

/* Capstone, loaded only while a function is decoded: linked in, its
 * relocated tables would stay resident (~4.9 MiB of RSS for the whole
 * recording). Only the major version these headers describe will do (the
 * structures change between majors); without it, no wait-loop entry is
 * found and the probe stays on the call. */
static struct {
	void *lib;
	unsigned int (*version)(int *, int *);
	cs_err (*open)(cs_arch, cs_mode, csh *);
	cs_err (*option)(csh, cs_opt_type, size_t);
	size_t (*disasm)(csh, const uint8_t *, size_t, uint64_t, size_t, cs_insn **);
	bool (*group)(csh, const cs_insn *, unsigned int);
	void (*free)(cs_insn *, size_t);
	cs_err (*close)(csh *);
} cs;

static int cs_load(void)
{
	char name[32];
	int major = 0, minor = 0;

	snprintf(name, sizeof(name), "libcapstone.so.%d", CS_API_MAJOR);
	if (!(cs.lib = dlopen(name, RTLD_NOW | RTLD_LOCAL)))
		return -ENOENT;
	if (!(cs.version = dlsym(cs.lib, "cs_version")) || !(cs.open = dlsym(cs.lib, "cs_open")) ||
	    !(cs.option = dlsym(cs.lib, "cs_option")) || !(cs.disasm = dlsym(cs.lib, "cs_disasm")) ||
	    !(cs.group = dlsym(cs.lib, "cs_insn_group")) || !(cs.free = dlsym(cs.lib, "cs_free")) ||
	    !(cs.close = dlsym(cs.lib, "cs_close")) || (cs.version(&major, &minor), major != CS_API_MAJOR)) {
		dlclose(cs.lib);
		cs.lib = NULL;
		return -ENOENT;
	}
	return 0;
}

static void cs_unload(void)
{
	dlclose(cs.lib);
	cs.lib = NULL;
}

#define cs_insn_group(h, in, g) cs.group(h, in, g)

static bool is_branch(csh h, const cs_insn *in)
{
	return cs_insn_group(h, in, X86_GRP_JUMP) || cs_insn_group(h, in, X86_GRP_CALL) ||
	       cs_insn_group(h, in, X86_GRP_RET) || cs_insn_group(h, in, X86_GRP_INT) ||
	       in->id == X86_INS_UD2;
}

/* The direct target of a jump, or 0. */
static uint64_t jump_target(csh h, const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;

	if (!cs_insn_group(h, in, X86_GRP_JUMP) || x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
		return 0;
	return (uint64_t)x->operands[0].imm;
}

static int index_of(const cs_insn *in, size_t n, uint64_t a)
{
	for (size_t i = 0; i < n; i++)
		if (in[i].address == a)
			return (int)i;
	return -1;
}

struct back_edge {
	uint64_t to;
	size_t i;               /* index of the jump */
};

static int cmp_edge(const void *a, const void *b)
{
	const struct back_edge *x = a, *y = b;

	if (x->to != y->to)
		return x->to < y->to ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* The loop head: the instruction most back-edges from past the wait call
 * jump to (every 3.6-3.12 build here has one such target); of equal
 * counts, the target of the earliest such jump. Sorted rather than
 * counted pairwise: the code's size is the file's word. 0: none, or no
 * memory. */
static uint64_t loop_head(csh h, const cs_insn *in, size_t n, uint64_t addr, uint64_t wait_call)
{
	struct back_edge *e = malloc((n ? n : 1) * sizeof(*e));
	size_t ne = 0, best_n = 0, best_i = 0;
	uint64_t best = 0;

	if (!e)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t t = jump_target(h, &in[i]);

		if (in[i].address <= wait_call || !t || t >= wait_call || t < addr)
			continue;
		e[ne].to = t;
		e[ne++].i = i;
	}
	qsort(e, ne, sizeof(*e), cmp_edge);
	for (size_t k = 0, run; k < ne; k += run) {
		for (run = 1; k + run < ne && e[k + run].to == e[k].to; run++)
			;
		/* e[k] is the run's earliest jump */
		if (run > best_n || (run == best_n && e[k].i < best_i)) {
			best_n = run;
			best_i = e[k].i;
			best = e[k].to;
		}
	}
	free(e);
	return best;
}

static int reg_of(x86_reg r, enum waitloop_reg *out)
{
	switch (r) {
	case X86_REG_R15: *out = WL_R15; return 0;
	case X86_REG_R14: *out = WL_R14; return 0;
	case X86_REG_R13: *out = WL_R13; return 0;
	case X86_REG_R12: *out = WL_R12; return 0;
	case X86_REG_RBP: *out = WL_RBP; return 0;
	case X86_REG_RBX: *out = WL_RBX; return 0;
	case X86_REG_RIP: *out = WL_STATIC; return 0;
	default: return -1;      /* not preserved across the loop's calls */
	}
}

static int find(csh h, const cs_insn *in, size_t n, uint64_t addr, uint64_t wait_call, struct waitloop *out)
{
	uint64_t head = loop_head(h, in, n, addr, wait_call), exit_to, first;
	int ih = head ? index_of(in, n, head) : -1, j0, nop = -1;
	const cs_x86 *ld;

	if (ih < 1 || ih + 2 >= (int)n)
		return -ENOENT;
	/* head: mov m32 -> r32 (locked); test; je ready */
	ld = &in[ih].detail->x86;
	if (in[ih].id != X86_INS_MOV || ld->op_count != 2 || ld->operands[0].type != X86_OP_REG ||
	    ld->operands[0].size != 4 || ld->operands[1].type != X86_OP_MEM ||
	    ld->operands[1].mem.index != X86_REG_INVALID || ld->operands[1].mem.segment != X86_REG_INVALID ||
	    reg_of(ld->operands[1].mem.base, &out->reg) || in[ih + 1].id != X86_INS_TEST ||
	    in[ih + 2].id != X86_INS_JE || !(exit_to = jump_target(h, &in[ih + 2])) ||
	    (exit_to >= head && exit_to <= wait_call))
		return -ENOENT;
	/* the straight run before it, entered from a first `je ready` */
	for (j0 = ih - 1; j0 >= 0 && !is_branch(h, &in[j0]); j0--)
		if (nop < 0 && in[j0].id == X86_INS_NOP)
			nop = j0;
	if (j0 < 0 || nop < 0 || in[j0].id != X86_INS_JE || jump_target(h, &in[j0]) != exit_to)
		return -ENOENT;
	/* ...and only from there: no jump lands inside it */
	first = in[j0 + 1].address;
	for (size_t i = 0; i < n; i++) {
		uint64_t t = jump_target(h, &in[i]);

		if (t >= first && t < head)
			return -ENOENT;
	}
	out->entry = in[nop].address;
	out->head = head;
	out->disp = ld->operands[1].mem.disp;
	return 0;
}

int waitloop__find(const unsigned char *code, size_t len, uint64_t addr, uint64_t wait_call,
		   struct waitloop *out)
{
	cs_insn *in = NULL;
	size_t n;
	csh h;
	int e;

	if (len > GS_WAITLOOP_MAX_CODE || cs_load())
		return -ENOENT;
	if (cs.open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) {
		cs_unload();
		return -ENOMEM;
	}
	cs.option(h, CS_OPT_DETAIL, CS_OPT_ON);
	n = cs.disasm(h, code, len, addr, 0, &in);
	e = n ? find(h, in, n, addr, wait_call, out) : -ENOENT;
	if (n)
		cs.free(in, n);
	cs.close(&h);
	cs_unload();
	return e;
}

int waitloop__locate(struct elf_file *ef, uint64_t addr, uint64_t size, uint64_t wait_call,
		     struct waitloop *out)
{
	unsigned char *code;
	int e;

	if (!size || size > GS_WAITLOOP_MAX_CODE || !(code = elf_file__read_alloc(ef, addr, size)))
		return -ENOENT;
	e = waitloop__find(code, size, addr, wait_call, out);
	free(code);
	return e;
}
