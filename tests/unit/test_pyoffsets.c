// SPDX-License-Identifier: MIT
/* _Py_DebugOffsets decoding and the per-version layout table, checked
 * against the values measured on the pyenv 3.13.0 build
 * (docs/cpython-layouts.md) and against synthetic buffers. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "inspect/elf.h"
#include "inspect/pyoffsets.h"

static void put64(unsigned char *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, sizeof(v));
}

/* A 3.14 _Py_DebugOffsets with every field the decoder checks set as the
 * real 3.14.10 has them (docs/cpython-layouts.md). */
static void fill_314(unsigned char *b)
{
	memset(b, 0, 1024);
	memcpy(b, "xdebugpy", 8);
	put64(b, 8, 0x030e0af0);                 /* 3.14.10 */
	put64(b, 24, 316616);                    /* sizeof(_PyRuntimeState) */
	put64(b, 40, 808);                       /* interpreters_head */
	put64(b, 48, 225864);                    /* sizeof(PyInterpreterState) */
	put64(b, 120, 16);                       /* ceval_gil */
	put64(b, 128, 7784);                     /* _gil */
	put64(b, 144, 7784 + 16);                /* _gil.locked */
	put64(b, 152, 7784 + 8);                 /* _gil.last_holder */
	put64(b, 184, 0);                        /* tstate prev, next, interp */
	put64(b, 192, 8);
	put64(b, 200, 16);
	put64(b, 208, 72);                       /* current_frame */
	put64(b, 224, 160);                      /* native_thread_id */
	put64(b, 624, 32);                       /* unicode state */
	put64(b, 640, 40);                       /* PyASCIIObject size */
}

static void synthetic(void)
{
	unsigned char b[1024] = {};
	struct py_debug_offsets d;
	char why[128];

	CHECK(py_debug_offsets__decode(b, sizeof(b), &d) == -EINVAL); /* no cookie */
	fill_314(b);
	CHECK(py_debug_offsets__decode(b, sizeof(b), &d) == 0);
	CHECK_U64(d.free_threaded, 0);
	CHECK_U64(d.interpreters_head, 808);
	CHECK_U64(d.interp_ceval_gil, 16);
	CHECK_U64(d.tstate_native_thread_id, 160);
	CHECK_U64(py_debug_offsets__main_interp_off(&d), 90752);
	CHECK_U64(py_debug_offsets__main_gil_off(&d), 98536);
	CHECK_U64(d.unicode_compact_size, 56);  /* ascii + utf8_length + utf8 */
	CHECK(py_debug_offsets__decode(b, 100, &d) == -EINVAL);      /* truncated */
	/* a version no table row covers: refused, never guessed */
	put64(b, 8, 0x031000a0);                                     /* 3.16.0a0 */
	CHECK(py_debug_offsets__decode(b, sizeof(b), &d) == -ENOTSUP);
	put64(b, 8, 0x030c07f0);                                     /* 3.12: no such struct */
	CHECK(py_debug_offsets__decode(b, sizeof(b), &d) == -ENOTSUP);
	/* a known version whose offsets break a fact gilscope relies on */
	fill_314(b);
	put64(b, 144, 7784 + 24);                                    /* locked moved */
	CHECK(py_debug_offsets__decode_why(b, sizeof(b), &d, why, sizeof(why)) == -EPROTO);
	CHECK_MSG(strstr(why, "GIL struct") != NULL, "%s", why);
	fill_314(b);
	put64(b, 200, 24);                                           /* tstate->interp moved */
	CHECK(py_debug_offsets__decode_why(b, sizeof(b), &d, why, sizeof(why)) == -EPROTO);
	CHECK_MSG(strstr(why, "thread state") != NULL, "%s", why);
	fill_314(b);
	put64(b, 48, 316616);                                        /* interp as big as the runtime */
	CHECK(py_debug_offsets__decode_why(b, sizeof(b), &d, why, sizeof(why)) == -EPROTO);
	fill_314(b);
	put64(b, 624, 40);                                           /* unicode state moved */
	CHECK(py_debug_offsets__decode_why(b, sizeof(b), &d, why, sizeof(why)) == -EPROTO);
	fill_314(b);
	put64(b, 16, 7);                                             /* free_threaded garbage */
	CHECK(py_debug_offsets__decode(b, sizeof(b), &d) == -EPROTO);
}

/* Debian's builds, when tools/test-roots.sh has made their roots: the
 * main GIL's offset in _PyRuntime must be the one gdb measured on their
 * debug files (_main_interpreter + _gil; docs/cpython-layouts.md). */
static void real_debian(void)
{
	static const struct {
		const char *path;
		uint64_t version, main_gil, native_tid, holds_gil;
	} bins[] = {
		{ "trixie/usr/bin/python3.13", 0x030d05f0, 0x15950 + 0x1e48, 160, 0 },
		{ "sid/usr/bin/python3.14", 0x030e0af0, 0x16280 + 0x1e68, 160, 0 },
		{ "sid/usr/bin/python3.15", 0x030f02f0, 0x1d608 + 0x1e38, 184, 36 },
		{ "sid/usr/lib/x86_64-linux-gnu/libpython3.14.so.1.0", 0x030e0af0, 0x16280 + 0x1e68, 160, 0 },
	};
	const char *dir = getenv("GILSCOPE_ROOTS") ? getenv("GILSCOPE_ROOTS") : "/var/cache/gilscope-tests";
	int seen = 0;

	for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
		char path[512];
		unsigned char b[1024];
		struct py_debug_offsets d;
		struct elf_file *ef;
		struct elf_sym s;

		snprintf(path, sizeof(path), "%s/%s", dir, bins[i].path);
		if (elf_file__open(path, &ef) != 0)
			continue;
		seen++;
		CHECK_MSG(elf_file__find(ef, "_PyRuntime", &s) == 0, "%s", path);
		CHECK_MSG(elf_file__read(ef, s.addr, b, sizeof(b)) == 0, "%s", path);
		CHECK_MSG(py_debug_offsets__decode(b, sizeof(b), &d) == 0, "%s", path);
		CHECK_U64(d.version, bins[i].version);
		CHECK_U64(py_debug_offsets__main_gil_off(&d), bins[i].main_gil);
		CHECK_U64(d.tstate_native_thread_id, bins[i].native_tid);
		CHECK_U64(d.tstate_holds_gil, bins[i].holds_gil);
		elf_file__close(ef);
	}
	printf("test_pyoffsets: %d Debian build(s) checked under %s\n", seen, dir);
}

static void real_313(void)
{
	const char *lib = "/root/.pyenv/versions/3.13.0/lib/libpython3.13.so.1.0";
	unsigned char b[1024];
	struct py_debug_offsets d;
	struct elf_file *ef;
	struct elf_sym s;

	if (elf_file__open(lib, &ef) != 0) {
		printf("test_pyoffsets: SKIP real 3.13 check (%s not present)\n", lib);
		return;
	}
	CHECK(elf_file__find(ef, "_PyRuntime", &s) == 0);
	CHECK(elf_file__read(ef, s.addr, b, sizeof(b)) == 0);
	CHECK(py_debug_offsets__decode(b, sizeof(b), &d) == 0);
	CHECK_U64(d.version, 0x030d00f0);
	CHECK_U64(d.free_threaded, 0);
	CHECK_U64(d.interpreters_head, 632);
	CHECK_U64(d.interp_id, 7272);
	CHECK_U64(d.interp_next, 7264);
	CHECK_U64(d.interp_ceval_gil, 16);
	CHECK_U64(d.tstate_native_thread_id, 160);
	elf_file__close(ef);
}

static void table(void)
{
	CHECK(py_layout__get(5) == NULL);
	CHECK(py_layout__get(16) == NULL);
	for (int m = 6; m <= 15; m++)
		CHECK_MSG(py_layout__get(m) != NULL, "3.%d", m);
	CHECK(py_layout__get(6)->locate == GIL_STATICS);
	CHECK_U64(py_layout__get(11)->gil_off, 360);
	CHECK(py_layout__get(10)->ident == TID_PTHREAD);
	CHECK(py_layout__get(11)->ident == TID_NATIVE);
}

/* A stack walk reads each frame once: frame_span must cover every field it
 * uses, and a layout that cannot be read in one GS_FRAME_READ is refused. */
static void frame_span(void)
{
	struct py_debug_offsets d = {};
	struct gs_pyoff o;

	for (int m = 6; m <= 12; m++) {
		CHECK_MSG(py_stack_offsets(m, NULL, &o) == 0, "3.%d", m);
		CHECK_MSG(o.frame_span >= o.f_back + 8 && o.frame_span >= o.f_code + 8, "3.%d", m);
		CHECK_MSG(o.frame_span >= o.f_pos + (o.pos_kind == 2 ? 8 : 4), "3.%d", m);
		CHECK_MSG(o.f_owner == ~0u || o.frame_span > o.f_owner, "3.%d", m);
		CHECK_MSG(o.frame_span <= GS_FRAME_READ, "3.%d", m);
	}
	CHECK(py_stack_offsets(6, NULL, &o) == 0);
	CHECK_U64(o.frame_span, 124);           /* f_lasti (int) at 120 */
	CHECK(py_stack_offsets(11, NULL, &o) == 0);
	CHECK_U64(o.frame_span, 70);            /* owner (char) at 69 */
	/* 3.13 from _Py_DebugOffsets: the last field decides */
	d.frame_previous = 8;
	d.frame_executable = 0;
	d.frame_instr_ptr = 56;
	d.frame_owner = 74;
	CHECK(py_stack_offsets(13, &d, &o) == 0);
	CHECK_U64(o.frame_span, 75);
	d.frame_owner = GS_FRAME_READ;          /* beyond one read: no walking */
	CHECK(py_stack_offsets(13, &d, &o) == -ENOTSUP);
	CHECK(py_stack_offsets(13, NULL, &o) == -ENOTSUP);
}

int main(void)
{
	synthetic();
	real_313();
	real_debian();
	table();
	frame_span();
	return check_summary("test_pyoffsets");
}
