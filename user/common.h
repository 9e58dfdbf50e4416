/* SPDX-License-Identifier: MIT */
/* What every stage shares: the failure convention, notes, exit codes, the
 * clock, a process's name and executable, array growth. */
#ifndef GS_COMMON_H
#define GS_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Exit codes, documented in --help and the README. */
enum { EXIT_OK = 0, EXIT_TARGET = 1, EXIT_SYSTEM = 2,
       EXIT_UNTRUSTED = 3 /* report written, but the self-check failed */ };

/* The one error convention of the inspection and tracing stages: return
 * -errno and leave a one-line reason (no trailing newline) for main() to
 * print. */
static inline int __attribute__((format(printf, 4, 5)))
gs_fail(char *err, size_t len, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return code;
}

/* -v: notices on stderr. */
extern bool gs_verbose;
void gs_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* CLOCK_MONOTONIC in ns: the clock of BPF's bpf_ktime_get_ns(). */
uint64_t gs_mono_ns(void);

/* /proc/PID/comm into buf ("" when it cannot be read). */
void gs_read_comm(pid_t pid, char *buf, size_t len);

/* The identity of the executable /proc/PID/exe resolves to: another one
 * later means the process exec'd. false when it cannot be read (gone, a
 * kernel thread). */
bool gs_exe_id(pid_t pid, dev_t *dev, ino_t *ino);

/* Make room for at least need elements of elem bytes in *arr (capacity
 * *cap, doubled from first). 0, or -ENOMEM with *arr unchanged. */
int gs_grow(void *arr, size_t *cap, size_t need, size_t elem, size_t first);

#endif
