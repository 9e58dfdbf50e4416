// SPDX-License-Identifier: MIT
/* Tests for user/trace/launch.c: real children under ptrace (needs permission to
 * ptrace one's own children, which any user has unless Yama forbids it). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace/launch.h"

static int checks_passed, checks_failed;

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (cond) {                                                   \
			checks_passed++;                                      \
		} else {                                                      \
			checks_failed++;                                      \
			fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, \
				__LINE__, #cond);                             \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
		}                                                             \
	} while (0)

#define MAX_CALLS 16

/* What at_entry saw at each call, and how it should answer. */
struct seen {
	int calls;
	pid_t pid;
	char exe[MAX_CALLS][PATH_MAX];
	bool has_needle[MAX_CALLS];	/* maps contained maps_needle */
	char state[MAX_CALLS];		/* /proc/PID/stat state: 't' = traced */
	const char *maps_needle;	/* NULL: don't look at maps */
	const char *accept_exe;		/* accept when exe is this path */
	bool accept_needle;		/* accept when maps hold the needle */
	int ret_other;			/* answer when not accepting */
};

static bool file_contains(const char *path, const char *needle)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* comm may contain spaces and parens */
	return p && p[1] == ' ' ? p[2] : '?';
}

static int record(pid_t pid, void *ctx)
{
	struct seen *s = ctx;
	char path[64];
	ssize_t n;
	int i = s->calls++;

	s->pid = pid;
	if (i >= MAX_CALLS)
		return -E2BIG;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, s->exe[i], sizeof(s->exe[i]) - 1);
	s->exe[i][n > 0 ? n : 0] = '\0';
	s->state[i] = proc_state(pid);
	if (s->maps_needle) {
		snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
		s->has_needle[i] = file_contains(path, s->maps_needle);
	}

	if (s->accept_exe && strcmp(s->exe[i], s->accept_exe) == 0)
		return 1;
	if (s->accept_needle && s->has_needle[i])
		return 1;
	return s->ret_other;
}

static void resolve(const char *path, char *out)
{
	if (!realpath(path, out))
		snprintf(out, PATH_MAX, "%s", path);
}

/* Reap pid; returns its wait status or -1. */
static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

static bool exited_with(int st, int code)
{
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == code;
}

/* (a) Accept the first image: 0, the child runs on, we reap it. */
static void test_true(void)
{
	char *argv[] = { "/bin/true", NULL };
	char want[PATH_MAX];
	struct seen s = { 0 };
	pid_t pid = -1;
	int err, st = -1;

	resolve("/bin/true", want);
	s.accept_exe = want;
	err = launch__start(argv, record, &s, &pid, &st);
	CHECK(err == 0, "launch /bin/true: %d", err);
	CHECK(s.calls == 1, "calls %d", s.calls);
	CHECK(strcmp(s.exe[0], want) == 0, "exe '%s' want '%s'", s.exe[0], want);
	CHECK(s.state[0] == 't', "state at entry '%c'", s.state[0]);
	CHECK(pid == s.pid && pid > 0, "pid %d, at_entry saw %d", pid, s.pid);
	if (err == 0) {
		st = reap(pid);
		CHECK(exited_with(st, 0), "status 0x%x", st);
	}
}

/* (b) Skip the shell, accept what it execs. */
static void test_sh_exec(void)
{
	char *argv[] = { "sh", "-c", "exec /bin/echo hi >/dev/null", NULL };
	char sh[PATH_MAX], echo[PATH_MAX];
	struct seen s = { 0 };
	pid_t pid = -1;
	int err, st = -1;

	resolve("/bin/sh", sh);
	resolve("/bin/echo", echo);
	s.accept_exe = echo;
	err = launch__start(argv, record, &s, &pid, &st);
	CHECK(err == 0, "launch sh -c exec echo: %d", err);
	CHECK(s.calls == 2, "calls %d", s.calls);
	CHECK(strcmp(s.exe[0], sh) == 0, "first exe '%s' want '%s'", s.exe[0], sh);
	CHECK(strcmp(s.exe[1], echo) == 0, "second exe '%s' want '%s'", s.exe[1], echo);
	CHECK(s.state[1] == 't', "state at entry '%c'", s.state[1]);
	if (err == 0) {
		st = reap(pid);
		CHECK(exited_with(st, 0), "status 0x%x", st);
	}
}

/* (c) argv reaches the program byte for byte. */
static void test_args(void)
{
	char file[] = "/tmp/test_launch.XXXXXX";
	char script[PATH_MAX + 64], got[256];
	char *argv[] = { "/bin/sh", "-c", script, "sh", "a b", "", "\xc3\xbc",
			 "*", "$HOME", NULL };
	const char want[] = "a b\n\n\xc3\xbc\n*\n$HOME\n";
	struct seen s = { .ret_other = 1 };
	pid_t pid = -1;
	int fd, err, st = -1;
	size_t n = 0;
	FILE *f;

	fd = mkstemp(file);
	CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
	if (fd < 0)
		return;
	close(fd);
	snprintf(script, sizeof(script), "printf '%%s\\n' \"$@\" > %s", file);

	err = launch__start(argv, record, &s, &pid, &st);
	CHECK(err == 0, "launch sh printf: %d", err);
	if (err == 0) {
		st = reap(pid);
		CHECK(exited_with(st, 0), "status 0x%x", st);
	}
	f = fopen(file, "re");
	if (f) {
		n = fread(got, 1, sizeof(got) - 1, f);
		fclose(f);
	}
	got[n] = '\0';
	CHECK(n == sizeof(want) - 1 && memcmp(got, want, n) == 0,
	      "args came out as '%s'", got);
	unlink(file);
}

/* (d) Commands that cannot be exec'd: the exec errno, at_entry untouched. */
static void test_exec_errors(void)
{
	char *missing[] = { "/nonexistent/gilscope-no-such-command", NULL };
	char *missing_path[] = { "gilscope-no-such-command", NULL };
	char *noexec[] = { "/etc/passwd", NULL };
	struct seen s = { .ret_other = 1 };
	pid_t pid = -1;
	int err, st = -1;

	err = launch__start(missing, record, &s, &pid, &st);
	CHECK(err == -ENOENT, "missing absolute path: %d", err);
	err = launch__start(missing_path, record, &s, &pid, &st);
	CHECK(err == -ENOENT, "missing PATH command: %d", err);
	if (geteuid() != 0 || access("/etc/passwd", X_OK) != 0) {
		err = launch__start(noexec, record, &s, &pid, &st);
		CHECK(err == -EACCES, "non-executable file: %d", err);
	}
	CHECK(s.calls == 0, "at_entry called %d times", s.calls);
	CHECK(pid == -1, "pid set on failure: %d", pid);
	CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD,
	      "a child was left behind");
}

/* The child exits before any image is accepted: -ECHILD and its status. */
static void test_exit_before_accept(void)
{
	char *argv[] = { "sh", "-c", "exit 3", NULL };
	char *fork_argv[] = { "sh", "-c", "/bin/true; exit 4", NULL };
	char truth[PATH_MAX];
	struct seen s = { 0 }, f = { 0 };
	pid_t pid = -1;
	int err, st = -1;

	err = launch__start(argv, record, &s, &pid, &st);
	CHECK(err == -ECHILD, "sh exit 3: %d", err);
	CHECK(exited_with(st, 3), "status 0x%x", st);
	CHECK(s.calls == 1, "calls %d", s.calls);

	/* A child the shell forks is not traced, so never offered. */
	resolve("/bin/true", truth);
	f.accept_exe = truth;
	st = -1;
	err = launch__start(fork_argv, record, &f, &pid, &st);
	CHECK(err == -ECHILD, "sh forking true: %d", err);
	CHECK(exited_with(st, 4), "status 0x%x", st);
	CHECK(f.calls == 1, "calls %d (forked child offered?)", f.calls);
	CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD,
	      "a child was left behind");
}

/* Signals the traced child gets are delivered to it, and the caller's
 * blocked mask does not leak into it. */
static void test_signals(void)
{
	char *trap[] = { "sh", "-c", "trap 'exit 9' USR1; kill -USR1 $$; exit 5", NULL };
	char *dfl[] = { "sh", "-c", "kill -USR1 $$; exit 5", NULL };
	struct seen s = { 0 };
	sigset_t usr1, old;
	pid_t pid = -1;
	int err, st = -1;

	err = launch__start(trap, record, &s, &pid, &st);
	CHECK(err == -ECHILD, "sh trap: %d", err);
	CHECK(exited_with(st, 9), "trap status 0x%x (signal lost?)", st);

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old);
	st = -1;
	err = launch__start(dfl, record, &s, &pid, &st);
	sigprocmask(SIG_SETMASK, &old, NULL);
	CHECK(err == -ECHILD, "sh kill self: %d", err);
	CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1,
	      "status 0x%x (mask inherited?)", st);
}

/* at_entry aborting: its error comes back and the child is gone. */
static void test_abort(void)
{
	char *argv[] = { "/bin/sleep", "30", NULL };
	struct seen s = { .ret_other = -EPERM };
	pid_t pid = -1;
	int err, st = -1;

	err = launch__start(argv, record, &s, &pid, &st);
	CHECK(err == -EPERM, "abort: %d", err);
	CHECK(s.calls == 1, "calls %d", s.calls);
	CHECK(s.pid > 0 && kill(s.pid, 0) == -1 && errno == ESRCH,
	      "child %d still exists", s.pid);
}

/* (e) A shared-libpython interpreter: libpython is mapped at entry. */
static void test_pyenv_python(void)
{
	const char *py = "/root/.pyenv/versions/3.11.7/bin/python3.11";
	char *argv[] = { (char *)py, "-c", "import sys; sys.exit(7)", NULL };
	struct seen s = { .maps_needle = "libpython3.11.so.1.0" };
	pid_t pid = -1;
	int err, st = -1;

	if (access(py, X_OK) != 0) {
		printf("test_launch: skip: no %s\n", py);
		return;
	}
	s.accept_exe = py;
	err = launch__start(argv, record, &s, &pid, &st);
	CHECK(err == 0, "launch python3.11: %d", err);
	CHECK(s.calls == 1, "calls %d", s.calls);
	CHECK(s.has_needle[0], "libpython3.11.so.1.0 not mapped at entry");
	if (err == 0) {
		st = reap(pid);
		CHECK(exited_with(st, 7), "status 0x%x", st);
	}
}

/* (f) A pyenv shim: bash scripts exec each other, then the interpreter. */
static void test_pyenv_shim(void)
{
	const char *shim = "/root/.pyenv/shims/python3";
	char *argv[] = { (char *)shim, "-c", "pass", NULL };
	struct seen s = { .maps_needle = "libpython", .accept_needle = true };
	pid_t pid = -1;
	int err, st = -1, last;

	if (access(shim, X_OK) != 0) {
		printf("test_launch: skip: no %s\n", shim);
		return;
	}
	err = launch__start(argv, record, &s, &pid, &st);
	CHECK(err == 0, "launch shim: %d (status 0x%x)", err, st);
	CHECK(s.calls >= 2, "calls %d", s.calls);
	last = s.calls > 0 ? s.calls - 1 : 0;
	CHECK(s.has_needle[last], "last image '%s' has no libpython", s.exe[last]);
	CHECK(strstr(s.exe[last], "python") != NULL, "accepted '%s'", s.exe[last]);
	if (err == 0) {
		st = reap(pid);
		CHECK(exited_with(st, 0), "status 0x%x", st);
	}
}

int main(void)
{
	test_true();
	test_sh_exec();
	test_args();
	test_exec_errors();
	test_exit_before_accept();
	test_signals();
	test_abort();
	test_pyenv_python();
	test_pyenv_shim();

	if (checks_failed) {
		fprintf(stderr, "test_launch: %d of %d checks failed\n",
			checks_failed, checks_passed + checks_failed);
		return 1;
	}
	printf("test_launch: %d checks passed\n", checks_passed);
	return 0;
}
