/* SPDX-License-Identifier: MIT */
/* Minimal assertions for the unit tests: a failed check prints where and
 * why and the run goes on, so one run shows every failure. */
#ifndef GS_CHECK_H
#define GS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned int checks_run, checks_failed;

#define CHECK_MSG(cond, ...) do {						\
	checks_run++;								\
	if (!(cond)) {								\
		checks_failed++;						\
		fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,		\
			__LINE__, #cond);					\
		fprintf(stderr, __VA_ARGS__);					\
		fputc('\n', stderr);						\
	}									\
} while (0)

#define CHECK(cond) CHECK_MSG(cond, "%s", "")

#define CHECK_U64(a, b) do {							\
	uint64_t a_ = (a), b_ = (b);						\
	CHECK_MSG(a_ == b_, "%" PRIu64 " (0x%" PRIx64 ") != %" PRIu64		\
		  " (0x%" PRIx64 ")", a_, a_, b_, b_);				\
} while (0)

#define CHECK_STR(a, b) do {							\
	const char *a_ = (a), *b_ = (b);					\
	CHECK_MSG(a_ && b_ && !strcmp(a_, b_), "\"%s\" != \"%s\"",		\
		  a_ ? a_ : "(null)", b_ ? b_ : "(null)");			\
} while (0)

/* A whole file, malloc'ed (not NUL-terminated), its length in *n; NULL
 * when it cannot be opened. */
static inline char *check_slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, len = 0, got;

	if (!f)
		return NULL;
	do {
		if (len + 4096 > cap && !(buf = realloc(buf, cap = 2 * cap + 4096)))
			break;
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got);
	fclose(f);
	*n = len;
	return buf;
}

/* Print the one-line summary; the exit status for main(). */
static inline int check_summary(const char *name)
{
	if (checks_failed) {
		printf("%s: %u of %u checks FAILED\n", name, checks_failed,
		       checks_run);
		return 1;
	}
	printf("%s: %u checks passed\n", name, checks_run);
	return 0;
}

#endif
