// SPDX-License-Identifier: MIT
/* Bytecode offset -> source line for CPython 3.6-3.15. Three table formats,
 * each decoded as the interpreter's own lookup does (PyCode_Addr2Line and
 * _PyCode_CheckLineNumber), because that is what tracebacks show:
 *
 *   3.6-3.9   co_lnotab: (u8 addr delta, i8 line delta) pairs. Signed line
 *             deltas since 3.6 (3.5 and older are unsigned: unsupported).
 *   3.10      co_linetable: (u8 byte length, i8 line delta) ranges (PEP 626);
 *             line delta -128 = "no line" and leaves the running line alone.
 *   3.11-3.14 location table (Objects/locations.md): variable-length entries
 *             of line and column data, each covering 1-8 code units.
 *
 * The table comes from another process's memory, so it is untrusted: every
 * read is bounds-checked and a truncated entry ends the lookup with -1. */
#include <limits.h>
#include <stdbool.h>

#include "model/linetable.h"

/* Lines are summed in 64 bits so a hostile table cannot overflow an int. */
static int line_or_none(int64_t line)
{
	return line >= 0 && line <= INT_MAX ? (int)line : -1;
}

/* 3.6-3.9: the line of the last entry whose address is <= off. An offset
 * past the last entry keeps the last line, as PyCode_Addr2Line does: there
 * is no "outside" here. Long gaps are chains of (255, 0) or (0, +-127). */
static int lnotab_line(int64_t line, const uint8_t *t, size_t len, uint32_t off)
{
	uint64_t addr = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += t[i];
		if (addr > off)
			break;
		line += (int8_t)t[i + 1];
	}
	return line_or_none(line);
}

/* 3.10: ranges [end, end + sdelta) in table order. Zero-length ranges (the
 * (0, +-127) pieces of a big line jump) still move the running line. An
 * offset past the last range has no line, as in _PyCode_CheckLineNumber. */
static int linetable310_line(int64_t line, const uint8_t *t, size_t len, uint32_t off)
{
	uint64_t end = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		int8_t ldelta = (int8_t)t[i + 1];

		end += t[i];
		if (ldelta != -128)
			line += ldelta;
		if (off < end)
			return ldelta == -128 ? -1 : line_or_none(line);
	}
	return -1;
}

/* 3.11+ varint: 6-bit chunks, least significant first, bit 6 = more
 * follow. Reads from t[*pos]; false if the table ends first or the value
 * would not fit 32 bits (CPython never writes one that long). */
static bool read_varint(const uint8_t *t, size_t len, size_t *pos, uint32_t *val)
{
	unsigned int shift = 0;
	uint32_t v = 0;
	uint8_t b;

	do {
		if (*pos >= len || shift > 30)
			return false;
		b = t[(*pos)++];
		v |= (uint32_t)(b & 63) << shift;
		shift += 6;
	} while (b & 64);
	*val = v;
	return true;
}

/* 3.11+ svarint: a varint of magnitude << 1 | sign. */
static bool read_svarint(const uint8_t *t, size_t len, size_t *pos, int64_t *val)
{
	uint32_t u;

	if (!read_varint(t, len, pos, &u))
		return false;
	*val = u & 1 ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
	return true;
}

enum {
	LOC_ONE_LINE0 = 10,	/* 10-12: line delta 0-2, two column bytes */
	LOC_NO_COLUMNS = 13,	/* svarint line delta */
	LOC_LONG = 14,		/* svarint line delta, then 3 varints we skip */
	LOC_NONE = 15,		/* no location; the running line stays */
};

/* 3.11-3.14: entry header 1cccclll (code c, length l + 1 code units), then
 * code-specific data. Only the line delta matters here: entries are found
 * by their header bit 7, which no data byte has (varints and columns are
 * < 128), exactly as the interpreter steps over the column data. Codes 0-9
 * (short form) keep the line. */
static int locations_line(int64_t line, const uint8_t *t, size_t len, uint32_t off)
{
	uint64_t end = 0;
	size_t i = 0;

	/* a table not starting with a header is not a location table */
	if (len && !(t[0] & 0x80))
		return -1;
	while (i < len) {
		uint8_t b = t[i];
		int code = (b >> 3) & 15;
		size_t pos = i + 1;
		int64_t delta = 0;

		if (code == LOC_NO_COLUMNS || code == LOC_LONG) {
			if (!read_svarint(t, len, &pos, &delta))
				return -1;
		} else if (code >= LOC_ONE_LINE0 && code < LOC_NO_COLUMNS) {
			delta = code - LOC_ONE_LINE0;
		}
		line += delta;
		end += ((b & 7) + 1) * 2;	/* code units -> bytes */
		if (off < end)
			return code == LOC_NONE ? -1 : line_or_none(line);
		for (i++; i < len && !(t[i] & 0x80); i++)
			;
	}
	return -1;
}

int py_line_for_offset(int minor, int firstlineno, const uint8_t *table, size_t len, uint32_t off)
{
	if (!table)
		len = 0;
	if (minor >= 6 && minor <= 9)
		return lnotab_line(firstlineno, table, len, off);
	if (minor == 10)
		return linetable310_line(firstlineno, table, len, off);
	/* unchanged from 3.11 through 3.14 */
	if (minor >= 11 && minor <= 15)
		return locations_line(firstlineno, table, len, off);
	return -1;
}
