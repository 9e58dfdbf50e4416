/* SPDX-License-Identifier: MIT */
/* Where a contended take_gil enters its wait loop.
 *
 * 3.6-3.12 take the GIL's mutex, then test `locked` once (free: take it)
 * before the loop `while (locked) pthread_cond_timedwait(&gil->cond, ...)`.
 * A probe at that timedwait call fires every round of the loop (every
 * switch interval a waiter wakes up), where one per wait is all a wait's
 * start needs. Compilers pad the loop head to an alignment boundary with
 * a nop that only the fall-through from the first test runs: one trap a
 * wait, and a nop is emulated by the kernel's uprobe code (~0.7 us a hit,
 * like a call). This finds it by decoding the function (Capstone) and
 * checking the shape, else reports none (the call site stays). 3.13
 * dropped the first test: there, the loop head is reached on every take. */
#ifndef GS_WAITLOOP_H
#define GS_WAITLOOP_H

#include <stddef.h>
#include <stdint.h>

struct elf_file;

/* Callee-saved registers in struct pt_regs order (its first six fields):
 * the loop's `locked` test reads the GIL through one of them. */
enum waitloop_reg { WL_R15, WL_R14, WL_R13, WL_R12, WL_RBP, WL_RBX, WL_STATIC };

struct waitloop {
	uint64_t entry;          /* the padding nop to probe (link-time address) */
	uint64_t head;           /* the loop head: the `locked` test */
	enum waitloop_reg reg;   /* &gil->locked = reg + disp; WL_STATIC: a static GIL */
	int64_t disp;
};

/* In code[0..len) at link-time address addr, the function whose wait loop
 * calls pthread_cond_timedwait at wait_call. 0 and *out filled, or -ENOENT
 * when the code does not have the shape described above, -ENOMEM. */
int waitloop__find(const unsigned char *code, size_t len, uint64_t addr, uint64_t wait_call,
		   struct waitloop *out);

/* The same, reading [addr, addr+size) from ef. */
int waitloop__locate(struct elf_file *ef, uint64_t addr, uint64_t size, uint64_t wait_call,
		     struct waitloop *out);

#endif
