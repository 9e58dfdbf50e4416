/* SPDX-License-Identifier: MIT */
/* One symbolized stack with its weight: what the stack model
 * (model/stacks.h) holds and every stack writer (text, JSON, folded, the
 * flame graph) takes. */
#ifndef GS_SYM_STACK_H
#define GS_SYM_STACK_H

#include <stddef.h>
#include <stdint.h>

struct sym_stack {
	const char *const *frames; /* root first, leaf last */
	size_t depth;
	uint64_t weight;           /* 0: ignored */
};

#endif
