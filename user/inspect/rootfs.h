/* SPDX-License-Identifier: MIT */
/* Opening a target's files as the target sees them, without letting the
 * target redirect the open.
 *
 * A path from /proc/PID/maps names a file in the target's root. Walking
 * "/proc/PID/root" + path in our own context is not safe for a target in
 * a container: /proc/PID/root is a magic link into the target's root, but
 * an absolute symlink met after it (or enough "..") is resolved against
 * OUR root, so a hostile container can point a privileged open at any
 * host file. Everything here resolves the whole path inside the target's
 * root instead, as if that root were "/". */
#ifndef GS_ROOTFS_H
#define GS_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Open `path` (absolute, as the target sees it) inside the root of process
 * pid, resolving every symlink and ".." as if that root were "/"
 * (openat2 with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS on a dirfd of
 * /proc/PID/root; if openat2 is unavailable (ENOSYS), fall back to a
 * component-by-component walk with O_NOFOLLOW|O_PATH that re-roots absolute
 * symlinks and clamps ".." at the root, with a hop limit of 40).
 * flags: O_RDONLY etc. (O_CLOEXEC is always added; O_CREAT and O_TMPFILE
 * are refused with -EINVAL). Returns an fd or -errno. */
int rootfs__open(pid_t pid, const char *path, int flags);

/* The same inside the directory rootfd (an O_PATH or O_DIRECTORY fd),
 * treated as "/": openat2, or the walker when openat2 is missing or
 * rootfs__force_walk() is on. Returns an fd or -errno. */
int rootfs__open_in(int rootfd, const char *path, int flags);

/* The fallback walker itself, always used, whatever the kernel offers:
 * one component at a time, every step opened O_PATH|O_NOFOLLOW relative
 * to the directory reached so far; a symlink's text is spliced in front of
 * the rest of the path (absolute ones restart at rootfd), ".." pops back
 * to the previous directory and stays put at rootfd; more than 40 symlinks
 * give -ELOOP. The kernel is never asked to follow a link or go up. */
int rootfs__open_at(int rootfd, const char *path, int flags);

/* For tests: make rootfs__open()/rootfs__open_in() use the walker even
 * when openat2 is there. */
void rootfs__force_walk(bool on);

/* A path that names exactly the file behind fd for APIs that want a path
 * (libelf users, the uprobe attach): "/proc/self/fd/N". The kernel follows
 * that magic link to the open file itself, never re-resolving its name. */
void rootfs__fd_path(int fd, char *buf, size_t len);

/* A path as /proc/PID/maps or /proc/PID/exe show it to us, as the
 * target sees it. Those files print paths relative to OUR root: for a
 * target chroot'd into a directory we can reach (same mount namespace),
 * they start with that directory ("/srv/root/usr/bin/python3"), which
 * readlink(/proc/PID/root) names; the prefix is removed. Any other path
 * (the same root, or a container's own mount namespace, where the kernel
 * already prints the target's view) is copied unchanged. 0 or
 * -ENAMETOOLONG. */
int rootfs__target_view(pid_t pid, const char *seen, char *out, size_t len);

/* The target's namespace PIDs: NSpid from /proc/PID/status (host pid first,
 * innermost last); and per thread from /proc/PID/task/TID/status (tid > 0;
 * tid <= 0 asks about the process).
 * Returns the innermost (container) pid, or the host pid when there is no
 * nested namespace, or -errno. */
int rootfs__ns_pid(pid_t pid, pid_t tid);

#endif
