/* SPDX-License-Identifier: MIT */
/* Python stacks (--folded/--flamegraph/--trace): the layout of what the
 * walk stores, shared by bpf/pystack.bpf.h (the walk, part of gil.bpf.c)
 * and user space: user/trace/gil_tracer.c reads the maps (read_stacks),
 * user/model/stacks.c symbolizes them. The CPython offsets the walk
 * follows are in pyoffsets.h. */
#ifndef GS_PYSTACK_H
#define GS_PYSTACK_H

#ifndef __VMLINUX_H__ /* user space; BPF code gets the types from vmlinux.h */
#include <linux/types.h>
#endif

/* Walked in BPF from the thread state at wait start, GIL release and CPU
 * samples. A frame is packed as (byte offset into the bytecode << 48) |
 * code object address: user-space addresses fit in 47 bits. */
#define GS_MAX_FRAMES 64
#define GS_FRAME_CODE_MASK ((1ull << 48) - 1)

/* A stack (map "stacks", keyed by the hash of its frames). */
struct gs_pystack {
	__u32 depth;
	__u32 truncated;        /* the walk stopped at GS_MAX_FRAMES (or targ_max_depth) */
	__u64 frames[GS_MAX_FRAMES]; /* leaf first */
};

enum gs_view {
	GS_VIEW_WAIT = 0,       /* each wait's duration (us) on the waiter's stack */
	GS_VIEW_GIL,            /* CPU samples while holding the GIL */
	GS_VIEW_NOGIL,          /* CPU samples without it */
	GS_VIEW_BLAME,          /* waiter-time (us) during each hold, on the holder's stack */
	GS_NR_VIEWS,
};

/* Key of the "stack_counts" map: a stack's weight per thread and view. */
struct gs_stack_key {
	__u64 stack;            /* hash of the frames; key of the stacks map */
	__u32 tid;
	__u32 view;
};

#define GS_NAME_MAX 128
#define GS_FILE_MAX 256
#define GS_LT_MAX 2048

/* What symbolizing a code object needs, captured in BPF the first time a
 * stack holding it is seen, so reports stay right after the target exits
 * (map "codes", keyed by gs_slot_key(slot, code object address), gil.h). */
struct gs_code {
	__u64 fingerprint;      /* name, file and first line: tells a reused address */
	__s32 firstlineno;
	__u32 lt_len;           /* bytes of line table captured */
	__u32 lt_full;          /* its real size */
	__u8 name_kind;         /* PyUnicode kind 1/2/4, 0 unreadable */
	__u8 file_kind;
	__u16 name_len;         /* bytes captured */
	__u16 file_len;
	__u16 pad;
	char name[GS_NAME_MAX]; /* co_qualname (3.11+) else co_name */
	char file[GS_FILE_MAX];
	__u8 linetable[GS_LT_MAX];
};

#endif /* GS_PYSTACK_H */
