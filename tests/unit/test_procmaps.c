// SPDX-License-Identifier: MIT
/* /proc/PID/maps parsing: a fixed text with the awkward cases, malformed
 * lines, and this process's own maps. */
#include <errno.h>
#include <link.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "inspect/procmaps.h"

static const char sample[] =
	"00400000-00452000 r-xp 00000000 08:02 173521                             /usr/bin/dbus-daemon\n"
	"55d0c8a00000-55d0c8a21000 rw-p 00000000 00:00 0                          [heap]\n"
	/* listed out of offset order on purpose: base uses the lowest offset */
	"7f0000003000-7f0000005000 r-xp 00002000 fd:01 1234                       /opt/my app/lib python.so\n"
	"7f0000001000-7f0000003000 r--p 00000000 fd:01 1234                       /opt/my app/lib python.so\n"
	"7f1000000000-7f1000001000 rw-s 00010000 103:1f 99                        /tmp/gone (deleted)\n"
	"7f2000000000-7f2000001000 rw-p 00000000 00:00 0 \n"
	"7ffd1e3f6000-7ffd1e3fa000 r-xp 00000000 00:00 0                          [vdso]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

static int parse_str(const char *text, struct proc_maps *m)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int err;

	if (!f)
		return -errno;
	err = proc_maps__parse(f, m);
	fclose(f);
	return err;
}

static void test_sample(void)
{
	struct proc_maps m;
	uint64_t base;

	CHECK(parse_str(sample, &m) == 0);
	CHECK_U64(m.n, 8);
	if (m.n != 8)
		return;
	CHECK_U64(m.v[0].start, 0x400000);
	CHECK_U64(m.v[0].end, 0x452000);
	CHECK_STR(m.v[0].perms, "r-xp");
	CHECK_U64(m.v[0].dev_major, 8);
	CHECK_U64(m.v[0].dev_minor, 2);
	CHECK_U64(m.v[0].inode, 173521);
	CHECK_STR(m.v[0].path, "/usr/bin/dbus-daemon");
	CHECK_STR(m.v[1].path, "[heap]");
	CHECK_STR(m.v[2].path, "/opt/my app/lib python.so");
	CHECK_U64(m.v[2].offset, 0x2000);
	CHECK_STR(m.v[4].path, "/tmp/gone (deleted)");
	CHECK_STR(m.v[4].perms, "rw-s");
	CHECK_U64(m.v[4].dev_major, 0x103);
	CHECK_U64(m.v[4].dev_minor, 0x1f);
	CHECK_STR(m.v[5].path, "");
	CHECK_U64(m.v[5].inode, 0);
	CHECK_STR(m.v[6].path, "[vdso]");
	CHECK_U64(m.v[7].start, 0xffffffffff600000ull); /* last line, no newline */
	CHECK_STR(m.v[7].path, "[vsyscall]");

	CHECK(proc_maps__base(&m, "/opt/my app/lib python.so", &base) == 0);
	CHECK_U64(base, 0x7f0000001000);
	CHECK(proc_maps__base(&m, "/usr/bin/dbus-daemon", &base) == 0);
	CHECK_U64(base, 0x400000);
	CHECK(proc_maps__base(&m, "/tmp/gone (deleted)", &base) == 0);
	CHECK_U64(base, 0x7f1000000000 - 0x10000);
	CHECK(proc_maps__base(&m, "/opt/my app/lib", &base) == -ENOENT);
	CHECK(proc_maps__base(&m, "/tmp/gone", &base) == -ENOENT);
	proc_maps__free(&m);
	CHECK(m.v == NULL && m.n == 0);

	CHECK(parse_str("", &m) == 0 && m.n == 0);
	proc_maps__free(&m);
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"garbage\n",
		"00400000 r-xp 00000000 08:02 1 /x\n",              /* no end */
		"00400000-0045zz00 r-xp 00000000 08:02 1 /x\n",
		"00400000-00452000 r-x 00000000 08:02 1 /x\n",      /* short perms */
		"00400000-00452000 rwxq 00000000 08:02 1 /x\n",
		"00400000-00452000 r-xp 00000000 0802 1 /x\n",      /* no colon */
		"00400000-00452000 r-xp 00000000 08:02 -1 /x\n",
		"00400000-00452000 r-xp 00000000 08:02\n",          /* no inode */
		"00400000-00452000 r-xp\n",
		"00452000-00400000 r-xp 00000000 08:02 1 /x\n",     /* end < start */
		" 00400000-00452000 r-xp 00000000 08:02 1 /x\n",
		"00400000-00452000 r-xp 00000000 08:02 1 /x\nbroken\n",
	};
	struct proc_maps m = { (void *)1, 1 }; /* must be left untouched */

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(parse_str(bad[i], &m) == -EINVAL, "accepted: %s", bad[i]);
	CHECK(m.v == (void *)1 && m.n == 1);
}

static int find_self(struct dl_phdr_info *info, size_t size, void *ctx)
{
	(void)size;
	*(uint64_t *)ctx = info->dlpi_addr; /* first entry: the executable */
	return 1;
}

static void test_self(void)
{
	uint64_t base, bias = 0, fn = (uint64_t)(uintptr_t)&test_self;
	char exe[4096];
	struct proc_maps m;
	bool found = false;
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(n > 0);
	if (n <= 0)
		return;
	exe[n] = '\0';
	CHECK(proc_maps__load(getpid(), &m) == 0);
	for (size_t i = 0; i < m.n; i++)
		if (!strcmp(m.v[i].path, exe) && fn >= m.v[i].start && fn < m.v[i].end)
			found = m.v[i].perms[2] == 'x';
	CHECK_MSG(found, "no executable mapping of %s holds this function", exe);
	CHECK(proc_maps__base(&m, exe, &base) == 0);
	/* For a PIE the load bias is where its offset-0 page is mapped. */
	dl_iterate_phdr(find_self, &bias);
	if (bias)
		CHECK_U64(base, bias);
	proc_maps__free(&m);

	CHECK(proc_maps__load(-1, &m) == -ENOENT);
}

int main(void)
{
	test_sample();
	test_malformed();
	test_self();
	return check_summary("test_procmaps");
}
