// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>
#include "gilscope.h"
#include "pyoffsets.h"

static const struct py_layout layouts[] = {
	/* 3.6 keeps the GIL in static globals; thread_id is pthread_self(). */
	{ .minor = 6, .locate = GIL_STATICS, .interp_threads_off = 8, .ident = TID_PTHREAD, .tstate_ident_off = 152 },
	{ .minor = 7, .locate = GIL_RUNTIME_FIXED, .gil_off = 1264, .interp_head_off = 24, .interp_threads_off = 8,
	  .ident = TID_PTHREAD, .tstate_ident_off = 176, .main_gil_off = 1264, .drop_req_rt_off = 716 },
	{ .minor = 8, .locate = GIL_RUNTIME_FIXED, .gil_off = 1152, .interp_head_off = 32, .interp_threads_off = 8,
	  .ident = TID_PTHREAD, .tstate_ident_off = 176, .main_gil_off = 1152, .drop_req_rt_off = 596 },
	{ .minor = 9, .locate = GIL_RUNTIME_FIXED, .gil_off = 352, .interp_head_off = 32, .interp_threads_off = 8,
	  .ident = TID_PTHREAD, .tstate_ident_off = 176, .main_gil_off = 352,
	  .drop_req_interp_ptr_off = 40, .drop_req_interp_off = 76 },
	{ .minor = 10, .locate = GIL_RUNTIME_FIXED, .gil_off = 352, .interp_head_off = 32, .interp_threads_off = 8,
	  .ident = TID_PTHREAD, .tstate_ident_off = 176, .main_gil_off = 352,
	  .drop_req_interp_ptr_off = 40, .drop_req_interp_off = 72 },
	/* 3.11 adds native_thread_id, the kernel TID. */
	{ .minor = 11, .locate = GIL_RUNTIME_FIXED, .gil_off = 360, .interp_head_off = 40, .interp_threads_off = 16,
	  .ident = TID_NATIVE, .tstate_ident_off = 160, .main_gil_off = 360,
	  .drop_req_interp_ptr_off = 48, .drop_req_interp_off = 104 },
	/* 3.12: per-interpreter GIL; follow interp->ceval.gil. */
	{ .minor = 12, .locate = GIL_INTERP_PTR, .main_interp_off = 48, .interp_gil_ptr_off = 384,
	  .interp_head_off = 40, .interp_threads_off = 72, .ident = TID_NATIVE, .tstate_ident_off = 144,
	  .main_gil_off = 77432, .drop_req_interp_ptr_off = 48, .drop_req_interp_off = 372 },
	/* 3.13+: _Py_DebugOffsets says where everything is. */
	/* 3.13+: the drop request is a bit in the holder's tstate, which a
	 * call site does not know: stripped builds get no forced/voluntary
	 * split. */
	{ .minor = 13, .locate = GIL_DEBUG_OFFSETS, .ident = TID_NATIVE, .main_gil_off = 96104 },
	{ .minor = 14, .locate = GIL_DEBUG_OFFSETS, .ident = TID_NATIVE, .main_gil_off = 98536 },
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
	size_t interp_threads_head, tstate_next, tstate_current_frame;
	size_t frame_previous, frame_executable, frame_instr_ptr, frame_owner;
	size_t code_filename, code_name, code_qualname, code_linetable, code_firstlineno,
	       code_co_code_adaptive, unicode_ascii_size;
};

static const struct dbg_pos dbg_pos[] = {
	{ 0x030d0000, 0x030e0000, 40, 56, 64, 112, 200, 584,
	  72, 168, 184, 232, 240, 248, 264, 280, 288, 296, 304, 312, 344, 560 },
	{ 0x030e0000, 0x030f0000, 40, 56, 64, 120, 224, 760,
	  72, 192, 208, 256, 264, 272, 288, 320, 328, 336, 344, 352, 384, 640 },
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
		out->interp_threads_head = u64_at(b, p->interp_threads_head);
		out->tstate_next = u64_at(b, p->tstate_next);
		out->tstate_current_frame = u64_at(b, p->tstate_current_frame);
		out->frame_previous = u64_at(b, p->frame_previous);
		out->frame_executable = u64_at(b, p->frame_executable);
		out->frame_instr_ptr = u64_at(b, p->frame_instr_ptr);
		out->frame_owner = u64_at(b, p->frame_owner);
		out->code_filename = u64_at(b, p->code_filename);
		out->code_name = u64_at(b, p->code_name);
		out->code_qualname = u64_at(b, p->code_qualname);
		out->code_linetable = u64_at(b, p->code_linetable);
		out->code_firstlineno = u64_at(b, p->code_firstlineno);
		out->code_co_code_adaptive = u64_at(b, p->code_co_code_adaptive);
		out->unicode_ascii_size = u64_at(b, p->unicode_ascii_size);
		return 0;
	}
	return -ENOTSUP;
}

#define NONE32 0xffffffffu

/* Frame and code layouts measured on the pyenv builds (§5.1). */
static const struct gs_pyoff stack_table[] = {
	{ .minor = 6, .ts_frame = 24, .cframe_current = NONE32, .f_back = 24, .f_code = 32, .f_pos = 120,
	  .pos_kind = 0, .f_owner = NONE32, .co_firstlineno = 36, .co_filename = 96, .co_name = 104,
	  .co_linetable = 112, .str_ascii_data = 48, .str_compact_data = 72 },
	{ .minor = 7, .ts_frame = 24, .cframe_current = NONE32, .f_back = 24, .f_code = 32, .f_pos = 104,
	  .pos_kind = 0, .f_owner = NONE32, .co_firstlineno = 36, .co_filename = 96, .co_name = 104,
	  .co_linetable = 112, .str_ascii_data = 48, .str_compact_data = 72 },
	{ .minor = 8, .ts_frame = 24, .cframe_current = NONE32, .f_back = 24, .f_code = 32, .f_pos = 104,
	  .pos_kind = 0, .f_owner = NONE32, .co_firstlineno = 40, .co_filename = 104, .co_name = 112,
	  .co_linetable = 120, .str_ascii_data = 48, .str_compact_data = 72 },
	{ .minor = 9, .ts_frame = 24, .cframe_current = NONE32, .f_back = 24, .f_code = 32, .f_pos = 104,
	  .pos_kind = 0, .f_owner = NONE32, .co_firstlineno = 40, .co_filename = 104, .co_name = 112,
	  .co_linetable = 120, .str_ascii_data = 48, .str_compact_data = 72 },
	/* 3.10: f_lasti counts 2-byte code units. */
	{ .minor = 10, .ts_frame = 24, .cframe_current = NONE32, .f_back = 24, .f_code = 32, .f_pos = 96,
	  .pos_kind = 1, .f_owner = NONE32, .co_firstlineno = 40, .co_filename = 104, .co_name = 112,
	  .co_linetable = 120, .str_ascii_data = 48, .str_compact_data = 72 },
	/* 3.11: _PyInterpreterFrame via tstate->cframe; prev_instr points into
	 * co_code_adaptive. Owners 0-2 only. */
	{ .minor = 11, .ts_frame = 56, .cframe_current = 8, .f_back = 48, .f_code = 32, .f_pos = 56,
	  .pos_kind = 2, .f_owner = 69, .owner_skip = 3, .co_code = 184, .co_firstlineno = 72,
	  .co_filename = 112, .co_name = 120, .co_qualname = 128, .co_linetable = 136,
	  .str_ascii_data = 48, .str_compact_data = 72 },
	/* 3.12: the entry shim frame has owner 3 (FRAME_OWNED_BY_CSTACK). */
	{ .minor = 12, .ts_frame = 56, .cframe_current = 0, .f_back = 8, .f_code = 0, .f_pos = 56,
	  .pos_kind = 2, .f_owner = 70, .owner_skip = 3, .co_code = 192, .co_firstlineno = 68,
	  .co_filename = 112, .co_name = 120, .co_qualname = 128, .co_linetable = 136,
	  .str_ascii_data = 40, .str_compact_data = 56 },
};

static uint32_t span_of(uint32_t off, uint32_t size)
{
	return off == NONE32 ? 0 : off + size;
}

/* The walk reads each frame once: the bytes from its start up to the end of
 * the last field it needs. */
static int set_frame_span(struct gs_pyoff *o)
{
	uint32_t n = span_of(o->f_back, 8), m;

	if ((m = span_of(o->f_code, 8)) > n)
		n = m;
	if ((m = span_of(o->f_pos, o->pos_kind == 2 ? 8 : 4)) > n)
		n = m;
	if ((m = span_of(o->f_owner, 1)) > n)
		n = m;
	if (n > GS_FRAME_READ)
		return -ENOTSUP;
	o->frame_span = n;
	return 0;
}

static int stack_offsets(int minor, const struct py_debug_offsets *d, struct gs_pyoff *out)
{
	memset(out, 0, sizeof(*out));
	if (minor >= 13) {
		if (!d)
			return -ENOTSUP;
		out->minor = minor;
		out->ts_frame = d->tstate_current_frame;
		out->cframe_current = NONE32;
		out->f_back = d->frame_previous;
		out->f_code = d->frame_executable;
		out->f_pos = d->frame_instr_ptr;
		out->pos_kind = 2;
		out->f_owner = d->frame_owner;
		/* 3.13: the C-stack shim is owner 3; 3.14 renumbered the entry
		 * frame to 3 and the shim to 4: skip both. */
		out->owner_skip = 3;
		/* 3.14 tags f_executable (a _PyStackRef) in its low bits. */
		out->exec_tag_mask = minor >= 14 ? 3 : 0;
		out->co_code = d->code_co_code_adaptive;
		out->co_firstlineno = d->code_firstlineno;
		out->co_filename = d->code_filename;
		out->co_name = d->code_name;
		out->co_qualname = d->code_qualname;
		out->co_linetable = d->code_linetable;
		out->str_ascii_data = d->unicode_ascii_size;
		out->str_compact_data = d->unicode_ascii_size + 16;
		return 0;
	}
	for (size_t i = 0; i < sizeof(stack_table) / sizeof(stack_table[0]); i++)
		if (stack_table[i].minor == (uint32_t)minor) {
			*out = stack_table[i];
			return 0;
		}
	return -ENOTSUP;
}

int py_stack_offsets(int minor, const struct py_debug_offsets *d, struct gs_pyoff *out)
{
	int err = stack_offsets(minor, d, out);

	return err ? err : set_frame_span(out);
}

int py_tstate_arg(int minor, const char *symbol)
{
	bool take = strncmp(symbol, "take_gil", 8) == 0;

	if (take)  /* 3.8's 2-argument take_gil(ceval, tstate); its constprop clone takes tstate only */
		return minor == 8 && strcmp(symbol, "take_gil") == 0 ? 1 : 0;
	if (minor <= 7)
		return 0;
	if (minor == 8)
		return 1;
	if (minor <= 11)
		return 2;
	return 1;
}
