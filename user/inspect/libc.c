// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>
#include "inspect/libc.h"

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

enum gs_libc libc__of_maps(const struct proc_maps *m)
{
	enum gs_libc k = GS_LIBC_UNKNOWN;

	for (size_t i = 0; i < m->n; i++) {
		const char *b = base_name(m->v[i].path);

		if (!strncmp(b, "ld-musl", 7) || !strncmp(b, "libc.musl", 9))
			return GS_LIBC_MUSL;
		if (!strncmp(b, "libc.so.6", 9) || !strncmp(b, "libc-2.", 7))
			k = GS_LIBC_GLIBC;
	}
	return k;
}

enum gs_libc libc__of(pid_t pid)
{
	struct proc_maps m = {};
	enum gs_libc k;

	if (proc_maps__load(pid, &m))
		return GS_LIBC_UNKNOWN;
	k = libc__of_maps(&m);
	proc_maps__free(&m);
	return k;
}

const char *libc__light_refusal(const struct py_target *pt, enum gs_libc libc, char *buf, size_t len)
{
	if (pt->free_threaded)
		snprintf(buf, len, "a free-threaded build has no GIL to watch");
	else if (pt->minor < 7)
		snprintf(buf, len, "CPython %s keeps its GIL in separate variables, not the struct --light reads (3.7+)",
			 pt->version);
	else if (!pt->gil_addr)
		snprintf(buf, len, "the GIL's address in CPython %s is not known", pt->version);
	else if (libc == GS_LIBC_MUSL)
		snprintf(buf, len, "it runs on musl, whose condition variables wait on futex words outside the GIL");
	else if (libc != GS_LIBC_GLIBC)
		snprintf(buf, len, "its C library is not glibc (none mapped), so the GIL's futex words are not known");
	else
		return NULL;
	return buf;
}
