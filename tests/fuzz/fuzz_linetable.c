// SPDX-License-Identifier: MIT
/* Line tables of every CPython version (user/model/linetable.c), as
 * captured from a target's code object. Input: minor (1 byte), firstlineno
 * (4 bytes LE), bytecode offset (4 bytes LE), then the table. */
#include "fuzz.h"
#include "model/linetable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int32_t first;
	uint32_t off;
	uint8_t *table;
	size_t len;
	int minor, line;

	if (size < 9)
		return 0;
	minor = data[0] % 18;     /* 6-15, and a few versions it must refuse */
	memcpy(&first, data + 1, 4);
	memcpy(&off, data + 5, 4);
	len = size - 9;
	/* a heap copy of exactly len bytes: ASan sees any read past it */
	table = malloc(len ? len : 1);
	if (!table)
		return 0;
	memcpy(table, data + 9, len);
	line = py_line_for_offset(minor, first, table, len, off);
	FUZZ_ASSERT(line >= -1);
	if (minor < 6 || minor > 15)
		FUZZ_ASSERT(line == -1);
	/* every offset of a short table, as the stack writers ask */
	for (uint32_t o = 0; o < 64; o += 2)
		FUZZ_ASSERT(py_line_for_offset(minor, first, table, len, o) >= -1);
	(void)py_line_for_offset(minor, first, NULL, len, off);
	free(table);
	return 0;
}
