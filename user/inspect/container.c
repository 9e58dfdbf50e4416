// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "inspect/container.h"

#define ID_LEN 12

/* At least 12 hex digits at p: the start of a container ID. */
static int hex_run(const char *p)
{
	int n = 0;

	while (isxdigit((unsigned char)p[n]))
		n++;
	return n;
}

void container__from_cgroup(const char *path, char *buf, size_t len)
{
	/* docker-ID.scope (systemd driver), /docker/ID, libpod-ID,
	 * cri-containerd-ID, crio-ID, /kubepods.../podUID/ID: the last
	 * component with a long hex run after a known prefix or alone */
	static const char *const prefixes[] = { "docker-", "libpod-", "cri-containerd-", "crio-", "containerd-", "" };
	const char *comp = path, *slash;

	buf[0] = 0;
	if (!len)
		return;
	/* scan components from the deepest */
	for (const char *end = path + strlen(path); end > path;) {
		const char *start = end;

		while (start > path && start[-1] != '/')
			start--;
		comp = start;
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
			size_t pl = strlen(prefixes[i]);

			if (strncmp(comp, prefixes[i], pl) == 0 && hex_run(comp + pl) >= 32) {
				snprintf(buf, len, "%.*s", ID_LEN, comp + pl);
				return;
			}
		}
		slash = start > path ? start - 1 : path;
		end = slash;
	}
}

static int same_ns(pid_t pid, const char *ns)
{
	char a[64];
	struct stat s1, s2;

	snprintf(a, sizeof(a), "/proc/%d/ns/%s", (int)pid, ns);
	if (stat(a, &s1) || stat("/proc/self/ns/mnt", &s2))
		return -1;
	if (strcmp(ns, "mnt"))
		return -1;
	return s1.st_ino == s2.st_ino && s1.st_dev == s2.st_dev;
}

int container__label(pid_t pid, char *buf, size_t len)
{
	char path[64], data[8192], best[4096] = "";
	ssize_t n;
	int fd;

	if (!len)
		return -EINVAL;
	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, data, sizeof(data) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	data[n] = 0;
	/* the v2 line ("0::PATH") wins; else the first v1 line naming a path */
	for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
		char *p = strchr(line, ':');

		if (!p || !(p = strchr(p + 1, ':')))
			continue;
		p++;
		if (strncmp(line, "0::", 3) == 0 || !best[0])
			snprintf(best, sizeof(best), "%s", p);
		if (strncmp(line, "0::", 3) == 0)
			break;
	}
	container__from_cgroup(best, buf, len);
	if (buf[0])
		return 0;
	/* a root of its own without a runtime's cgroup: name it by its
	 * cgroup, or by the mount namespace */
	if (same_ns(pid, "mnt") == 0) {
		const char *last = strrchr(best, '/');

		if (last && last[1])
			snprintf(buf, len, "%.63s", last + 1);
		else {
			struct stat st;

			snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
			if (stat(path, &st) == 0)
				snprintf(buf, len, "mnt:%lu", (unsigned long)st.st_ino);
		}
	}
	return 0;
}
