// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include "common.h"
#include "trace/tracefs.h"

/* Where libbpf looks, in its order. */
static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };

static bool mounted(const char *dir)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "%s/events", dir);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int tracefs__ensure(char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mounted(dirs[i]))
			return 0;
	if (mount("tracefs", dirs[0], "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) && errno != EBUSY)
		return gs_fail(err, errlen, -errno, "tracefs is not mounted and cannot be mounted at %s: %s "
			       "(mount -t tracefs tracefs %s)", dirs[0], strerror(errno), dirs[0]);
	if (!mounted(dirs[0]))
		return gs_fail(err, errlen, -ENOENT, "tracefs mounted at %s has no events directory", dirs[0]);
	gs_note("mounted tracefs at %s (the futex syscall tracepoints are found there)", dirs[0]);
	return 0;
}
