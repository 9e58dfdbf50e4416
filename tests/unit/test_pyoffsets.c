// SPDX-License-Identifier: MIT
/* _Py_DebugOffsets decoding and the per-version layout table, checked
 * against the values measured on the pyenv 3.13.0 build
 * (shared/CPYTHON-INTERNALS.md §6) and against synthetic buffers. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "check.h"
#include "elf.h"
#include "gilscope.h"
#include "pyoffsets.h"

static void put64(unsigned char *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, sizeof(v));
}

static void synthetic(void)
{
	unsigned char b[1024] = {};
	struct py_debug_offsets d;

	CHECK(py_debug_offsets__decode(b, sizeof(b), &d) == -EINVAL); /* no cookie */
	memcpy(b, "xdebugpy", 8);
	put64(b, 8, 0x030f00f0);                                     /* 3.15: unknown layout */
	CHECK(py_debug_offsets__decode(b, sizeof(b), &d) == -ENOTSUP);
	put64(b, 8, 0x030e03f0);                                     /* 3.14.3 */
	put64(b, 16, 1);
	put64(b, 40, 808);
	put64(b, 120, 16);
	put64(b, 224, 160);
	CHECK(py_debug_offsets__decode(b, sizeof(b), &d) == 0);
	CHECK_U64(d.free_threaded, 1);
	CHECK_U64(d.interpreters_head, 808);
	CHECK_U64(d.interp_ceval_gil, 16);
	CHECK_U64(d.tstate_native_thread_id, 160);
	CHECK(py_debug_offsets__decode(b, 100, &d) == -EINVAL);      /* truncated */
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
	CHECK(py_layout__get(15) == NULL);
	for (int m = 6; m <= 14; m++)
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
	table();
	frame_span();
	return check_summary("test_pyoffsets");
}
