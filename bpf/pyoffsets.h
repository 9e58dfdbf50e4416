/* SPDX-License-Identifier: MIT */
/* CPython's layout as the BPF programs read it, with one owner for both
 * sides: the GIL struct's field offsets, and the stack walk's per-version
 * offsets (struct gs_pyoff). Pairs with user/inspect/pyoffsets.c, which
 * fills gs_pyoff (its header user/inspect/pyoffsets.h includes this one as
 * <pyoffsets.h>: "pyoffsets.h" would name that header itself); read by
 * bpf/pystack.bpf.h (the walk) and bpf/gil.bpf.c, and by
 * user/inspect/pytarget.c for the GIL's addresses. */
#ifndef GS_PYOFFSETS_SHARED_H
#define GS_PYOFFSETS_SHARED_H

#ifndef __VMLINUX_H__ /* user space; BPF code gets the types from vmlinux.h */
#include <linux/types.h>
#endif

/* Field offsets inside struct _gil_runtime_state, the same in 3.7-3.14
 * (default builds); cond and switch_cond in every 3.x (see
 * docs/cpython-layouts.md). */
#define GS_GIL_INTERVAL_OFF      0
#define GS_GIL_LAST_HOLDER_OFF   8
#define GS_GIL_LOCKED_OFF        16
#define GS_GIL_SWITCH_NUMBER_OFF 24
#define GS_GIL_COND_OFF          32
#define GS_GIL_SWITCH_COND_OFF   120

#define GS_FRAME_READ 128       /* most of a frame a walk reads (one read a frame) */

/* Per-version layout for the walk, filled by user space (rodata
 * targ_pyoff of gil.bpf.c). */
struct gs_pyoff {
	__u32 minor;
	__u32 ts_frame;         /* tstate -> frame / cframe / current_frame */
	__u32 cframe_current;   /* cframe -> current_frame; ~0 when no cframe */
	__u32 f_back;
	__u32 f_code;
	__u32 f_pos;            /* f_lasti, prev_instr or instr_ptr */
	__u32 pos_kind;         /* 0 lasti bytes, 1 lasti code units, 2 pointer */
	__u32 f_owner;          /* ~0 when frames carry no owner */
	__u32 owner_skip;       /* skip frames with owner >= this */
	__u32 exec_tag_mask;    /* bits to clear in f_executable (3.14 tags) */
	__u32 frame_span;       /* bytes from a frame's start that hold every field
				   above: read at once, <= GS_FRAME_READ */
	__u32 pad;
	__u64 code_type;        /* &PyCode_Type in the target, 0 = don't check */
	__u32 co_code;          /* co_code_adaptive, or co_code (PyBytes) */
	__u32 co_firstlineno, co_filename, co_name, co_qualname, co_linetable;
	__u32 str_ascii_data, str_compact_data;
};

#endif /* GS_PYOFFSETS_SHARED_H */
