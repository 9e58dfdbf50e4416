/* SPDX-License-Identifier: MIT */
/* What the harnesses share: the entry point libFuzzer (or driver.c, the
 * corpus runner of `make fuzz-regress`) calls, and the input as a file for
 * the parsers that read ELF files by path. */
#ifndef GS_FUZZ_H
#define GS_FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A harness's own check of a parser's contract: abort, so that libFuzzer
 * (and the regress driver) report the input. */
#define FUZZ_ASSERT(cond) do {							\
	if (!(cond)) {								\
		fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__,	\
			__LINE__, #cond);					\
		abort();							\
	}									\
} while (0)

/* Write all of buf to fd at offset 0 and cut the file there. */
static inline int fuzz_fill_fd(int fd, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	if (ftruncate(fd, 0))
		return -1;
	while (done < len) {
		ssize_t n = pwrite(fd, buf + done, len - done, (off_t)done);

		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* The input as a file: one memfd per process, refilled per input; path
 * names it ("/proc/self/fd/N"). -1 on failure. */
static inline int fuzz_input_file(const uint8_t *buf, size_t len, char *path, size_t plen)
{
	static int fd = -1;

	if (fd < 0 && (fd = memfd_create("fuzz-input", MFD_CLOEXEC)) < 0)
		return -1;
	if (fuzz_fill_fd(fd, buf, len))
		return -1;
	snprintf(path, plen, "/proc/self/fd/%d", fd);
	return fd;
}

/* Write buf to path (created 0644, truncated). 0 or -1. */
static inline int fuzz_write_file(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), e;

	if (fd < 0)
		return -1;
	e = fuzz_fill_fd(fd, buf, len);
	close(fd);
	return e;
}

#endif
