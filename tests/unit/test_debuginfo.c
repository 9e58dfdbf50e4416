// SPDX-License-Identifier: MIT
/* Finding separate debug files: fixture programs are built, stripped and
 * split here with cc/strip/objcopy, laid out in build-id and debuglink trees
 * under a temp dir, and looked up; then the real /usr/bin/python3.11 with
 * its -dbg package when both are installed and their build-ids match. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "inspect/debuginfo.h"
#include "inspect/elf.h" /* ours: -iquote user */

static char tmp[] = "/tmp/gs_test_debuginfo.XXXXXX";

/* VARIANT changes the code, hence the build-id. */
static const char fixture_src[] =
	"#include <stdio.h>\n"
	"static int counter;\n"
	"__attribute__((noinline)) static int take_gil_fixture(int x)\n"
	"{\n"
	"	counter += x;\n"
	"	return counter * VARIANT;\n"
	"}\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"	(void)argv;\n"
	"	printf(\"%d\\n\", take_gil_fixture(argc));\n"
	"	return 0;\n"
	"}\n";

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	return system(cmd);
}

/* vsnprintf into a PATH_MAX buffer; "" if it does not fit. */
static char *pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *pathf(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX)
		buf[0] = '\0';
	return buf;
}

/* A path under the temp dir. */
#define at(buf, fmt, ...) pathf(buf, "%s/" fmt, tmp, ##__VA_ARGS__)

/* Copy src to dst, creating dst's directory. */
static int place(const char *src, const char *dst)
{
	return run("mkdir -p \"$(dirname '%s')\" && cp '%s' '%s'", dst, src, dst);
}

static char build_id[2 * 64 + 1];
static uint64_t fixture_addr; /* take_gil_fixture in the unstripped build */

/* <debug_dir>/.build-id/xx/rest.debug for the fixture */
static char *build_id_path(char *buf, const char *debug_dir)
{
	return pathf(buf, "%s/.build-id/%.2s/%s.debug", debug_dir, build_id,
		     build_id + 2);
}

/* The debug file at path holds take_gil_fixture where the unstripped
 * build has it. */
static void check_symbols(const char *path)
{
	struct elf_file *ef = NULL;
	struct elf_sym s;

	CHECK_MSG(elf_file__open(path, &ef) == 0, "%s", path);
	if (!ef)
		return;
	CHECK_MSG(elf_file__find(ef, "take_gil_fixture", &s) == 0, "%s", path);
	CHECK(s.is_func && !s.from_dynsym);
	CHECK_U64(s.addr, fixture_addr);
	CHECK(elf_file__find(ef, "main", &s) == 0 && s.is_func);
	elf_file__close(ef);
}

/* find() with root "" must give want_out, want_how. */
static void check_found(const char *root, const char *debug_dir, const char *bin,
			const char *want_out, const char *want_how)
{
	char out[PATH_MAX], how[128];
	int err = debuginfo__find(root, debug_dir, bin, out, sizeof(out),
				  how, sizeof(how));

	CHECK_MSG(err == 0, "%s: %d (%s %s)", bin, err, how, out);
	if (err)
		return;
	CHECK_STR(out, want_out);
	CHECK_STR(how, want_how);
	check_symbols(out);
}

static void check_not_found(const char *debug_dir, const char *bin,
			    const char *want_out, const char *want_how)
{
	char out[PATH_MAX], how[128];
	int err = debuginfo__find("", debug_dir, bin, out, sizeof(out),
				  how, sizeof(how));

	CHECK_MSG(err == -ENOENT, "%s: %d (%s %s)", bin, err, how, out);
	CHECK_STR(out, want_out);
	CHECK_STR(how, want_how);
}

static uint64_t section_flags(const char *path, const char *name)
{
	uint64_t flags = ~0ull;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstrndx;
	int fd = open(path, O_RDONLY);
	Elf *elf = fd < 0 ? NULL : elf_begin(fd, ELF_C_READ, NULL);

	if (elf && !elf_getshdrstrndx(elf, &shstrndx)) {
		while ((scn = elf_nextscn(elf, scn)) && gelf_getshdr(scn, &sh)) {
			const char *n = elf_strptr(elf, shstrndx, sh.sh_name);

			if (n && !strcmp(n, name))
				flags = sh.sh_flags;
		}
	}
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	return flags;
}

/* objcopy compresses .debug_* only; .symtab and its .strtab are compressed
 * here through libelf, as other tools may do. 0 or -1. */
static int compress_symtab(const char *path)
{
	static const char *const names[] = { ".symtab", ".strtab" };
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstrndx;
	int n = 0, fd = open(path, O_RDWR);
	Elf *elf = fd < 0 ? NULL : elf_begin(fd, ELF_C_RDWR, NULL);

	if (elf && !elf_getshdrstrndx(elf, &shstrndx)) {
		while ((scn = elf_nextscn(elf, scn)) && gelf_getshdr(scn, &sh)) {
			const char *name = elf_strptr(elf, shstrndx, sh.sh_name);

			for (size_t i = 0; name && i < 2; i++)
				if (!strcmp(name, names[i]) &&
				    elf_compress(scn, ELFCOMPRESS_ZLIB, ELF_CHF_FORCE) == 1)
					n++;
		}
		if (n == 2 && elf_update(elf, ELF_C_WRITE) < 0)
			n = -1;
	}
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	return n == 2 ? 0 : -1;
}

/* Build the fixtures every case shares; false if a tool is missing. */
static bool build_fixtures(void)
{
	const char *cc = getenv("CC") ? getenv("CC") : "cc";
	char a[PATH_MAX], b[PATH_MAX], id2[sizeof(build_id)];
	struct elf_file *ef;
	struct elf_sym s;
	FILE *f;

	f = fopen(at(a, "src.c"), "w");
	CHECK(f && fputs(fixture_src, f) >= 0);
	if (!f || fclose(f))
		return false;
	for (int v = 1; v <= 2; v++)
		CHECK(run("%s -O1 -g -DVARIANT=%d -Wl,--build-id=sha1 -o %s/prog%d %s/src.c",
			  cc, v, tmp, v, tmp) == 0);
	CHECK(run("%s -O1 -g -DVARIANT=1 -Wl,--build-id=none -o %s/prog-noid %s/src.c",
		  cc, tmp, tmp) == 0);
	for (int v = 1; v <= 2; v++) {
		CHECK(run("objcopy --only-keep-debug %s/prog%d %s/prog%d.debug",
			  tmp, v, tmp, v) == 0);
		CHECK(run("strip --strip-all -o %s/prog%d.stripped %s/prog%d",
			  tmp, v, tmp, v) == 0);
	}
	/* The link records the base name "prog1.debug" and that file's CRC. */
	CHECK(run("objcopy --add-gnu-debuglink=%s/prog1.debug %s/prog1.stripped %s/prog1.linked",
		  tmp, tmp, tmp) == 0);
	CHECK(run("objcopy --compress-debug-sections=zlib %s/prog1.debug %s/prog1.zdebug",
		  tmp, tmp) == 0);
	CHECK(run("cp %s/prog1.debug %s/prog1.zsymtab", tmp, tmp) == 0);
	CHECK(compress_symtab(at(a, "prog1.zsymtab")) == 0);
	if (checks_failed)
		return false;

	CHECK(debuginfo__build_id(at(a, "prog1"), build_id, sizeof(build_id)) == 0);
	CHECK_MSG(strlen(build_id) == 40 && strspn(build_id, "0123456789abcdef") == 40,
		  "%s", build_id);
	CHECK(debuginfo__build_id(at(a, "prog1.stripped"), id2, sizeof(id2)) == 0);
	CHECK_STR(id2, build_id);
	CHECK(debuginfo__build_id(at(a, "prog1.debug"), id2, sizeof(id2)) == 0);
	CHECK_STR(id2, build_id);
	CHECK(debuginfo__build_id(at(a, "prog1.zdebug"), id2, sizeof(id2)) == 0);
	CHECK_STR(id2, build_id);
	CHECK(debuginfo__build_id(at(a, "prog2"), id2, sizeof(id2)) == 0);
	CHECK_MSG(strcmp(id2, build_id), "variants share build-id %s", id2);
	CHECK(debuginfo__build_id(at(a, "prog1"), id2, 40) == -ENAMETOOLONG);
	CHECK(debuginfo__build_id(at(a, "prog-noid"), id2, sizeof(id2)) == -ENOENT);
	CHECK(debuginfo__build_id(at(a, "src.c"), id2, sizeof(id2)) == -ENOEXEC);
	CHECK(debuginfo__build_id(at(a, "missing"), id2, sizeof(id2)) == -ENOENT);

	CHECK(elf_file__open(at(a, "prog1"), &ef) == 0);
	if (checks_failed)
		return false;
	CHECK(elf_file__find(ef, "take_gil_fixture", &s) == 0 && s.is_func);
	fixture_addr = s.addr;
	elf_file__close(ef);
	/* the stripped build really lost it */
	ef = NULL;
	CHECK(elf_file__open(at(b, "prog1.stripped"), &ef) == 0);
	if (ef) {
		CHECK(elf_file__find(ef, "take_gil_fixture", &s) == -ENOENT);
		elf_file__close(ef);
	}
	return !checks_failed;
}

/* (a) build-id tree; errors on the binary itself. */
static void test_build_id(void)
{
	char bin[PATH_MAX], dbg[PATH_MAX], want[PATH_MAX], src[PATH_MAX];
	char out[PATH_MAX], how[64];

	at(dbg, "a/debug");
	CHECK(place(at(src, "prog1.debug"), build_id_path(want, dbg)) == 0);
	CHECK(place(at(src, "prog1.stripped"), at(bin, "a/bin/prog")) == 0);
	check_found("", dbg, bin, want, "build-id");

	/* out or how too small; missing or non-ELF binary; no way to find */
	CHECK(debuginfo__find("", dbg, bin, out, 8, how, sizeof(how)) == -ENAMETOOLONG);
	CHECK(debuginfo__find("", dbg, bin, out, sizeof(out), how, 4) == -ENAMETOOLONG);
	CHECK(debuginfo__find("", dbg, at(src, "a/bin/missing"), out, sizeof(out),
			      how, sizeof(how)) == -ENOENT);
	CHECK(debuginfo__find("", dbg, at(src, "src.c"), out, sizeof(out),
			      how, sizeof(how)) == -ENOEXEC);
	check_not_found(dbg, at(src, "prog-noid"), "", "");
	check_not_found(at(src, "a/nodebug"), bin, "", "");
}

/* (b) .gnu_debuglink in its three places, and the order of all four. */
static void test_debuglink(void)
{
	char bin[PATH_MAX], dbg[PATH_MAX], want[PATH_MAX], src[PATH_MAX];
	char linked[PATH_MAX];
	char how[PATH_MAX];

	at(src, "prog1.debug");
	at(linked, "prog1.linked");
	CHECK(place(linked, at(bin, "b1/bin/prog")) == 0);
	CHECK(place(src, at(want, "b1/bin/prog1.debug")) == 0);
	check_found("", at(dbg, "b1/debug"), bin, want, "debuglink next to the binary");

	CHECK(place(linked, at(bin, "b2/bin/prog")) == 0);
	CHECK(place(src, at(want, "b2/bin/.debug/prog1.debug")) == 0);
	check_found("", at(dbg, "b2/debug"), bin, want, "debuglink in .debug/");

	CHECK(place(linked, at(bin, "b3/bin/prog")) == 0);
	at(dbg, "b3/debug");
	pathf(want, "%s%s/b3/bin/prog1.debug", dbg, tmp);
	CHECK(place(src, want) == 0);
	pathf(how, "debuglink under %s", dbg);
	check_found("", dbg, bin, want, how);

	/* b3 gets the other two places and a build-id tree, one at a time:
	 * each new one must win. */
	CHECK(place(src, at(want, "b3/bin/.debug/prog1.debug")) == 0);
	check_found("", dbg, bin, want, "debuglink in .debug/");
	CHECK(place(src, at(want, "b3/bin/prog1.debug")) == 0);
	check_found("", dbg, bin, want, "debuglink next to the binary");
	CHECK(place(src, build_id_path(want, dbg)) == 0);
	check_found("", dbg, bin, want, "build-id");
}

/* (c) a debuglink candidate with other contents; (d) a build-id file of
 * another build. Both are skipped, and noted when nothing else matches. */
static void test_mismatch(void)
{
	char bin[PATH_MAX], dbg[PATH_MAX], want[PATH_MAX], src[PATH_MAX];
	char bad[PATH_MAX];

	CHECK(place(at(src, "prog1.linked"), at(bin, "c/bin/prog")) == 0);
	CHECK(place(at(src, "prog2.debug"), at(bad, "c/bin/prog1.debug")) == 0);
	check_not_found(at(dbg, "c/debug"), bin, bad, "debuglink CRC mismatch");
	/* same size, one byte different: only the CRC can tell */
	CHECK(place(at(src, "prog1.debug"), bad) == 0);
	CHECK(run("printf '\\001' | dd of='%s' bs=1 seek=100 conv=notrunc status=none",
		  bad) == 0);
	check_not_found(dbg, bin, bad, "debuglink CRC mismatch");
	CHECK(place(at(src, "prog1.debug"), at(want, "c/bin/.debug/prog1.debug")) == 0);
	check_found("", dbg, bin, want, "debuglink in .debug/");

	at(dbg, "d/debug");
	CHECK(place(at(src, "prog2.debug"), build_id_path(bad, dbg)) == 0);
	CHECK(place(at(src, "prog1.stripped"), at(bin, "d/bin/prog")) == 0);
	check_not_found(dbg, bin, bad, "build-id mismatch");
	CHECK(place(at(src, "src.c"), bad) == 0); /* not even ELF */
	check_not_found(dbg, bin, bad, "build-id mismatch");
	/* a debuglink still finds it past the bad build-id file */
	CHECK(place(at(src, "prog1.linked"), at(bin, "d/bin/prog")) == 0);
	CHECK(place(at(src, "prog1.debug"), at(want, "d/bin/prog1.debug")) == 0);
	check_found("", dbg, bin, want, "debuglink next to the binary");
}

/* (e) compressed sections: .debug_* by objcopy, .symtab/.strtab by libelf. */
static void test_compressed(void)
{
	char bin[PATH_MAX], dbg[PATH_MAX], want[PATH_MAX], src[PATH_MAX];

	at(src, "prog1.zdebug");
	CHECK(section_flags(src, ".debug_info") != ~0ull &&
	      (section_flags(src, ".debug_info") & SHF_COMPRESSED));
	CHECK(!(section_flags(src, ".symtab") & SHF_COMPRESSED));
	at(dbg, "e/debug");
	CHECK(place(src, build_id_path(want, dbg)) == 0);
	CHECK(place(at(src, "prog1.stripped"), at(bin, "e/bin/prog")) == 0);
	check_found("", dbg, bin, want, "build-id");

	/* a debuglink to a compressed file: its CRC is of the compressed bytes */
	CHECK(place(at(src, "prog1.zdebug"), at(want, "e2/bin/prog1.debug")) == 0);
	CHECK(run("objcopy --add-gnu-debuglink=%s %s/prog1.stripped %s/e2/bin/prog",
		  want, tmp, tmp) == 0);
	check_found("", at(dbg, "e2/debug"), at(bin, "e2/bin/prog"), want,
		    "debuglink next to the binary");

	at(src, "prog1.zsymtab");
	CHECK(section_flags(src, ".symtab") & SHF_COMPRESSED);
	CHECK(section_flags(src, ".strtab") & SHF_COMPRESSED);
	check_symbols(src);
	at(dbg, "e3/debug");
	CHECK(place(src, build_id_path(want, dbg)) == 0);
	check_found("", dbg, bin, want, "build-id");
}

/* (f) everything under a root prefix, as for /proc/PID/root. */
static void test_root(void)
{
	char root[PATH_MAX], want[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
	char out[PATH_MAX], how[64];

	at(root, "f/root");
	pathf(dst, "%s/usr/bin/prog", root);
	CHECK(place(at(src, "prog1.stripped"), dst) == 0);
	pathf(dst, "%s/usr/lib/debug", root);
	build_id_path(want, dst);
	CHECK(place(at(src, "prog1.debug"), want) == 0);
	check_found(root, "/usr/lib/debug", "/usr/bin/prog", want, "build-id");
	/* without the prefix, the same tree is not where debug_dir says */
	pathf(dst, "%s/usr/bin/prog", root);
	CHECK(debuginfo__find("", "/nonexistent/debug", dst, out, sizeof(out),
			      how, sizeof(how)) == -ENOENT);

	at(root, "f/root2");
	pathf(dst, "%s/usr/bin/prog", root);
	CHECK(place(at(src, "prog1.linked"), dst) == 0);
	pathf(want, "%s/usr/lib/debug/usr/bin/prog1.debug", root);
	CHECK(place(at(src, "prog1.debug"), want) == 0);
	check_found(root, "/usr/lib/debug", "/usr/bin/prog", want,
		    "debuglink under /usr/lib/debug");
}

/* Debian's python3.11 with python3.11-dbg: only when versions match. */
static void test_python(void)
{
	const char *bin = "/usr/bin/python3.11";
	char id[2 * 64 + 1], dbg_id[sizeof(id)], want[PATH_MAX];
	char out[PATH_MAX], how[64];
	struct elf_file *ef = NULL;
	struct elf_sym s;

	if (debuginfo__build_id(bin, id, sizeof(id))) {
		printf("test_debuginfo: SKIP python: no build-id in %s\n", bin);
		return;
	}
	pathf(want, "/usr/lib/debug/.build-id/%.2s/%s.debug",
		 id, id + 2);
	if (debuginfo__build_id(want, dbg_id, sizeof(dbg_id)) || strcmp(id, dbg_id)) {
		printf("test_debuginfo: SKIP python: %s absent or of another build "
		       "(python3.11-dbg not installed or version differs)\n", want);
		return;
	}
	CHECK(debuginfo__find("", "/usr/lib/debug", bin, out, sizeof(out),
			      how, sizeof(how)) == 0);
	CHECK_STR(out, want);
	CHECK_STR(how, "build-id");
	CHECK(elf_file__open(bin, &ef) == 0);
	if (ef) {
		CHECK(elf_file__find(ef, "take_gil.lto_priv.0", &s) == -ENOENT);
		elf_file__close(ef);
	}
	ef = NULL;
	CHECK(elf_file__open(want, &ef) == 0);
	if (!ef)
		return;
	CHECK(elf_file__find(ef, "take_gil.lto_priv.0", &s) == 0);
	CHECK(s.is_func && !s.from_dynsym && s.size > 0);
	CHECK(elf_file__find(ef, "drop_gil.lto_priv.0", &s) == 0);
	elf_file__close(ef);
}

int main(void)
{
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		fprintf(stderr, "libelf: %s\n", elf_errmsg(-1));
		return 1;
	}
	if (build_fixtures()) {
		test_build_id();
		test_debuglink();
		test_mismatch();
		test_compressed();
		test_root();
	}
	test_python();
	run("rm -rf '%s'", tmp);
	return check_summary("test_debuginfo");
}
