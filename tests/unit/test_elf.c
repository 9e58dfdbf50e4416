// SPDX-License-Identifier: MIT
/* ELF lookups on fixture binaries compiled here from fixtures/elf_fixture.c,
 * checked against program and section headers read without libelf; then on
 * real libpython builds when they are installed. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "inspect/elf.h" /* ours: -iquote user */

static char dir[] = "/tmp/gs_test_elf.XXXXXX";

/* Offsets of vaddr computed from raw Elf64 headers: through the PT_LOAD
 * holding it and through the allocated section holding it. ~0 if none. */
static void raw_offsets(const char *path, uint64_t vaddr, uint64_t *by_seg,
			uint64_t *by_sec)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	Elf64_Shdr sh;
	int fd = open(path, O_RDONLY);

	*by_seg = *by_sec = ~0ull;
	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64)
		goto out;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), eh.e_phoff + i * eh.e_phentsize) != sizeof(ph))
			goto out;
		if (ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr &&
		    vaddr < ph.p_vaddr + ph.p_memsz)
			*by_seg = vaddr - ph.p_vaddr + ph.p_offset;
	}
	for (unsigned int i = 0; i < eh.e_shnum; i++) {
		if (pread(fd, &sh, sizeof(sh), eh.e_shoff + i * eh.e_shentsize) != sizeof(sh))
			goto out;
		if ((sh.sh_flags & SHF_ALLOC) && sh.sh_type != SHT_NOBITS &&
		    vaddr >= sh.sh_addr && vaddr < sh.sh_addr + sh.sh_size)
			*by_sec = vaddr - sh.sh_addr + sh.sh_offset;
	}
out:
	if (fd >= 0)
		close(fd);
}

static void test_clone_names(void)
{
	static const char *const yes[] = {
		"take_gil", "take_gil.constprop.0", "take_gil.isra.0",
		"take_gil.part.12", "take_gil.lto_priv.0", "take_gil.constprop.0.isra.0",
	};
	static const char *const no[] = {
		"take_gil.cold", "take_gil.lto_priv.0.cold", "take_gil.cold.3",
		"take_gil.part", "take_gil.constprop.", "take_gil.0", "take_gil..0",
		"take_gil.constprop.0x", "take_gil_other", "take_gi", "xtake_gil",
		"take_gil.constprop.0.", "take_gil.my-pass.1",
	};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CHECK_MSG(gs_sym_is_clone_of(yes[i], "take_gil"), "%s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		CHECK_MSG(!gs_sym_is_clone_of(no[i], "take_gil"), "%s", no[i]);
}

struct walk {
	unsigned int n, take_gil, local_helper, clones, bad;
	unsigned int stop_after;
};

static int walk_cb(const struct elf_sym *s, void *ctx)
{
	struct walk *w = ctx;

	w->n++;
	w->take_gil += !strcmp(s->name, "take_gil");
	w->local_helper += !strcmp(s->name, "local_helper");
	w->clones += gs_sym_is_clone_of(s->name, "take_gil");
	w->bad += !*s->name;
	return w->stop_after && w->n == w->stop_after ? 7 : 0;
}

/* The checks every fixture build must pass. */
static void check_fixture(const char *path, int type, bool stripped)
{
	struct elf_file *ef;
	struct elf_sym s, data;
	struct walk w = {0};
	uint64_t seg, sec, off;
	static char big[1 << 20];
	unsigned char buf[32];
	uint32_t v32 = 0;
	int err;

	err = elf_file__open(path, &ef);
	CHECK_MSG(err == 0, "%s: %d", path, err);
	if (err)
		return;
	CHECK(elf_file__type(ef) == type);

	CHECK(elf_file__find(ef, "take_gil", &s) == 0);
	CHECK_STR(s.name, "take_gil");
	CHECK(s.is_func && s.size > 0);
	/* .symtab is preferred; a stripped file has .dynsym alone */
	CHECK_MSG(s.from_dynsym == stripped, "%s", path);
	raw_offsets(path, s.addr, &seg, &sec);
	CHECK_U64(s.offset, seg);
	CHECK_U64(s.offset, sec);
	CHECK(elf_file__vaddr_to_offset(ef, s.addr, &off) == 0);
	CHECK_U64(off, seg);

	err = elf_file__find(ef, "local_helper", &s);
	CHECK_MSG(err == (stripped ? -ENOENT : 0), "%s: %d", path, err);

	CHECK(elf_file__find(ef, "gs_fixture_data", &data) == 0);
	CHECK(!data.is_func && data.size == 4);
	CHECK(elf_file__read(ef, data.addr, &v32, sizeof(v32)) == 0);
	CHECK_U64(v32, 0x5eed1234);
	raw_offsets(path, data.addr, &seg, &sec);
	CHECK_U64(data.offset, seg);
	CHECK_U64(data.offset, sec);

	CHECK(elf_file__find(ef, "gs_fixture_bss", &s) == 0);
	CHECK_U64(s.size, 32);
	memset(buf, 0xff, sizeof(buf));
	CHECK(elf_file__read(ef, s.addr, buf, 32) == 0);
	CHECK(buf[0] == 0 && !memcmp(buf, buf + 1, 31));
	/* one read from initialised data on into .bss: file bytes, then the
	 * zeros past p_filesz */
	if (s.addr > data.addr && s.addr + 32 - data.addr <= sizeof(big)) {
		size_t len = s.addr + 32 - data.addr;

		memset(big, 0xff, len);
		CHECK(elf_file__read(ef, data.addr, big, len) == 0);
		CHECK(!memcmp(big, &(uint32_t){0x5eed1234}, 4));
		CHECK(!memcmp(big + len - 32, buf, 32));
	}
	/* running off the end of the segment is an error, not a short read */
	CHECK(elf_file__read(ef, s.addr, big, sizeof(big)) == -ERANGE);

	CHECK(elf_file__find(ef, "no_such_symbol", &s) == -ENOENT);
	CHECK(elf_file__find(ef, "", &s) == -ENOENT);
	if (type == ET_DYN) /* referenced but undefined in every gcc .so */
		CHECK(elf_file__find(ef, "__cxa_finalize", &s) == -ENOENT);
	CHECK(elf_file__vaddr_to_offset(ef, ~0ull - 100, &off) == -ENOENT);
	CHECK(elf_file__read(ef, ~0ull - 100, buf, 4) == -ENOENT);

	CHECK(elf_file__foreach(ef, walk_cb, &w) == 0);
	CHECK_MSG(w.take_gil == 1, "%s: take_gil reported %u times", path, w.take_gil);
	CHECK_U64(w.local_helper, stripped ? 0 : 1);
	CHECK_U64(w.clones, 2); /* take_gil, take_gil.constprop.0 */
	CHECK(w.bad == 0);
	memset(&w, 0, sizeof(w));
	w.stop_after = 3;
	CHECK(elf_file__foreach(ef, walk_cb, &w) == 7 && w.n == 3);
	elf_file__close(ef);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void test_fixtures(void)
{
	static const char *const outs[] = { "exe", "lib.so", "lib-stripped.so", "empty" };
	const char *cc = getenv("CC") ? getenv("CC") : "cc";
	const char *slash = strrchr(__FILE__, '/');
	char src[512], path[600];
	struct elf_file *ef;
	int fd;

	/* the fixture source sits next to this file (run from the repo root) */
	snprintf(src, sizeof(src), "%.*sfixtures/elf_fixture.c",
		 slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__);
	CHECK_MSG(access(src, R_OK) == 0, "%s not found: run from the repo root", src);
	CHECK(mkdtemp(dir) != NULL);
	CHECK(run("%s -O0 -no-pie -o %s/exe %s", cc, dir, src) == 0);
	CHECK(run("%s -O0 -fPIC -shared -DFIXTURE_LIB -o %s/lib.so %s", cc, dir, src) == 0);
	CHECK(run("%s -O0 -fPIC -shared -s -DFIXTURE_LIB -o %s/lib-stripped.so %s",
		  cc, dir, src) == 0);
	if (checks_failed)
		goto out;

	snprintf(path, sizeof(path), "%s/exe", dir);
	check_fixture(path, ET_EXEC, false);
	snprintf(path, sizeof(path), "%s/lib.so", dir);
	check_fixture(path, ET_DYN, false);
	snprintf(path, sizeof(path), "%s/lib-stripped.so", dir);
	check_fixture(path, ET_DYN, true);

	CHECK(elf_file__open(src, &ef) == -ENOEXEC);
	snprintf(path, sizeof(path), "%s/empty", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK(elf_file__open(path, &ef) == -ENOEXEC);
	snprintf(path, sizeof(path), "%s/missing", dir);
	CHECK(elf_file__open(path, &ef) == -ENOENT);
out:
	for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, outs[i]);
		unlink(path);
	}
	rmdir(dir);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int count_dyn_take_gil(const struct elf_sym *s, void *ctx)
{
	if (!strcmp(s->name, "take_gil") && s->from_dynsym)
		++*(int *)ctx;
	return 0;
}

static void test_libpython(void)
{
	const char *lib311 = "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0";
	const char *lib313 = "/root/.pyenv/versions/3.13.0/lib/libpython3.13.so.1.0";
	struct elf_file *ef;
	struct elf_sym s;
	struct walk w = {0};
	uint64_t seg, sec;
	char cookie[8];
	int dyn = 0, misses = 0;
	double t;

	if (access(lib311, R_OK)) {
		printf("test_elf: %s absent, skipped\n", lib311);
	} else if (elf_file__open(lib311, &ef) == 0) {
		CHECK(elf_file__type(ef) == ET_DYN);
		CHECK(elf_file__find(ef, "take_gil", &s) == 0);
		CHECK(s.is_func && !s.from_dynsym); /* static in ceval_gil.c */
		raw_offsets(lib311, s.addr, &seg, &sec);
		CHECK_U64(s.offset, seg);
		CHECK_U64(s.offset, sec);
		CHECK(elf_file__foreach(ef, count_dyn_take_gil, &dyn) == 0 && dyn == 0);
		CHECK(elf_file__find(ef, "_PyRuntime", &s) == 0);
		CHECK(!s.is_func && s.size > 0);
		CHECK(elf_file__foreach(ef, walk_cb, &w) == 0);
		CHECK_MSG(w.n > 10000, "only %u symbols", w.n);
		/* lookups must not rescan the file: 100k of them well under 1 s */
		t = now();
		for (int i = 0; i < 100000; i++)
			misses += elf_file__find(ef, i & 1 ? "take_gil" : "PyEval_SaveThread", &s) != 0;
		t = now() - t;
		CHECK(misses == 0);
		CHECK_MSG(t < 1.0, "100k lookups took %.2f s", t);
		elf_file__close(ef);
	} else {
		CHECK_MSG(0, "cannot open %s", lib311);
	}

	/* 3.13 starts _PyRuntime with _Py_DebugOffsets, whose initial value
	 * begins with the cookie "xdebugpy": a real elf_file__read case. */
	if (access(lib313, R_OK)) {
		printf("test_elf: %s absent, skipped\n", lib313);
	} else if (elf_file__open(lib313, &ef) == 0) {
		CHECK(elf_file__find(ef, "_PyRuntime", &s) == 0);
		CHECK(elf_file__read(ef, s.addr, cookie, sizeof(cookie)) == 0);
		CHECK(!memcmp(cookie, "xdebugpy", 8));
		elf_file__close(ef);
	} else {
		CHECK_MSG(0, "cannot open %s", lib313);
	}
}

int main(void)
{
	test_clone_names();
	test_fixtures();
	test_libpython();
	return check_summary("test_elf");
}
