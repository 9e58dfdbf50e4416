// SPDX-License-Identifier: MIT
/* The Capstone decoder of take_gil's wait loop (user/inspect/waitloop.c)
 * and the endbr64 entry check (callsite.c) over a function's code, which
 * comes from the target's file. Input: the timedwait call's offset in the
 * code (2 bytes LE), then the code, at link-time address BASE. */
#include "fuzz.h"
#include "inspect/callsite.h"
#include "inspect/waitloop.h"

#define BASE 0x1000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct waitloop wl;
	uint16_t at;
	uint8_t *code;
	size_t len;
	int skip;

	if (size < 3)
		return 0;
	memcpy(&at, data, 2);
	len = size - 2;
	code = malloc(len);
	if (!code)
		return 0;
	memcpy(code, data + 2, len);
	skip = callsites__entry_skip(code, len, BASE);
	FUZZ_ASSERT(skip == 0 || skip == 4);
	if (waitloop__find(code, len, BASE, BASE + at, &wl) == 0) {
		FUZZ_ASSERT(wl.entry >= BASE && wl.entry < wl.head);
		FUZZ_ASSERT(wl.head < (uint64_t)BASE + at);
		FUZZ_ASSERT(wl.reg >= WL_R15 && wl.reg <= WL_STATIC);
	}
	free(code);
	return 0;
}
