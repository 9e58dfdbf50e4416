// SPDX-License-Identifier: MIT
/* Confined opens in a target's root: openat2(RESOLVE_IN_ROOT) where the
 * kernel has it (5.6+), a user-space walk with the same rules elsewhere;
 * and the target's PIDs as its own PID namespace numbers them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "inspect/rootfs.h"

#ifndef SYS_openat2
#define SYS_openat2 437		/* the same number on every architecture */
#endif

#define ROOTFS_MAX_HOPS	 40	/* symlinks per open: the kernel's MAXSYMLINKS */
#define ROOTFS_MAX_DEPTH 256	/* directories held open at once by a walk */
/* openat2 answers EAGAIN when a rename or mount anywhere on the system
 * raced with a RESOLVE_IN_ROOT lookup; it is safe to simply try again. */
#define ROOTFS_EAGAIN_TRIES 16

static bool force_walk;
static bool no_openat2;		/* the kernel said ENOSYS once: stop asking */

void rootfs__force_walk(bool on)
{
	force_walk = on;
}

/* ---------------------------------------------------------------- walker */

struct walk {
	int fds[ROOTFS_MAX_DEPTH];	/* fds[0] is the caller's root, not ours */
	int depth;			/* fds[depth] is the current directory */
	char path[2 * PATH_MAX];	/* what is left to resolve */
	char link[PATH_MAX];		/* a symlink's text */
};

static void walk_pop_to(struct walk *w, int depth)
{
	while (w->depth > depth)
		close(w->fds[w->depth--]);
}

/* Replace what is left of the path with the link text followed by `rest`
 * (which is empty or starts with '/'), in w->path. */
static int walk_splice(struct walk *w, int linkfd, const char *rest)
{
	size_t rlen = strlen(rest);
	ssize_t n;

	n = readlinkat(linkfd, "", w->link, sizeof(w->link));
	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof(w->link))
		return -ENAMETOOLONG;
	if (n == 0)
		return -ENOENT;		/* what the kernel says for "" too */
	if ((size_t)n + rlen + 1 > sizeof(w->path))
		return -ENAMETOOLONG;
	/* rest may point into w->path: move it first, then put the link
	 * text in front of it */
	memmove(w->path + n, rest, rlen + 1);
	memcpy(w->path, w->link, (size_t)n);
	/* An absolute link starts over at the root: the target's "/", never
	 * ours. */
	if (w->link[0] == '/')
		walk_pop_to(w, 0);
	return 0;
}

int rootfs__open_at(int rootfd, const char *path, int flags)
{
	struct walk *w;
	const char *p;
	int hops = 0, fd = -1, err = 0;

	if (flags & (O_CREAT | O_TMPFILE))
		return -EINVAL;
	if (!path[0])
		return -ENOENT;
	if (strlen(path) >= sizeof(w->path))
		return -ENAMETOOLONG;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fds[0] = rootfd;
	strcpy(w->path, path);
	p = w->path;
	for (;;) {
		char name[NAME_MAX + 1];
		const char *end, *q;
		bool last, dir_wanted;
		struct stat st;
		size_t n;
		int cfd;

		while (*p == '/')
			p++;
		if (!*p) {
			/* "/", or a path ending in "." or "..": the directory
			 * reached so far is the file. */
			fd = openat(w->fds[w->depth], ".", flags | O_CLOEXEC);
			err = fd < 0 ? -errno : 0;
			break;
		}
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if (n > NAME_MAX) {
			err = -ENAMETOOLONG;
			break;
		}
		memcpy(name, p, n);
		name[n] = 0;
		p = end;
		for (q = p; *q == '/'; q++)
			;
		last = !*q;
		dir_wanted = last && *p == '/';	/* "a/b/": b must be a directory */

		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			/* Clamped at the root; and never asked of the kernel,
			 * whose ".." could leave the root (or a bind mount). */
			walk_pop_to(w, w->depth ? w->depth - 1 : 0);
			continue;
		}
		cfd = openat(w->fds[w->depth], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			err = -errno;
			break;
		}
		if (fstat(cfd, &st)) {
			err = -errno;
			close(cfd);
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			if (++hops > ROOTFS_MAX_HOPS)
				err = -ELOOP;
			else
				err = walk_splice(w, cfd, p);
			close(cfd);
			if (err)
				break;
			p = w->path;
			continue;
		}
		if (last) {
			close(cfd);
			/* O_NOFOLLOW: had it turned into a symlink since the
			 * look above, fail (ELOOP) rather than follow it. */
			fd = openat(w->fds[w->depth], name, flags | O_NOFOLLOW | O_CLOEXEC |
				    (dir_wanted ? O_DIRECTORY : 0));
			err = fd < 0 ? -errno : 0;
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			close(cfd);
			err = -ENOTDIR;
			break;
		}
		if (w->depth + 1 >= ROOTFS_MAX_DEPTH) {
			close(cfd);
			err = -ENAMETOOLONG;
			break;
		}
		w->fds[++w->depth] = cfd;
	}
	walk_pop_to(w, 0);
	free(w);
	return err ? err : fd;
}

/* ---------------------------------------------------------------- openat2 */

int rootfs__open_in(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		/* NO_MAGICLINKS: a /proc/N/root or /proc/N/fd/M link inside
		 * the target's /proc would jump out just like an absolute
		 * symlink does without IN_ROOT. */
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd = -1;

	if (flags & (O_CREAT | O_TMPFILE))
		return -EINVAL;
	if (force_walk || no_openat2)
		return rootfs__open_at(rootfd, path, flags);
	for (int i = 0; i < ROOTFS_EAGAIN_TRIES; i++) {
		fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	if (fd >= 0)
		return (int)fd;
	if (errno == ENOSYS) {		/* before Linux 5.6 */
		no_openat2 = true;
		return rootfs__open_at(rootfd, path, flags);
	}
	return -errno;
}

int rootfs__open(pid_t pid, const char *path, int flags)
{
	char root[64];
	int rootfd, fd;

	/* Following this magic link is the point: it is the kernel's own
	 * reference to the target's root directory. */
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	fd = rootfs__open_in(rootfd, path, flags);
	close(rootfd);
	return fd;
}

void rootfs__fd_path(int fd, char *buf, size_t len)
{
	if (len)
		snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/* ---------------------------------------------------------------- NSpid */

/* "NSpid:\t4242\t17\n" -> 17 (the last, innermost number); -EINVAL when
 * the line holds no number or something else. */
static int last_ns_pid(const char *s)
{
	long v = -1;

	for (;;) {
		char *end;
		long x;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '\n')
			break;
		errno = 0;
		x = strtol(s, &end, 10);
		if (end == s || errno || x <= 0 || x > INT_MAX ||
		    (*end && *end != ' ' && *end != '\t' && *end != '\n'))
			return -EINVAL;
		v = x;
		s = end;
	}
	return v > 0 ? (int)v : -EINVAL;
}

int rootfs__target_view(pid_t pid, const char *seen, char *out, size_t len)
{
	char link[64], root[PATH_MAX];
	ssize_t n;
	size_t rl;

	snprintf(link, sizeof(link), "/proc/%d/root", (int)pid);
	n = readlink(link, root, sizeof(root) - 1);
	if (n > 1 && root[0] == '/') {
		root[n] = 0;
		rl = (size_t)n;
		while (rl > 1 && root[rl - 1] == '/')
			root[--rl] = 0;
		if (!strncmp(seen, root, rl) && seen[rl] == '/')
			seen += rl;
	}
	if (strlen(seen) >= len)
		return -ENAMETOOLONG;
	strcpy(out, seen);
	return 0;
}

int rootfs__ns_pid(pid_t pid, pid_t tid)
{
	char path[80], *line = NULL;
	size_t cap = 0;
	int ret = -ENOENT;
	FILE *f;

	if (tid > 0)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* No NSpid line before Linux 4.1: no way to know of a namespace,
	 * so the host number it is. */
	ret = tid > 0 ? (int)tid : (int)pid;
	while (getline(&line, &cap, f) > 0) {
		if (!strncmp(line, "NSpid:", 6)) {
			ret = last_ns_pid(line + 6);
			break;
		}
	}
	free(line);
	fclose(f);
	return ret;
}
