/* SPDX-License-Identifier: MIT */
/* Bytecode position -> source line, decoded from a code object's line table
 * the way the interpreter of each CPython version does it (3.6-3.15). */
#ifndef GS_LINETABLE_H
#define GS_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

/* Line of the instruction at byte offset `off` of the code object's bytecode
 * (3.6-3.10: offset into co_code; 3.11+: offset into co_code_adaptive, i.e.
 * 2 * code-unit index, CACHE entries included). `table` is co_lnotab
 * (3.6-3.9), co_linetable (3.10, the (sdelta, ldelta) pair format) or the
 * 3.11+ location table. Returns the line, or -1 when the position has no line
 * (e.g. 3.10 ldelta -128, 3.11+ code 15), is outside the table, the table is
 * truncated there, or `minor` is not 6-15. Never reads past table[len - 1]. */
int py_line_for_offset(int minor, int firstlineno, const uint8_t *table, size_t len, uint32_t off);

#endif
