/* SPDX-License-Identifier: MIT */
/* Where the GIL and the thread identity live, per CPython version: the one
 * table of interpreter layout facts the core tracer needs. 3.6-3.12: numbers
 * measured on the pyenv builds; 3.13+: read from the interpreter's own
 * _Py_DebugOffsets, whose layout per version is the only table kept (how
 * each number was measured: docs/cpython-layouts.md). The facts the BPF
 * programs read too (the GIL struct's field offsets, the stack walk's
 * struct gs_pyoff) live in bpf/pyoffsets.h, included here. */
#ifndef GS_PYOFFSETS_H
#define GS_PYOFFSETS_H

#include <stdint.h>
#include <pyoffsets.h> /* bpf/pyoffsets.h: the GIL's field offsets, struct gs_pyoff
			  ("pyoffsets.h" would name this file) */

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
	uint32_t main_gil_off;       /* main interpreter's GIL struct in _PyRuntime
					(3.7-3.12; 3.13+ compute it from _Py_DebugOffsets) */
	uint32_t drop_req_rt_off;    /* 3.7/3.8: the drop-request flag in _PyRuntime */
	uint32_t drop_req_interp_ptr_off; /* 3.9-3.12: _PyRuntime.interpreters.main ... */
	uint32_t drop_req_interp_off;     /* ... + this = interp->ceval.gil_drop_request */
};

/* Field offsets inside struct _gil_runtime_state: GS_GIL_*_OFF in
 * bpf/pyoffsets.h, which BPF reads too. */

/* 3.13+: the drop request is bit 0 of the holder's tstate->eval_breaker,
 * the field after tstate->interp (measured with gdb on the debug files of
 * 3.13.0, 3.13.5, 3.14.10 and 3.15.2: offset 24 in each). */
#define TSTATE_EVAL_BREAKER_OFF 24

/* Oldest and newest minor versions the table knows. */
#define PY_MINOR_MIN 6
#define PY_MINOR_MAX 15

/* Layout of 3.<minor>, NULL if unknown. */
const struct py_layout *py_layout__get(int minor);

/* _Py_DebugOffsets (3.13+): the fields gilscope reads, decoded per version. */
struct py_debug_offsets {
	uint64_t version;            /* PY_VERSION_HEX */
	uint64_t free_threaded;
	uint64_t runtime_size;       /* sizeof(_PyRuntimeState) */
	uint64_t interp_size;        /* sizeof(PyInterpreterState) */
	/* interp->_gil (the GIL struct embedded in each interpreter) and
	 * its locked/last_holder fields as absolute interp offsets */
	uint64_t interp_gil, interp_gil_locked, interp_gil_holder;
	uint64_t tstate_prev, tstate_interp;
	uint64_t tstate_holds_gil;   /* 3.15+, else 0 */
	uint64_t unicode_state, unicode_compact_size;
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
 * cookie is not "xdebugpy", -ENOTSUP for a version this build does not
 * know, -EPROTO when the offsets it holds are not a layout gilscope can
 * trust (why: a short phrase in why, may be NULL). */
int py_debug_offsets__decode(const void *buf, size_t len,
			     struct py_debug_offsets *out);
int py_debug_offsets__decode_why(const void *buf, size_t len,
				 struct py_debug_offsets *out, char *why, size_t whylen);

/* The main interpreter is the last member of _PyRuntimeState (CPython
 * keeps it last so that tools can find it: gh-127117), so its offset in
 * _PyRuntime is runtime_size - interp_size; the main GIL is its _gil.
 * Checked against the live interpreter's interp->ceval.gil on 3.13.0,
 * 3.13.5, 3.14.10 and 3.15.2 (docs/cpython-layouts.md). */
uint64_t py_debug_offsets__main_interp_off(const struct py_debug_offsets *d);
uint64_t py_debug_offsets__main_gil_off(const struct py_debug_offsets *d);

/* Stack-walk offsets of 3.<minor> from the measured table (3.6-3.13), or
 * from _Py_DebugOffsets when d is given (3.13+). 0 or -ENOTSUP. */
int py_stack_offsets(int minor, const struct py_debug_offsets *d, struct gs_pyoff *out);

/* Which argument register holds the PyThreadState* at entry of symbol
 * (take_gil/drop_gil or a clone) in 3.<minor>: 0 = 1st (RDI), 1 = 2nd,
 * 2 = 3rd (docs/cpython-layouts.md, 3.6-3.12). */
int py_tstate_arg(int minor, const char *symbol);

#endif
