// SPDX-License-Identifier: MIT
/* _Py_DebugOffsets (user/inspect/pyoffsets.c): the start of _PyRuntime's
 * initial image in the target's file. Input: those bytes. A decode that is
 * accepted must give offsets gilscope can use as they are: the main GIL
 * inside _PyRuntime, and stack-walk offsets that survive their narrowing
 * to the 32-bit fields BPF reads. */
#include "fuzz.h"
#include "inspect/pyoffsets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct py_debug_offsets d;
	struct gs_pyoff o;
	char why[128];
	uint8_t *buf = malloc(size ? size : 1);
	int e;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	e = py_debug_offsets__decode_why(buf, size, &d, why, sizeof(why));
	FUZZ_ASSERT(e == 0 || e == -EINVAL || e == -ENOTSUP || e == -EPROTO);
	FUZZ_ASSERT(e != -EPROTO || why[0]);
	if (e == 0) {
		uint64_t gil = py_debug_offsets__main_gil_off(&d);

		FUZZ_ASSERT(py_debug_offsets__main_interp_off(&d) < d.runtime_size);
		FUZZ_ASSERT(d.interpreters_head < d.runtime_size);
		FUZZ_ASSERT(d.interp_id < d.interp_size && d.interp_next < d.interp_size &&
			    d.interp_threads_head < d.interp_size && d.interp_ceval_gil < d.interp_size);
		FUZZ_ASSERT(d.free_threaded || (gil >= py_debug_offsets__main_interp_off(&d) &&
						gil < d.runtime_size));
		for (int minor = 13; minor <= 15; minor++) {
			if (py_stack_offsets(minor, &d, &o) != 0)
				continue;
			FUZZ_ASSERT(o.ts_frame == d.tstate_current_frame);
			FUZZ_ASSERT(o.f_back == d.frame_previous && o.f_code == d.frame_executable);
			FUZZ_ASSERT(o.co_filename == d.code_filename && o.co_name == d.code_name);
			FUZZ_ASSERT(o.co_qualname == d.code_qualname && o.co_linetable == d.code_linetable);
			FUZZ_ASSERT(o.co_firstlineno == d.code_firstlineno && o.co_code == d.code_co_code_adaptive);
			FUZZ_ASSERT(o.str_compact_data == d.unicode_compact_size);
		}
	}
	for (int minor = 0; minor < 18; minor++) {
		(void)py_layout__get(minor);
		(void)py_stack_offsets(minor, NULL, &o);
	}
	free(buf);
	return 0;
}
