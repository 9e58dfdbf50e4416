/* SPDX-License-Identifier: MIT */
/* The one error convention of the inspection and tracing layers: return
 * -errno and leave a one-line reason (no trailing newline) for main() to
 * print. */
#ifndef GS_ERRMSG_H
#define GS_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline int __attribute__((format(printf, 4, 5)))
gs_fail(char *err, size_t len, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return code;
}

#endif
