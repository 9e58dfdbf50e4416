// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>
#include "inspect/pyoffsets.h"

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
	/* 3.13+: _Py_DebugOffsets says where everything is, the main GIL
	 * included (py_debug_offsets__main_gil_off); the drop request is bit 0
	 * of the holder's tstate->eval_breaker (TSTATE_EVAL_BREAKER_OFF). */
	{ .minor = 13, .locate = GIL_DEBUG_OFFSETS, .ident = TID_NATIVE },
	{ .minor = 14, .locate = GIL_DEBUG_OFFSETS, .ident = TID_NATIVE },
	{ .minor = 15, .locate = GIL_DEBUG_OFFSETS, .ident = TID_NATIVE },
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

/* Byte positions of the fields gilscope reads inside _Py_DebugOffsets,
 * per version: the struct grows between versions (3.13: 584 bytes, 3.14:
 * 760, 3.15: 888). Measured with gdb's `ptype /o struct _Py_DebugOffsets`
 * on the debug files of Debian's 3.13.5, 3.14.10 and 3.15.2, and
 * checked against pyenv's 3.13.0 (docs/cpython-layouts.md). 0: the
 * version has no such field. */
struct dbg_pos {
	uint64_t ver_lo, ver_hi;
	size_t min_len;
	size_t runtime_size, interpreters_head;
	size_t interp_size, interp_id, interp_next, interp_threads_head, interp_ceval_gil,
	       interp_gil, interp_gil_locked, interp_gil_holder;
	size_t tstate_prev, tstate_next, tstate_interp, tstate_current_frame,
	       tstate_native_thread_id, tstate_holds_gil;
	size_t frame_previous, frame_executable, frame_instr_ptr, frame_owner;
	size_t code_filename, code_name, code_qualname, code_linetable, code_firstlineno,
	       code_co_code_adaptive;
	size_t unicode_state, unicode_ascii_size, unicode_compact_size;
};

static const struct dbg_pos dbg_pos[] = {
	{ .ver_lo = 0x030d0000, .ver_hi = 0x030e0000, .min_len = 584,
	  .runtime_size = 24, .interpreters_head = 40,
	  .interp_size = 48, .interp_id = 56, .interp_next = 64, .interp_threads_head = 72,
	  .interp_ceval_gil = 112, .interp_gil = 120, .interp_gil_locked = 136, .interp_gil_holder = 144,
	  .tstate_prev = 160, .tstate_next = 168, .tstate_interp = 176, .tstate_current_frame = 184,
	  .tstate_native_thread_id = 200,
	  .frame_previous = 232, .frame_executable = 240, .frame_instr_ptr = 248, .frame_owner = 264,
	  .code_filename = 280, .code_name = 288, .code_qualname = 296, .code_linetable = 304,
	  .code_firstlineno = 312, .code_co_code_adaptive = 344,
	  .unicode_state = 544, .unicode_ascii_size = 560 },
	{ .ver_lo = 0x030e0000, .ver_hi = 0x030f0000, .min_len = 760,
	  .runtime_size = 24, .interpreters_head = 40,
	  .interp_size = 48, .interp_id = 56, .interp_next = 64, .interp_threads_head = 72,
	  .interp_ceval_gil = 120, .interp_gil = 128, .interp_gil_locked = 144, .interp_gil_holder = 152,
	  .tstate_prev = 184, .tstate_next = 192, .tstate_interp = 200, .tstate_current_frame = 208,
	  .tstate_native_thread_id = 224,
	  .frame_previous = 256, .frame_executable = 264, .frame_instr_ptr = 272, .frame_owner = 288,
	  .code_filename = 320, .code_name = 328, .code_qualname = 336, .code_linetable = 344,
	  .code_firstlineno = 352, .code_co_code_adaptive = 384,
	  .unicode_state = 624, .unicode_ascii_size = 640 },
	/* 3.15 adds base_frame, last_profiled_frame(_seq) before thread_id,
	 * and holds_gil/gil_requested after status (PR #139485). */
	{ .ver_lo = 0x030f0000, .ver_hi = 0x03100000, .min_len = 888,
	  .runtime_size = 24, .interpreters_head = 40,
	  .interp_size = 48, .interp_id = 56, .interp_next = 64, .interp_threads_head = 72,
	  .interp_ceval_gil = 120, .interp_gil = 128, .interp_gil_locked = 144, .interp_gil_holder = 152,
	  .tstate_prev = 184, .tstate_next = 192, .tstate_interp = 200, .tstate_current_frame = 208,
	  .tstate_native_thread_id = 248, .tstate_holds_gil = 272,
	  .frame_previous = 320, .frame_executable = 328, .frame_instr_ptr = 336, .frame_owner = 352,
	  .code_filename = 384, .code_name = 392, .code_qualname = 400, .code_linetable = 408,
	  .code_firstlineno = 416, .code_co_code_adaptive = 448,
	  .unicode_state = 720, .unicode_ascii_size = 736, .unicode_compact_size = 744 },
};

/* Bounds on _Py_DebugOffsets' numbers, far above every real build's (the
 * file's word otherwise): sizeof(_PyRuntimeState) is ~0.3 MiB; thread
 * state and code object fields lie within their first KiB, frame fields
 * and the unicode header within 100 bytes. */
#define GS_DBG_MAX_RUNTIME_SIZE (64u << 20)
#define GS_DBG_MAX_OBJ_OFF 4096
#define GS_DBG_MAX_SMALL_OFF 256

/* The bytes of the GIL struct (struct _gil_runtime_state) from its start
 * through the last field gilscope reads, in 3.7-3.15. */
#define GS_DBG_GIL_SIZE 208

static int distrust(char *why, size_t whylen, const char *what)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", what);
	return -EPROTO;
}

/* The facts the rest of gilscope builds on, checked on the decoded
 * offsets: a build whose _Py_DebugOffsets breaks one is refused rather
 * than traced with a wrong layout. */
static int validate(const struct py_debug_offsets *d, char *why, size_t whylen)
{
	if (d->free_threaded > 1)
		return distrust(why, whylen, "free_threaded is neither 0 nor 1");
	if (d->interp_size < 8 || d->runtime_size <= d->interp_size || d->runtime_size > GS_DBG_MAX_RUNTIME_SIZE ||
	    (d->runtime_size - d->interp_size) % 8)
		return distrust(why, whylen, "the runtime and interpreter sizes do not place the main interpreter");
	/* Every offset inside the struct it is an offset into, compared
	 * without a sum that could wrap: they are the file's word. */
	if (d->interpreters_head > d->runtime_size - 8 || d->interp_id > d->interp_size - 8 ||
	    d->interp_next > d->interp_size - 8 || d->interp_threads_head > d->interp_size - 8 ||
	    d->interp_ceval_gil > d->interp_size - 8 || d->interp_gil > d->interp_size - 8)
		return distrust(why, whylen, "an interpreter offset is out of its struct");
	if (!d->free_threaded &&
	    (d->interp_size - d->interp_gil < GS_DBG_GIL_SIZE ||
	     d->interp_gil_locked != d->interp_gil + GS_GIL_LOCKED_OFF ||
	     d->interp_gil_holder != d->interp_gil + GS_GIL_LAST_HOLDER_OFF))
		return distrust(why, whylen, "the GIL struct is not laid out as in 3.7-3.15 "
					     "(locked at +16, last_holder at +8)");
	if (d->tstate_interp != 16 || d->tstate_next != 8 || d->tstate_prev != 0)
		return distrust(why, whylen, "the thread state does not start with prev, next, interp "
					     "(eval_breaker follows interp)");
	if (d->unicode_state != 32)
		return distrust(why, whylen, "the unicode object's state is not at offset 32");
	if (d->tstate_current_frame > GS_DBG_MAX_OBJ_OFF || d->tstate_native_thread_id > GS_DBG_MAX_OBJ_OFF ||
	    d->tstate_holds_gil > GS_DBG_MAX_OBJ_OFF || d->code_co_code_adaptive > GS_DBG_MAX_OBJ_OFF ||
	    d->code_linetable > GS_DBG_MAX_OBJ_OFF || d->code_filename > GS_DBG_MAX_OBJ_OFF ||
	    d->code_name > GS_DBG_MAX_OBJ_OFF || d->code_qualname > GS_DBG_MAX_OBJ_OFF ||
	    d->code_firstlineno > GS_DBG_MAX_OBJ_OFF ||
	    d->frame_previous > GS_DBG_MAX_SMALL_OFF || d->frame_executable > GS_DBG_MAX_SMALL_OFF ||
	    d->frame_instr_ptr > GS_DBG_MAX_SMALL_OFF || d->frame_owner > GS_DBG_MAX_SMALL_OFF ||
	    d->unicode_ascii_size > GS_DBG_MAX_SMALL_OFF || d->unicode_compact_size > GS_DBG_MAX_SMALL_OFF)
		return distrust(why, whylen, "a thread, frame or code offset is out of range");
	return 0;
}

int py_debug_offsets__decode_why(const void *buf, size_t len, struct py_debug_offsets *out,
				 char *why, size_t whylen)
{
	const unsigned char *b = buf;

	if (why && whylen)
		why[0] = 0;
	if (len < 24 || memcmp(b, "xdebugpy", 8) != 0)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->version = u64_at(b, 8);
	out->free_threaded = u64_at(b, 16);
	for (size_t i = 0; i < sizeof(dbg_pos) / sizeof(dbg_pos[0]); i++) {
		const struct dbg_pos *p = &dbg_pos[i];

#define F(field) (p->field ? u64_at(b, p->field) : 0)
		if (out->version < p->ver_lo || out->version >= p->ver_hi)
			continue;
		if (len < p->min_len)
			return -EINVAL;
		out->runtime_size = F(runtime_size);
		out->interpreters_head = F(interpreters_head);
		out->interp_size = F(interp_size);
		out->interp_id = F(interp_id);
		out->interp_next = F(interp_next);
		out->interp_threads_head = F(interp_threads_head);
		out->interp_ceval_gil = F(interp_ceval_gil);
		out->interp_gil = F(interp_gil);
		out->interp_gil_locked = F(interp_gil_locked);
		out->interp_gil_holder = F(interp_gil_holder);
		out->tstate_prev = F(tstate_prev);
		out->tstate_next = F(tstate_next);
		out->tstate_interp = F(tstate_interp);
		out->tstate_current_frame = F(tstate_current_frame);
		out->tstate_native_thread_id = F(tstate_native_thread_id);
		out->tstate_holds_gil = F(tstate_holds_gil);
		out->frame_previous = F(frame_previous);
		out->frame_executable = F(frame_executable);
		out->frame_instr_ptr = F(frame_instr_ptr);
		out->frame_owner = F(frame_owner);
		out->code_filename = F(code_filename);
		out->code_name = F(code_name);
		out->code_qualname = F(code_qualname);
		out->code_linetable = F(code_linetable);
		out->code_firstlineno = F(code_firstlineno);
		out->code_co_code_adaptive = F(code_co_code_adaptive);
		out->unicode_state = F(unicode_state);
		out->unicode_ascii_size = F(unicode_ascii_size);
		/* before 3.15: PyCompactUnicodeObject adds utf8_length and
		 * utf8 (16 bytes) to PyASCIIObject */
		out->unicode_compact_size = p->unicode_compact_size ? F(unicode_compact_size)
								    : out->unicode_ascii_size + 16;
#undef F
		return validate(out, why, whylen);
	}
	return -ENOTSUP;
}

int py_debug_offsets__decode(const void *buf, size_t len, struct py_debug_offsets *out)
{
	return py_debug_offsets__decode_why(buf, len, out, NULL, 0);
}

uint64_t py_debug_offsets__main_interp_off(const struct py_debug_offsets *d)
{
	return d->runtime_size - d->interp_size;
}

uint64_t py_debug_offsets__main_gil_off(const struct py_debug_offsets *d)
{
	return py_debug_offsets__main_interp_off(d) + d->interp_gil;
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
		 * frame to 3 and the shim to 4; 3.15 keeps 3 (interpreter) and
		 * drops 4: skip owners >= 3. */
		out->owner_skip = 3;
		/* 3.14+ tag f_executable (a _PyStackRef) in its low bits;
		 * objects are 16-byte aligned, so clearing 3 bits is safe for
		 * any tag scheme of up to 3 bits. */
		out->exec_tag_mask = minor >= 14 ? 7 : 0;
		out->co_code = d->code_co_code_adaptive;
		out->co_firstlineno = d->code_firstlineno;
		out->co_filename = d->code_filename;
		out->co_name = d->code_name;
		out->co_qualname = d->code_qualname;
		out->co_linetable = d->code_linetable;
		out->str_ascii_data = d->unicode_ascii_size;
		out->str_compact_data = d->unicode_compact_size;
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
