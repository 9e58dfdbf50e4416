/* SPDX-License-Identifier: MIT */
/* Which container a process runs in, as a short label for live views
 * (top, serve): a runtime's container ID from the cgroup path, else the
 * cgroup's last component when the process lives in its own mount
 * namespace, else "" (the host). */
#ifndef GS_CONTAINER_H
#define GS_CONTAINER_H

#include <stddef.h>
#include <sys/types.h>

/* The label of pid's container into buf ("" on the host). 0, or -errno
 * when /proc tells nothing (buf is "" then). */
int container__label(pid_t pid, char *buf, size_t len);

/* The label in a cgroup path ("/system.slice/docker-<64 hex>.scope" ->
 * the ID's first 12 characters), or "" when no runtime's pattern matches. */
void container__from_cgroup(const char *path, char *buf, size_t len);

#endif
