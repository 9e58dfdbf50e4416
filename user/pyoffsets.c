// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "pyoffsets.h"

static const struct py_layout layouts[] = {
	/* 3.6 keeps the GIL in static globals; thread_id is pthread_self(). */
	{ .minor = 6, .locate = GIL_STATICS, .ident = TID_PTHREAD, .tstate_ident_off = 152 },
	{ .minor = 7, .locate = GIL_RUNTIME_FIXED, .gil_off = 1264, .ident = TID_PTHREAD, .tstate_ident_off = 176 },
	{ .minor = 8, .locate = GIL_RUNTIME_FIXED, .gil_off = 1152, .ident = TID_PTHREAD, .tstate_ident_off = 176 },
	{ .minor = 9, .locate = GIL_RUNTIME_FIXED, .gil_off = 352, .ident = TID_PTHREAD, .tstate_ident_off = 176 },
	{ .minor = 10, .locate = GIL_RUNTIME_FIXED, .gil_off = 352, .ident = TID_PTHREAD, .tstate_ident_off = 176 },
	/* 3.11 adds native_thread_id, the kernel TID. */
	{ .minor = 11, .locate = GIL_RUNTIME_FIXED, .gil_off = 360, .ident = TID_NATIVE, .tstate_ident_off = 160 },
	/* 3.12: per-interpreter GIL; follow interp->ceval.gil. */
	{ .minor = 12, .locate = GIL_INTERP_PTR, .main_interp_off = 48, .interp_gil_ptr_off = 384, .ident = TID_NATIVE, .tstate_ident_off = 144 },
	/* 3.13+: _Py_DebugOffsets says where everything is. */
	{ .minor = 13, .locate = GIL_DEBUG_OFFSETS, .ident = TID_NATIVE },
	{ .minor = 14, .locate = GIL_DEBUG_OFFSETS, .ident = TID_NATIVE },
};

const struct py_layout *py_layout__get(int minor)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].minor == minor)
			return &layouts[i];
	return NULL;
}

static uint64_t u64_at(const unsigned char *b, size_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

/* Byte positions of the fields inside _Py_DebugOffsets; the struct grew
 * between 3.13 and 3.14 (shared/CPYTHON-INTERNALS.md §6). */
struct dbg_pos {
	uint64_t ver_lo, ver_hi;
	size_t interpreters_head, interp_id, interp_next, interp_ceval_gil,
	       tstate_native_thread_id, min_len;
};

static const struct dbg_pos dbg_pos[] = {
	{ 0x030d0000, 0x030e0000, 40, 56, 64, 112, 200, 584 },
	{ 0x030e0000, 0x030f0000, 40, 56, 64, 120, 224, 760 },
};

int py_debug_offsets__decode(const void *buf, size_t len,
			     struct py_debug_offsets *out)
{
	const unsigned char *b = buf;

	if (len < 24 || memcmp(b, "xdebugpy", 8) != 0)
		return -EINVAL;
	out->version = u64_at(b, 8);
	out->free_threaded = u64_at(b, 16);
	for (size_t i = 0; i < sizeof(dbg_pos) / sizeof(dbg_pos[0]); i++) {
		const struct dbg_pos *p = &dbg_pos[i];

		if (out->version < p->ver_lo || out->version >= p->ver_hi)
			continue;
		if (len < p->min_len)
			return -EINVAL;
		out->interpreters_head = u64_at(b, p->interpreters_head);
		out->interp_id = u64_at(b, p->interp_id);
		out->interp_next = u64_at(b, p->interp_next);
		out->interp_ceval_gil = u64_at(b, p->interp_ceval_gil);
		out->tstate_native_thread_id = u64_at(b, p->tstate_native_thread_id);
		return 0;
	}
	return -ENOTSUP;
}
