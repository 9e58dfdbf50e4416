// SPDX-License-Identifier: MIT
/* waitloop__find on hand-assembled take_gil shapes (the one it accepts and
 * the ones it must refuse), and on the real libpythons when present: 3.8,
 * 3.11 and 3.12 have the padding nop, 3.6 and 3.13 do not. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "inspect/callsite.h"
#include "check.h"
#include "inspect/elf.h"
#include "inspect/waitloop.h"

/*
 * 0x1000  41 8b 87 78 01 00 00   mov 0x178(%r15),%eax     first test of locked
 * 0x1007  85 c0                  test %eax,%eax
 * 0x1009  74 13                  je 0x101e (ready)
 * 0x100b  90                     nop                      <- once a wait
 * 0x100c  41 8b 87 78 01 00 00   mov 0x178(%r15),%eax     loop head
 * 0x1013  85 c0                  test %eax,%eax
 * 0x1015  74 07                  je 0x101e (ready)
 * 0x1017  e8 00 00 00 00         call (pthread_cond_timedwait)
 * 0x101c  eb ee                  jmp 0x100c
 * 0x101e  c3                     ret (ready)
 */
static const unsigned char good[] = {
	0x41, 0x8b, 0x87, 0x78, 0x01, 0x00, 0x00, 0x85, 0xc0, 0x74, 0x13, 0x90,
	0x41, 0x8b, 0x87, 0x78, 0x01, 0x00, 0x00, 0x85, 0xc0, 0x74, 0x07,
	0xe8, 0x00, 0x00, 0x00, 0x00, 0xeb, 0xee, 0xc3,
};
#define BASE 0x1000
#define WAIT_CALL 0x1017

static int find_patched(size_t at, unsigned char byte, struct waitloop *wl)
{
	unsigned char code[sizeof(good)];

	memcpy(code, good, sizeof(code));
	code[at] = byte;
	return waitloop__find(code, sizeof(code), BASE, WAIT_CALL, wl);
}

static void synthetic(void)
{
	struct waitloop wl;

	CHECK(waitloop__find(good, sizeof(good), BASE, WAIT_CALL, &wl) == 0);
	CHECK_U64(wl.entry, 0x100b);
	CHECK_U64(wl.head, 0x100c);
	CHECK(wl.reg == WL_R15);
	CHECK_U64((uint64_t)wl.disp, 0x178);
	/* 3.13's shape: no first test, the run before the head is entered on
	 * every take (here: the first branch is not a je to the exit) */
	CHECK(find_patched(0x9, 0x75, &wl) == -ENOENT);
	/* the first je goes elsewhere than the loop's exit */
	CHECK(find_patched(0xa, 0x11, &wl) == -ENOENT);
	/* no nop to probe (push %rax: single-stepped, ~10 us a hit) */
	CHECK(find_patched(0xb, 0x50, &wl) == -ENOENT);
	/* the back-edge lands on the nop: it runs every round */
	CHECK(find_patched(0x1d, 0xed, &wl) == -ENOENT);
	/* the loop reads locked through %r8: not kept across the loop's calls */
	CHECK(find_patched(0xe, 0x80, &wl) == -ENOENT);
	/* the head is not a load of locked */
	CHECK(find_patched(0xd, 0x89, &wl) == -ENOENT);
	/* no back-edge at all */
	CHECK(find_patched(0x1c, 0x90, &wl) == -ENOENT);
}

/* take_gil of a real build: where its timedwait call is, and what
 * waitloop__locate makes of it. */
static void real(const char *lib, const char *func, int expect_found, uint64_t expect_off)
{
	struct elf_file *ef;
	struct elf_sym s;
	struct waitloop wl;
	uint64_t call;
	int e;

	if (elf_file__open(lib, &ef) != 0) {
		printf("test_waitloop: SKIP %s (not present)\n", lib);
		return;
	}
	CHECK_MSG(elf_file__find(ef, func, &s) == 0, "%s in %s", func, lib);
	CHECK_MSG(callsites__find(lib, ef, s.addr, s.size, "pthread_cond_timedwait", &call, 1) == 1, "%s", lib);
	e = waitloop__locate(ef, s.addr, s.size, call, &wl);
	if (expect_found) {
		CHECK_MSG(e == 0, "%s: %d", lib, e);
		CHECK_MSG(!e && wl.entry - s.addr == expect_off, "%s: entry %s+0x%llx", lib, func,
			  (unsigned long long)(wl.entry - s.addr));
		CHECK_MSG(!e && wl.entry < wl.head && wl.head < call, "%s", lib);
	} else {
		CHECK_MSG(e == -ENOENT, "%s: %d (entry %s+0x%llx)", lib, e, func,
			  (unsigned long long)(wl.entry - s.addr));
	}
	elf_file__close(ef);
}

int main(void)
{
	const char *v = "/root/.pyenv/versions";
	char lib[256];

	synthetic();
	snprintf(lib, sizeof(lib), "%s/3.6.15/lib/libpython3.6m.so.1.0", v);
	real(lib, "take_gil", 0, 0);          /* two loop heads: its nop is inside the loop */
	snprintf(lib, sizeof(lib), "%s/3.8.18/lib/libpython3.8.so.1.0", v);
	real(lib, "take_gil", 1, 0x5a);
	real(lib, "take_gil.constprop.0", 1, 0x51);
	snprintf(lib, sizeof(lib), "%s/3.11.7/lib/libpython3.11.so.1.0", v);
	real(lib, "take_gil", 1, 0x7f);
	snprintf(lib, sizeof(lib), "%s/3.12.1/lib/libpython3.12.so.1.0", v);
	real(lib, "take_gil", 1, 0x7d);
	snprintf(lib, sizeof(lib), "%s/3.13.0/lib/libpython3.13.so.1.0", v);
	real(lib, "take_gil", 0, 0);          /* no first test of locked */
	return check_summary("test_waitloop");
}
