// SPDX-License-Identifier: MIT
/* Interpreter flavor detection. No free-threaded or PyPy build exists here,
 * so fixture shared objects compiled in a temp dir export the marker
 * symbols (and one carries a _PyRuntime that starts like _Py_DebugOffsets);
 * then the real pyenv libpython builds, when installed, must come out as
 * default CPython or Python 2. */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "inspect/elf.h"      /* ours: -iquote user */
#include "inspect/pyflavor.h"

#define NAME "test_pyflavor"

static char dir[] = "/tmp/gs_test_pyflavor.XXXXXX";

#define CHECK_HAS(hay, needle) CHECK_MSG(strstr((hay), (needle)) != NULL,	\
					 "\"%s\" lacks \"%s\"", (hay), (needle))

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

/* Fixture sources. Only the exported names matter. */
static const char src_ft[] =
	"void _Py_DecRefShared(void *o) { (void)o; }\n"
	"void PyEval_SaveThread(void) {}\n";
static const char src_merge[] =
	"void _Py_MergeZeroLocalRefcount(void *o) { (void)o; }\n"
	"void PyEval_SaveThread(void) {}\n";
/* A default build has these too: they must not read as free-threaded. */
static const char src_default[] =
	"void PyEval_SaveThread(void) {}\n"
	"void PyEval_RestoreThread(void *t) { (void)t; }\n"
	"void Py_InitializeEx(int i) { (void)i; }\n"
	"void _PyParkingLot_Park(void) {}\n"
	"void _Py_qsbr_poll(void) {}\n"
	"void _PyCriticalSection_BeginSlow(void) {}\n"
	"void *mi_malloc(unsigned long n) { (void)n; return 0; }\n";
/* _PyRuntime in a .PyRuntime section, beginning like _Py_DebugOffsets:
 * cookie, PY_VERSION_HEX, free_threaded (FT set on the command line). */
static const char src_runtime[] =
	"#include <stdint.h>\n"
	"struct dbg { char cookie[8]; uint64_t version, free_threaded; char rest[560]; };\n"
	"__attribute__((section(\".PyRuntime\"), used)) struct dbg _PyRuntime =\n"
	"	{ {'x','d','e','b','u','g','p','y'}, 0x030d00f0, FT, {1} };\n"
	"void PyEval_SaveThread(void) {}\n";
static const char src_pypy[] =
	"int pypy_main_startup(int c, char **v) { (void)c; (void)v; return 0; }\n"
	"int pypy_setup_home(char *h, int v) { (void)h; (void)v; return 0; }\n"
	"void rpython_startup_code(void) {}\n"
	"void PyPyEval_SaveThread(void) {}\n";
static const char src_py2[] =
	"void *Py_InitModule4_64(const char *n) { (void)n; return 0; }\n"
	"void *PyString_FromString(const char *s) { (void)s; return 0; }\n"
	"void PyEval_SaveThread(void) {}\n";
static const char src_none[] = "int gs_nothing(void) { return 0; }\n";

static int write_src(const char *name, const char *text)
{
	char path[256];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	err = fputs(text, f) < 0 ? -EIO : 0;
	if (fclose(f))
		err = -EIO;
	return err;
}

/* Compile src (a file in dir) into dir/out as a shared object. */
static bool build(const char *src, const char *out, const char *extra)
{
	const char *cc = getenv("CC") ? getenv("CC") : "cc";
	int rc = run("%s -O0 -fPIC -shared %s -o '%s/%s' '%s/%s'", cc, extra,
		     dir, out, dir, src);

	CHECK_MSG(rc == 0, "building %s from %s", out, src);
	return rc == 0;
}

/* Open path, read _PyRuntime's first bytes if it has one, and detect, as
 * gilscope does before placing probes. */
static int detect_path(const char *path, struct py_flavor_info *fi)
{
	unsigned char buf[64];
	struct elf_file *ef;
	struct elf_sym s;
	size_t len = 0;
	int err;

	err = elf_file__open(path, &ef);
	CHECK_MSG(err == 0, "%s: %d", path, err);
	if (err)
		return err;
	if (elf_file__find(ef, "_PyRuntime", &s) == 0) {
		len = s.size < sizeof(buf) ? s.size : sizeof(buf);
		CHECK(elf_file__read(ef, s.addr, buf, len) == 0);
	}
	err = py_flavor__detect(path, ef, len ? buf : NULL, len, fi);
	CHECK(err == 0);
	elf_file__close(ef);
	return err;
}

static void expect_file(const char *name, enum py_flavor want, const char *evidence)
{
	struct py_flavor_info fi;
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (detect_path(path, &fi))
		return;
	CHECK_MSG(fi.flavor == want, "%s: %s (%s), want %s", name,
		  py_flavor__str(fi.flavor), fi.evidence, py_flavor__str(want));
	CHECK_HAS(fi.evidence, evidence);
}

static void test_fixtures(void)
{
	static const char *const outs[] = {
		"ft.c", "merge.c", "default.c", "runtime.c", "pypy.c", "py2.c", "none.c",
		"libpython3.13t.so.1.0", "libft.so", "libmerge.so",
		"libpython3.13.so.1.0", "libdefault.so", "libpython3.14t.so.1.0",
		"rt_ft1.so", "rt_ft0.so", "python3.13t", "libpypy3.10-c.so",
		"libpy2.so", "libnone.so", "libpypy3-c.so", "libpython2.7.so.1.0",
	};
	char path[256];

	CHECK(mkdtemp(dir) != NULL);
	CHECK(write_src("ft.c", src_ft) == 0);
	CHECK(write_src("merge.c", src_merge) == 0);
	CHECK(write_src("default.c", src_default) == 0);
	CHECK(write_src("runtime.c", src_runtime) == 0);
	CHECK(write_src("pypy.c", src_pypy) == 0);
	CHECK(write_src("py2.c", src_py2) == 0);
	CHECK(write_src("none.c", src_none) == 0);
	if (checks_failed)
		goto out;
	/* -s leaves .dynsym alone: the evidence must name that table */
	if (!build("ft.c", "libpython3.13t.so.1.0", "-s") || !build("ft.c", "libft.so", "") ||
	    !build("merge.c", "libmerge.so", "-s") ||
	    !build("default.c", "libpython3.13.so.1.0", "-s") ||
	    !build("default.c", "libdefault.so", "") ||
	    !build("default.c", "libpython3.14t.so.1.0", "") ||
	    !build("runtime.c", "rt_ft1.so", "-DFT=1") ||
	    !build("runtime.c", "rt_ft0.so", "-DFT=0") ||
	    !build("runtime.c", "python3.13t", "-DFT=0") ||
	    !build("pypy.c", "libpypy3.10-c.so", "") || !build("py2.c", "libpy2.so", "-s") ||
	    !build("none.c", "libnone.so", "") || !build("none.c", "libpypy3-c.so", "") ||
	    !build("none.c", "libpython2.7.so.1.0", ""))
		goto out;

	/* free-threaded marker symbols, with and without the name */
	expect_file("libpython3.13t.so.1.0", PY_FLAVOR_FREE_THREADED, "_Py_DecRefShared in .dynsym");
	expect_file("libft.so", PY_FLAVOR_FREE_THREADED, "_Py_DecRefShared in .symtab");
	expect_file("libmerge.so", PY_FLAVOR_FREE_THREADED, "_Py_MergeZeroLocalRefcount in .dynsym");
	/* default build: mimalloc/qsbr/parking lot/critical sections are no markers */
	expect_file("libpython3.13.so.1.0", PY_FLAVOR_CPYTHON,
		    "PyEval_SaveThread in .dynsym, no free-threaded marker");
	expect_file("libdefault.so", PY_FLAVOR_CPYTHON, "PyEval_SaveThread");
	/* CPython symbols without a marker, but the ABI flag t in the name */
	expect_file("libpython3.14t.so.1.0", PY_FLAVOR_FREE_THREADED,
		    "file name libpython3.14t.so.1.0 (ABI flag t)");
	/* _Py_DebugOffsets.free_threaded read from the file's _PyRuntime */
	expect_file("rt_ft1.so", PY_FLAVOR_FREE_THREADED, "_Py_DebugOffsets.free_threaded=1 (3.13.0)");
	expect_file("rt_ft0.so", PY_FLAVOR_CPYTHON, "_Py_DebugOffsets.free_threaded=0 (3.13.0)");
	/* the build's own description beats its file name, and says so */
	expect_file("python3.13t", PY_FLAVOR_CPYTHON,
		    "_Py_DebugOffsets.free_threaded=0 (3.13.0); file name python3.13t (ABI flag t) disagrees");
	expect_file("libpypy3.10-c.so", PY_FLAVOR_PYPY, "pypy_main_startup in .symtab");
	expect_file("libpy2.so", PY_FLAVOR_PYTHON2, "Py_InitModule4_64 in .dynsym");
	expect_file("libnone.so", PY_FLAVOR_UNKNOWN, "no interpreter marker");
	/* no marker symbol: the name is all there is */
	expect_file("libpypy3-c.so", PY_FLAVOR_PYPY, "file name libpypy3-c.so");
	expect_file("libpython2.7.so.1.0", PY_FLAVOR_PYTHON2, "file name libpython2.7.so.1.0");
out:
	for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, outs[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void test_names(void)
{
	static const struct {
		const char *path;
		enum py_flavor want;
	} cases[] = {
		{ "/usr/bin/python3.13t", PY_FLAVOR_FREE_THREADED },
		{ "python3.14t", PY_FLAVOR_FREE_THREADED },
		{ "/usr/bin/python3.13td", PY_FLAVOR_FREE_THREADED },
		{ "/usr/lib/x86_64-linux-gnu/libpython3.13t.so.1.0", PY_FLAVOR_FREE_THREADED },
		{ "/usr/bin/python3.13t (deleted)", PY_FLAVOR_FREE_THREADED },
		{ "/usr/bin/python3.13", PY_FLAVOR_CPYTHON },
		{ "/usr/bin/python3.12d", PY_FLAVOR_CPYTHON },
		{ "libpython3.6m.so.1.0", PY_FLAVOR_CPYTHON },
		{ "/opt/python3.13t/lib/libpython3.13.so.1.0", PY_FLAVOR_CPYTHON },
		{ "/usr/bin/python2.7", PY_FLAVOR_PYTHON2 },
		{ "libpython2.7.so.1.0", PY_FLAVOR_PYTHON2 },
		{ "/opt/pypy/bin/libpypy-c.so", PY_FLAVOR_PYPY },
		{ "/opt/pypy/bin/libpypy3.10-c.so", PY_FLAVOR_PYPY },
		{ "/opt/pypy/bin/pypy3.10", PY_FLAVOR_PYPY },
		{ "/opt/pypy/bin/pypy", PY_FLAVOR_PYPY },
		{ "/usr/bin/python3", PY_FLAVOR_UNKNOWN },
		{ "/usr/bin/python", PY_FLAVOR_UNKNOWN },
		{ "pythonista", PY_FLAVOR_UNKNOWN },
		{ "python3.", PY_FLAVOR_UNKNOWN },
		{ "python3.13x", PY_FLAVOR_UNKNOWN },
		{ "python4.0", PY_FLAVOR_UNKNOWN },
		{ "libpypy3.10.so", PY_FLAVOR_UNKNOWN },
		{ "pypyish", PY_FLAVOR_UNKNOWN },
		{ "/usr/lib/libc.so.6", PY_FLAVOR_UNKNOWN },
		{ "", PY_FLAVOR_UNKNOWN },
		{ NULL, PY_FLAVOR_UNKNOWN },
	};
	struct py_flavor_info fi;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = cases[i].path;

		memset(&fi, 0xaa, sizeof(fi));
		CHECK(py_flavor__detect(p, NULL, NULL, 0, &fi) == 0);
		CHECK_MSG(fi.flavor == cases[i].want, "%s: %s (%s)", p ? p : "(null)",
			  py_flavor__str(fi.flavor), fi.evidence);
		CHECK(memchr(fi.evidence, 0, sizeof(fi.evidence)) != NULL);
		if (cases[i].want != PY_FLAVOR_UNKNOWN)
			CHECK_HAS(fi.evidence, "file name ");
	}
	CHECK(py_flavor__detect("python3.13t", NULL, NULL, 0, &fi) == 0);
	CHECK_STR(fi.evidence, "file name python3.13t (ABI flag t)");
	CHECK(py_flavor__detect("/x/python3.13t (deleted)", NULL, NULL, 0, &fi) == 0);
	CHECK_STR(fi.evidence, "file name python3.13t (ABI flag t)");
	/* a long name is cut, never overflowing the evidence */
	CHECK(py_flavor__detect("libpython3.13t.so.1.0.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
				NULL, NULL, 0, &fi) == 0);
	CHECK(fi.flavor == PY_FLAVOR_FREE_THREADED);
	CHECK(strlen(fi.evidence) < sizeof(fi.evidence));
	CHECK(py_flavor__detect("python3.13", NULL, NULL, 0, NULL) == -EINVAL);
}

static void put64(unsigned char *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, sizeof(v));
}

/* _Py_DebugOffsets prefixes handed in directly. */
static void test_debug_offsets(void)
{
	unsigned char b[32] = {0};
	struct py_flavor_info fi;

	memcpy(b, "xdebugpy", 8);
	put64(b, 8, 0x030e00f0);
	put64(b, 16, 1);
	CHECK(py_flavor__detect(NULL, NULL, b, 24, &fi) == 0);
	CHECK(fi.flavor == PY_FLAVOR_FREE_THREADED);
	CHECK_STR(fi.evidence, "_Py_DebugOffsets.free_threaded=1 (3.14.0)");
	/* a version whose full layout pyoffsets does not know yet */
	put64(b, 8, 0x030f00a3);
	CHECK(py_flavor__detect(NULL, NULL, b, sizeof(b), &fi) == 0);
	CHECK_STR(fi.evidence, "_Py_DebugOffsets.free_threaded=1 (3.15.0a3)");
	put64(b, 8, 0x030e02c1);
	put64(b, 16, 0);
	CHECK(py_flavor__detect("libpython3.14.so.1.0", NULL, b, sizeof(b), &fi) == 0);
	CHECK(fi.flavor == PY_FLAVOR_CPYTHON);
	CHECK_STR(fi.evidence, "_Py_DebugOffsets.free_threaded=0 (3.14.2c1)");

	/* not evidence: short, no cookie, implausible values */
	CHECK(py_flavor__detect(NULL, NULL, b, 23, &fi) == 0);
	CHECK(fi.flavor == PY_FLAVOR_UNKNOWN);
	put64(b, 16, 2);
	CHECK(py_flavor__detect(NULL, NULL, b, sizeof(b), &fi) == 0);
	CHECK(fi.flavor == PY_FLAVOR_UNKNOWN);
	put64(b, 16, 1);
	put64(b, 8, 0x020700f0);
	CHECK(py_flavor__detect(NULL, NULL, b, sizeof(b), &fi) == 0);
	CHECK(fi.flavor == PY_FLAVOR_UNKNOWN);
	put64(b, 8, 0x030d00f0);
	memcpy(b, "xdebugpx", 8);
	CHECK(py_flavor__detect("python3.13", NULL, b, sizeof(b), &fi) == 0);
	CHECK(fi.flavor == PY_FLAVOR_CPYTHON);
	CHECK_STR(fi.evidence, "file name python3.13");
	memcpy(b, "xdebugpy", 8);
	CHECK(py_flavor__detect("python3.13", NULL, b, sizeof(b), &fi) == 0);
	CHECK(fi.flavor == PY_FLAVOR_FREE_THREADED);
	CHECK_STR(fi.evidence, "_Py_DebugOffsets.free_threaded=1 (3.13.0); "
		  "file name python3.13 disagrees");
}

/* Every pyenv libpython is a default build or Python 2. */
static void test_pyenv(void)
{
	static const struct {
		const char *path;
		enum py_flavor want;
		const char *evidence;
	} known[] = {
		{ "/root/.pyenv/versions/3.13.0/lib/libpython3.13.so.1.0", PY_FLAVOR_CPYTHON,
		  "_Py_DebugOffsets.free_threaded=0 (3.13.0)" },
		/* 3.12 has _PyRuntime but no _Py_DebugOffsets in it */
		{ "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0", PY_FLAVOR_CPYTHON,
		  "PyEval_SaveThread in .symtab, no free-threaded marker" },
		{ "/root/.pyenv/versions/2.7.18/lib/libpython2.7.so.1.0", PY_FLAVOR_PYTHON2,
		  "Py_InitModule4_64 in " },
	};
	struct py_flavor_info fi;
	glob_t g;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (access(known[i].path, R_OK)) {
			printf(NAME ": SKIP %s absent\n", known[i].path);
			continue;
		}
		if (detect_path(known[i].path, &fi))
			continue;
		CHECK_MSG(fi.flavor == known[i].want, "%s: %s (%s)", known[i].path,
			  py_flavor__str(fi.flavor), fi.evidence);
		CHECK_HAS(fi.evidence, known[i].evidence);
	}

	if (glob("/root/.pyenv/versions/*/lib/libpython[23].*.so.1.0", 0, NULL, &g) != 0) {
		printf(NAME ": SKIP no pyenv libpython found\n");
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *p = g.gl_pathv[i];
		bool two = strstr(p, "/libpython2.") != NULL;

		if (detect_path(p, &fi))
			continue;
		CHECK_MSG(fi.flavor == (two ? PY_FLAVOR_PYTHON2 : PY_FLAVOR_CPYTHON),
			  "%s: %s (%s)", p, py_flavor__str(fi.flavor), fi.evidence);
		CHECK_MSG(!strstr(fi.evidence, "disagrees"), "%s: %s", p, fi.evidence);
	}
	globfree(&g);
}

static void test_gil_enabled_words(void)
{
	CHECK_STR(py_flavor__gil_enabled_words(0), "disabled");
	CHECK_STR(py_flavor__gil_enabled_words(1), "enabled transiently (by an extension import)");
	CHECK_STR(py_flavor__gil_enabled_words(3), "enabled transiently (by an extension import)");
	CHECK_STR(py_flavor__gil_enabled_words(INT_MAX),
		  "enabled permanently (PYTHON_GIL=1 or -X gil=1)");
	CHECK_STR(py_flavor__gil_enabled_words(-1), "invalid value");
	CHECK_STR(py_flavor__str(PY_FLAVOR_FREE_THREADED), "free-threaded");
	CHECK_STR(py_flavor__str((enum py_flavor)42), "unknown");
}

int main(void)
{
	test_names();
	test_debug_offsets();
	test_gil_enabled_words();
	test_fixtures();
	test_pyenv();
	return check_summary(NAME);
}
