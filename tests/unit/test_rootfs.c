// SPDX-License-Identifier: MIT
/* Confined opens: a temporary tree stands in for a container's root, with
 * the symlinks a hostile container would plant (an absolute one to
 * /etc/passwd, a "../../../.." escape, loops). Every case runs through
 * openat2 and through the fallback walker, which must agree. Then opens
 * through /proc/self/root, the /proc/self/fd path, and NSpid (in a real
 * PID namespace when run as root). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "inspect/rootfs.h"

#define CHAIN 40	/* symlinks the kernel (and the walker) may follow */

static char tree[] = "/tmp/gs_test_rootfs.XXXXXX";

static void put(const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	f = fopen(path, "w");
	CHECK_MSG(f != NULL, "create %s: %s", path, strerror(errno));
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void dir(const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	CHECK_MSG(mkdir(path, 0755) == 0, "mkdir %s: %s", path, strerror(errno));
}

static void link_(const char *target, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	CHECK_MSG(symlink(target, path) == 0, "symlink %s: %s", path, strerror(errno));
}

static void build_tree(void)
{
	char name[32], target[32];

	dir("etc");
	dir("dir");
	dir("dir/sub");
	put("file", "hello\n");
	/* what a planted "/etc/passwd" must reach: this, never the host's */
	put("etc/passwd", "tree passwd\n");
	put("dir/sub/file2", "file2\n");
	link_("../file", "dir/rel");
	link_("../../dir/sub/file2", "dir/sub/rel2");
	link_("/etc/passwd", "abs");
	link_("../../../../../../../../etc/passwd", "dir/esc");
	link_("/dir", "dirlink");
	link_("loop2", "loop1");
	link_("loop1", "loop2");
	link_("self", "self");
	link_("/proc/self/root/etc/passwd", "magic");
	link_("file/", "filedir");
	/* chain0 -> chain1 -> ... -> chainCHAIN -> /file: opening chain1
	 * follows CHAIN links (allowed), chain0 one more (ELOOP) */
	for (int i = 0; i <= CHAIN; i++) {
		snprintf(name, sizeof(name), "chain%d", i);
		if (i == CHAIN)
			snprintf(target, sizeof(target), "/file");
		else
			snprintf(target, sizeof(target), "chain%d", i + 1);
		link_(target, name);
	}
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void remove_tree(void)
{
	/* FTW_PHYS: the tree is full of links to elsewhere; never follow */
	nftw(tree, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static ino_t inode_of(const char *rel)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	return stat(path, &st) ? 0 : st.st_ino;
}

/* The first bytes of fd, as a string. */
static const char *contents(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = 0;
	return buf;
}

struct open_case {
	const char *path;
	const char *want;	/* file contents, or "DIR:rel" for a directory */
	int err;		/* or the -errno wanted */
};

static const struct open_case cases[] = {
	{ "/file", "hello\n", 0 },
	{ "file", "hello\n", 0 },			/* relative: from the root too */
	{ "//dir/./sub//file2", "file2\n", 0 },
	{ "/dir/rel", "hello\n", 0 },			/* relative symlink */
	{ "/dir/sub/rel2", "file2\n", 0 },
	{ "/abs", "tree passwd\n", 0 },			/* absolute symlink: re-rooted */
	{ "/dir/esc", "tree passwd\n", 0 },		/* "../../.." clamped at the root */
	{ "/../../../etc/passwd", "tree passwd\n", 0 },
	{ "/dir/../../dir/sub/../../etc/passwd", "tree passwd\n", 0 },
	{ "/dirlink/sub/file2", "file2\n", 0 },
	{ "/dirlink/../file", "hello\n", 0 },		/* ".." of where the link led */
	{ "/dirlink/", "DIR:dir", 0 },
	{ "/dir/sub/.", "DIR:dir/sub", 0 },
	{ "/dir/sub/..", "DIR:dir", 0 },
	{ "/", "DIR:.", 0 },
	{ "/..", "DIR:.", 0 },
	{ "/chain1", "hello\n", 0 },			/* exactly CHAIN links */
	{ "/chain0", NULL, -ELOOP },			/* one too many */
	{ "/loop1", NULL, -ELOOP },
	{ "/self", NULL, -ELOOP },
	{ "/self/x", NULL, -ELOOP },
	{ "/nope", NULL, -ENOENT },
	{ "/dir/nope/x", NULL, -ENOENT },
	{ "", NULL, -ENOENT },
	{ "/magic", NULL, -ENOENT },	/* "/proc/self/..." read as the tree's /proc */
	{ "/file/x", NULL, -ENOTDIR },
	{ "/file/", NULL, -ENOTDIR },
	{ "/filedir", NULL, -ENOTDIR },	/* a link to "file/" */
};

static void check_case(const char *how, int rootfd, const struct open_case *c, bool walker_only)
{
	char buf[64], where[128];
	struct stat st;
	int fd;

	fd = walker_only ? rootfs__open_at(rootfd, c->path, O_RDONLY)
			 : rootfs__open_in(rootfd, c->path, O_RDONLY);
	snprintf(where, sizeof(where), "%s \"%s\"", how, c->path);
	if (c->err) {
		CHECK_MSG(fd == c->err, "%s: got %d (%s), want %d (%s)", where, fd,
			  fd < 0 ? strerror(-fd) : "an fd", c->err, strerror(-c->err));
	} else if (!strncmp(c->want, "DIR:", 4)) {
		CHECK_MSG(fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) &&
			  st.st_ino == inode_of(c->want + 4),
			  "%s: got %d (%s), want the directory %s", where, fd,
			  fd < 0 ? strerror(-fd) : "an fd", c->want + 4);
	} else {
		CHECK_MSG(fd >= 0 && !strcmp(contents(fd, buf, sizeof(buf)), c->want),
			  "%s: got %d (%s), want \"%s\"", where, fd,
			  fd < 0 ? strerror(-fd) : buf, c->want);
	}
	if (fd >= 0) {
		/* always close-on-exec */
		CHECK_MSG(fcntl(fd, F_GETFD) & FD_CLOEXEC, "%s: no FD_CLOEXEC", where);
		close(fd);
	}
}

static bool kernel_has_openat2(void)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC };
	long fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));

	if (fd >= 0)
		close((int)fd);
	return fd >= 0 || errno != ENOSYS;
}

static void test_tree(void)
{
	size_t n = sizeof(cases) / sizeof(cases[0]);
	int rootfd, dirfd, fd;

	rootfd = open(tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK_MSG(rootfd >= 0, "open %s: %s", tree, strerror(errno));
	if (rootfd < 0)
		return;
	if (!kernel_has_openat2())
		printf("test_rootfs: note: no openat2 in this kernel: both runs use the walker\n");
	for (size_t i = 0; i < n; i++) {
		rootfs__force_walk(false);
		check_case("openat2", rootfd, &cases[i], false);
		rootfs__force_walk(true);
		check_case("forced walk", rootfd, &cases[i], false);
		check_case("walker", rootfd, &cases[i], true);
	}
	rootfs__force_walk(false);

	/* The same walk from an O_DIRECTORY (not O_PATH) root. */
	dirfd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(dirfd >= 0);
	fd = rootfs__open_at(dirfd, "/dir/esc", O_RDONLY);
	{
		char buf[64];

		CHECK_STR(fd >= 0 ? contents(fd, buf, sizeof(buf)) : "(error)", "tree passwd\n");
	}
	if (fd >= 0)
		close(fd);
	close(dirfd);

	/* Flags: O_PATH passes through; creating is refused. */
	for (int walk = 0; walk < 2; walk++) {
		rootfs__force_walk(walk);
		fd = rootfs__open_in(rootfd, "/abs", O_PATH);
		CHECK_MSG(fd >= 0, "walk=%d O_PATH: %d", walk, fd);
		if (fd >= 0) {
			struct stat st;

			CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
			      st.st_ino == inode_of("etc/passwd"));
			close(fd);
		}
		CHECK_U64(rootfs__open_in(rootfd, "/new", O_WRONLY | O_CREAT), (uint64_t)-EINVAL);
		CHECK_U64(rootfs__open_in(rootfd, "/dir", O_WRONLY | O_TMPFILE), (uint64_t)-EINVAL);
	}
	rootfs__force_walk(false);
	close(rootfd);
}

/* Through /proc/self/root, which is "/" here: opens of paths in the tree
 * work, in both modes, and a missing process is an error. */
static void test_proc_root(void)
{
	char path[PATH_MAX], buf[64];
	int fd;

	for (int walk = 0; walk < 2; walk++) {
		rootfs__force_walk(walk);
		snprintf(path, sizeof(path), "%s/dir/rel", tree);
		fd = rootfs__open(getpid(), path, O_RDONLY);
		CHECK_MSG(fd >= 0 && !strcmp(contents(fd, buf, sizeof(buf)), "hello\n"),
			  "walk=%d %s: %d", walk, path, fd);
		if (fd >= 0)
			close(fd);
		snprintf(path, sizeof(path), "%s/nope", tree);
		CHECK_U64(rootfs__open(getpid(), path, O_RDONLY), (uint64_t)-ENOENT);
	}
	rootfs__force_walk(false);
	CHECK_U64(rootfs__open(INT_MAX, "/", O_RDONLY), (uint64_t)-ENOENT);
}

static void test_fd_path(void)
{
	char path[PATH_MAX], want[32], buf[64], small[5];
	int fd, fd2;

	snprintf(path, sizeof(path), "%s/file", tree);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	rootfs__fd_path(fd, path, sizeof(path));
	snprintf(want, sizeof(want), "/proc/self/fd/%d", fd);
	CHECK_STR(path, want);
	fd2 = open(path, O_RDONLY | O_CLOEXEC);
	CHECK_MSG(fd2 >= 0 && !strcmp(contents(fd2, buf, sizeof(buf)), "hello\n"),
		  "reopen %s: %d", path, fd2);
	if (fd2 >= 0)
		close(fd2);
	rootfs__fd_path(fd, small, sizeof(small));
	CHECK_STR(small, "/pro");
	rootfs__fd_path(fd, small, 0);		/* no room: nothing written */
	close(fd);
}

/* NSpid of a process in a new PID namespace: it is 1 in there. Needs
 * CAP_SYS_ADMIN; skipped (with a note) without it. */
static void test_ns_pid_in_namespace(void)
{
	int up[2], hold[2];
	pid_t child, inner = 0;

	if (pipe2(up, O_CLOEXEC) || pipe2(hold, O_CLOEXEC)) {
		CHECK_MSG(0, "pipe: %s", strerror(errno));
		return;
	}
	child = fork();
	if (child == 0) {
		pid_t g;

		close(up[0]);
		close(hold[1]);
		if (unshare(CLONE_NEWPID))
			_exit(2);
		g = fork();		/* the first process of the namespace */
		if (g == 0) {
			char b;

			close(up[1]);
			while (read(hold[0], &b, 1) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		if (g > 0 && write(up[1], &g, sizeof(g)) != sizeof(g))
			_exit(3);
		close(up[1]);
		close(hold[0]);
		waitpid(g, NULL, 0);
		_exit(0);
	}
	close(up[1]);
	close(hold[0]);
	if (child < 0 || read(up[0], &inner, sizeof(inner)) != sizeof(inner)) {
		printf("test_rootfs: note: no new PID namespace here (%s): "
		       "namespace NSpid check skipped\n",
		       geteuid() ? "not root" : "unshare refused");
	} else {
		CHECK_U64(rootfs__ns_pid(inner, 0), 1);
		CHECK_U64(rootfs__ns_pid(inner, inner), 1);
		CHECK(inner != 1);
	}
	close(up[0]);
	close(hold[1]);		/* lets the inner process go */
	if (child > 0)
		waitpid(child, NULL, 0);
}

static void test_ns_pid(void)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);

	/* not in a nested namespace (relative to /proc): the same numbers */
	CHECK_U64(rootfs__ns_pid(getpid(), 0), getpid());
	CHECK_U64(rootfs__ns_pid(getpid(), tid), tid);
	CHECK_U64(rootfs__ns_pid(INT_MAX, 0), (uint64_t)-ENOENT);
	CHECK_U64(rootfs__ns_pid(getpid(), INT_MAX), (uint64_t)-ENOENT);
	test_ns_pid_in_namespace();
}

/* A chroot'd process (same mount namespace): /proc shows its files under
 * the directory it is chroot'd in, and rootfs__target_view takes the
 * paths back to its own view; our own paths pass unchanged. */
static void test_target_view(void)
{
	char out[PATH_MAX], seen[PATH_MAX + 32];
	int go[2];
	pid_t child;

	CHECK(rootfs__target_view(getpid(), "/usr/bin/python3", out, sizeof(out)) == 0);
	CHECK_STR(out, "/usr/bin/python3");
	CHECK(rootfs__target_view(getpid(), "/usr/bin/python3", out, 4) == -ENAMETOOLONG);
	if (pipe2(go, O_CLOEXEC)) {
		CHECK_MSG(0, "pipe: %s", strerror(errno));
		return;
	}
	child = fork();
	if (child == 0) {
		char b;

		close(go[1]);
		if (chroot(tree) || chdir("/"))
			_exit(2);
		while (read(go[0], &b, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(go[0]);
	usleep(100000);
	if (child < 0 || geteuid() != 0) {
		printf("test_rootfs: note: not root: chroot view check skipped\n");
	} else {
		snprintf(seen, sizeof(seen), "%s/usr/bin/python3", tree);
		CHECK(rootfs__target_view(child, seen, out, sizeof(out)) == 0);
		CHECK_STR(out, "/usr/bin/python3");
		/* a path outside its root, or a mere prefix match, unchanged */
		CHECK(rootfs__target_view(child, "/etc/passwd", out, sizeof(out)) == 0);
		CHECK_STR(out, "/etc/passwd");
		snprintf(seen, sizeof(seen), "%sX/usr/bin/python3", tree);
		CHECK(rootfs__target_view(child, seen, out, sizeof(out)) == 0);
		CHECK_STR(out, seen);
	}
	close(go[1]);
	if (child > 0)
		waitpid(child, NULL, 0);
}

int main(void)
{
	if (!mkdtemp(tree)) {
		perror("mkdtemp");
		return 1;
	}
	build_tree();
	test_tree();
	test_proc_root();
	test_fd_path();
	test_ns_pid();
	test_target_view();
	remove_tree();
	return check_summary("test_rootfs");
}
