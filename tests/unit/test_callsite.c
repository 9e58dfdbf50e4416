// SPDX-License-Identifier: MIT
/* callsites__find on a shared object built here from
 * fixtures/callsite_fixture.c, checked against objdump's own disassembly
 * (an independent decoder) of the same file; and on a real libpython when
 * present. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "inspect/callsite.h"
#include "check.h"
#include "inspect/elf.h"

/* Addresses of "call ... <CALLEE@plt>" lines inside FUNC, by objdump. */
static int objdump_calls(const char *path, const char *func, const char *callee,
			 uint64_t *out, int max)
{
	char cmd[1024], line[512], want[160];
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "objdump -d --no-show-raw-insn --disassemble=%s %s", func, path);
	snprintf(want, sizeof(want), "<%s@plt>", callee);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p))
		if (strstr(line, "call") && strstr(line, want) && n < max)
			out[n++] = strtoull(line, NULL, 16);
	pclose(p);
	return n;
}

static void check_lib(const char *path, const char *func, int expect_each)
{
	static const char *const callee[] = { "pthread_cond_signal", "pthread_cond_timedwait",
					      "pthread_mutex_unlock" };
	struct elf_file *ef;
	struct elf_sym s;

	if (elf_file__open(path, &ef) != 0) {
		CHECK_MSG(0, "cannot open %s", path);
		return;
	}
	CHECK(elf_file__find(ef, func, &s) == 0);
	for (int k = 0; k < 3; k++) {
		uint64_t got[8], want[8];
		int n = callsites__find(path, ef, s.addr, s.size, callee[k], got, 8);
		int m = objdump_calls(path, func, callee[k], want, 8);

		CHECK_MSG(n == m, "%s in %s: %d call sites, objdump says %d", callee[k], func, n, m);
		for (int i = 0; i < n && i < m; i++)
			CHECK_U64(got[i], want[i]);
		if (k < 2 && expect_each)
			CHECK_MSG(n == expect_each, "%s: %d", callee[k], n);
	}
	elf_file__close(ef);
}

/* Entry probes step over endbr64, unless the function branches back to
 * the instruction after it. */
static void test_entry_skip(void)
{
	unsigned char plain[16] = { 0x41, 0x57, 0x41, 0x56, 0x55, 0x53, 0xc3 };      /* push..., ret */
	unsigned char cet[16] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x41, 0x57, 0x41, 0x56, 0xc3 };
	unsigned char loop8[16] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x90, 0x75, 0xfc };  /* jne -> +4 */
	unsigned char loop32[16] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x90,
				     0x0f, 0x85, 0xf8, 0xff, 0xff, 0xff };             /* jne rel32 -> +4 */
	unsigned char jmp32[16] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0xe9, 0xfa, 0xff, 0xff, 0xff };
	unsigned char elsewhere[16] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x90, 0x75, 0xfd }; /* -> +5 */

	CHECK(callsites__entry_skip(plain, sizeof(plain), 0x1000) == 0);
	CHECK(callsites__entry_skip(cet, sizeof(cet), 0x1000) == 4);
	CHECK(callsites__entry_skip(loop8, sizeof(loop8), 0x1000) == 0);
	CHECK(callsites__entry_skip(loop32, sizeof(loop32), 0x1000) == 0);
	CHECK(callsites__entry_skip(jmp32, sizeof(jmp32), 0x1000) == 0);
	CHECK(callsites__entry_skip(elsewhere, sizeof(elsewhere), 0x1000) == 4);
	CHECK(callsites__entry_skip(cet, 4, 0x1000) == 0);   /* too short to tell */
}

int main(void)
{
	test_entry_skip();
	const char *dir = "/tmp/gs-test-callsite";
	char cmd[512], so[256];

	snprintf(so, sizeof(so), "%s/fixture.so", dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s && cc -O2 -fPIC -shared -o %s tests/unit/fixtures/callsite_fixture.c -lpthread",
		 dir, so);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_callsite: cannot build the fixture (run from the repo root)\n");
		return 1;
	}
	check_lib(so, "fixture_take", 1);
	{
		struct elf_file *ef;
		struct elf_sym s;
		uint64_t got[4];

		CHECK(elf_file__open(so, &ef) == 0);
		CHECK(elf_file__find(ef, "fixture_none", &s) == 0);
		CHECK(callsites__find(so, ef, s.addr, s.size, "pthread_cond_signal", got, 4) == 0);
		CHECK(callsites__find(so, ef, s.addr, s.size, "no_such_function", got, 4) < 0);
		elf_file__close(ef);
	}
	for (int minor = 6; minor <= 13; minor++) {
		char lib[256];
		const char *glob_ver[] = { "3.6.15", "3.7.16", "3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0" };

		snprintf(lib, sizeof(lib), "/root/.pyenv/versions/%s/lib/libpython3.%d%s.so.1.0",
			 glob_ver[minor - 6], minor, minor <= 7 ? "m" : "");
		if (access(lib, R_OK) == 0) {
			printf("test_callsite: checking take_gil in %s\n", lib);
			check_lib(lib, "take_gil", 1);
		}
	}
	return check_summary("test_callsite");
}
