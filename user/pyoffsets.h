/* SPDX-License-Identifier: MIT */
/* Where the GIL and the thread identity live, per CPython version: the one
 * table of interpreter layout facts the core tracer needs. Numbers were
 * measured on the pyenv builds (see shared/CPYTHON-INTERNALS.md §2). */
#ifndef GS_PYOFFSETS_H
#define GS_PYOFFSETS_H

#include <stdint.h>

enum gil_locate {
	GIL_STATICS,        /* 3.6: gil_* static globals (.symtab) */
	GIL_RUNTIME_FIXED,  /* 3.7-3.11: struct inside _PyRuntime.ceval */
	GIL_INTERP_PTR,     /* 3.12: main interp (RT+main_off) -> ceval.gil pointer */
	GIL_DEBUG_OFFSETS,  /* 3.13+: read the pointers from _Py_DebugOffsets */
};

enum thread_ident {
	TID_PTHREAD,        /* tstate->thread_id == pthread_self() == TLS base */
	TID_NATIVE,         /* tstate->native_thread_id == kernel TID */
};

struct py_layout {
	int minor;                   /* 3.<minor> */
	uint32_t interp_head_off;    /* _PyRuntime.interpreters.head (3.7-3.12) */
	uint32_t interp_threads_off; /* interp->tstate_head / threads.head (3.6-3.12) */
	enum gil_locate locate;
	uint32_t gil_off;            /* GIL_RUNTIME_FIXED: gil struct offset in _PyRuntime */
	uint32_t main_interp_off;    /* GIL_INTERP_PTR: _PyRuntime.interpreters.main */
	uint32_t interp_gil_ptr_off; /* GIL_INTERP_PTR: interp->ceval.gil */
	enum thread_ident ident;
	uint32_t tstate_ident_off;   /* offset of thread_id or native_thread_id */
	/* For binaries without take_gil/drop_gil symbols (§2.1): */
	uint32_t main_gil_off;       /* main interpreter's GIL struct in _PyRuntime */
	uint32_t drop_req_rt_off;    /* 3.7/3.8: the drop-request flag in _PyRuntime */
	uint32_t drop_req_interp_ptr_off; /* 3.9-3.12: _PyRuntime.interpreters.main ... */
	uint32_t drop_req_interp_off;     /* ... + this = interp->ceval.gil_drop_request */
};

/* Field offsets inside struct _gil_runtime_state, the same in 3.7-3.14
 * (default builds). */
#define GIL_INTERVAL_OFF      0
#define GIL_LAST_HOLDER_OFF   8
#define GIL_LOCKED_OFF        16
#define GIL_SWITCH_NUMBER_OFF 24

/* Oldest and newest minor versions the table knows. */
#define PY_MINOR_MIN 6
#define PY_MINOR_MAX 14

/* Layout of 3.<minor>, NULL if unknown. */
const struct py_layout *py_layout__get(int minor);

/* _Py_DebugOffsets (3.13+): the fields gilscope reads, decoded per version. */
struct py_debug_offsets {
	uint64_t version;            /* PY_VERSION_HEX */
	uint64_t free_threaded;
	uint64_t interpreters_head;  /* in _PyRuntime */
	uint64_t interp_id, interp_next, interp_ceval_gil;
	uint64_t tstate_native_thread_id;
	uint64_t interp_threads_head, tstate_next;
	/* for the stack walk */
	uint64_t tstate_current_frame;
	uint64_t frame_previous, frame_executable, frame_instr_ptr, frame_owner;
	uint64_t code_filename, code_name, code_qualname, code_linetable,
		 code_firstlineno, code_co_code_adaptive;
	uint64_t unicode_ascii_size;
};

/* Decode the start of _PyRuntime (buf, len bytes). 0, -EINVAL when the
 * cookie is not "xdebugpy", -ENOTSUP for a layout this build does not know. */
int py_debug_offsets__decode(const void *buf, size_t len,
			     struct py_debug_offsets *out);

struct gs_pyoff;
/* Stack-walk offsets of 3.<minor> from the measured table (3.6-3.13), or
 * from _Py_DebugOffsets when d is given (3.13+). 0 or -ENOTSUP. */
int py_stack_offsets(int minor, const struct py_debug_offsets *d, struct gs_pyoff *out);

/* Which argument register holds the PyThreadState* at entry of symbol
 * (take_gil/drop_gil or a clone) in 3.<minor>: 0 = 1st (RDI), 1 = 2nd,
 * 2 = 3rd (shared/CPYTHON-INTERNALS.md §1.1). */
int py_tstate_arg(int minor, const char *symbol);

#endif
