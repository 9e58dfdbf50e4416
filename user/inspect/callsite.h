/* SPDX-License-Identifier: MIT */
/* Find the instructions inside a function that call an imported function
 * (through its PLT stub or its GOT slot). gilscope probes two of them
 * inside take_gil instead of a uretprobe: the call to
 * pthread_cond_signal(&gil->switch_cond), made once the GIL is taken, and
 * the call to pthread_cond_timedwait(&gil->cond), made only when it is not
 * free. A call instruction is emulated by the kernel's uprobe code, so a
 * probe there costs one trap and no single-step. */
#ifndef GS_CALLSITE_H
#define GS_CALLSITE_H

#include <stddef.h>
#include <stdint.h>

struct elf_file;

/* Addresses (link-time) of the calls to `callee` inside [addr, addr+size)
 * of path's code. Returns how many were found (at most max), or -errno.
 * Matches `call rel32` to callee's PLT stub and `call *disp32(%rip)` to its
 * GOT slot; the exact target makes a false match in data practically
 * impossible, and callers also require the count they expect. */
int callsites__find(const char *path, struct elf_file *ef, uint64_t addr, uint64_t size,
		    const char *callee, uint64_t *sites, int max);

/* The same over the whole .text section of path (stripped binaries: no
 * function bounds are known). */
int callsites__find_text(const char *path, struct elf_file *ef, const char *callee,
			 uint64_t *sites, int max);

/* The `call rel32` instructions inside [addr, addr+size) of ef's code whose
 * target is one of targets[] (link-time addresses of local functions).
 * Returns how many (at most max stored), or -errno. */
int callsites__find_local(struct elf_file *ef, uint64_t addr, uint64_t size, const uint64_t *targets,
			  int ntargets, uint64_t *sites, int max);

/* Where a uprobe meant for a function's entry goes: 4 bytes in when the
 * function starts with endbr64 (builds with -fcf-protection), else 0. The
 * kernel's uprobe code emulates a push or a call (~0.7 us a hit here) but
 * single-steps endbr64 (~10 us a hit). Every call still runs the next
 * instruction once, unless the function branches back to it: then 0.
 * callsites__entry_skip decides from code bytes at addr. */
int callsites__entry_skip(const unsigned char *code, size_t len, uint64_t addr);
int callsites__entry_probe(struct elf_file *ef, uint64_t addr, uint64_t size);

#endif
