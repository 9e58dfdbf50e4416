// SPDX-License-Identifier: MIT
/* Launch mode: run a command under ptrace until the image holding the
 * CPython runtime is mapped, let the caller attach probes, then let go.
 *
 * For every image the child execs:
 *   PTRACE_EVENT_EXEC stop   the kernel has mapped the program and its ELF
 *                            interpreter (ld.so); no user code has run, so
 *                            DT_NEEDED libraries (libpython) are not mapped
 *   int3 planted at AT_ENTRY ld.so maps the libraries, relocates, runs
 *                            their constructors, then jumps to the entry
 *   SIGTRAP at entry         restore the byte, rewind the pc, ask at_entry:
 *                            accept (detach), skip (wait for the next
 *                            exec: shells, pyenv shims, env) or abort.
 *
 * The child is attached with PTRACE_SEIZE rather than PTRACE_TRACEME so
 * that job-control stops can be told apart from signals (PTRACE_EVENT_STOP)
 * and kept stopped with PTRACE_LISTEN, as they would be without us.
 * PTRACE_O_TRACEFORK/CLONE are deliberately not set: processes the child
 * forks (e.g. a shell running a non-exec'd command) run untraced. */
#include <errno.h>
#include <fcntl.h>
#include <linux/auxvec.h>	/* AT_ENTRY, AT_NULL; <elf.h> is shadowed by user/inspect/elf.h */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace/launch.h"

/* ---- Architecture specifics: everything that depends on the ISA. ---- */
#if defined(__x86_64__)
/* int3 is one byte, so it never straddles the next instruction. */
#define BP_INSN		0xcc
/* int3 is a trap: the reported pc is one past the breakpoint. */
#define BP_PC_AFTER	1
/* do_int3_user() raises SIGTRAP via force_sig(), i.e. with SI_KERNEL;
 * a SIGTRAP sent by kill() or tgkill() carries SI_USER / SI_TKILL. */
#define BP_SI_CODE	SI_KERNEL

static unsigned long regs_pc(const struct user_regs_struct *r)
{
	return r->rip;
}

static void regs_set_pc(struct user_regs_struct *r, unsigned long pc)
{
	r->rip = pc;
}

/* At a syscall-exit stop: an mmap that succeeded with PROT_EXEC, and the
 * fd it mapped (mmap(addr, len, prot, flags, fd, off): rdx = prot, r8 =
 * fd; rax = the result, -ENOSYS at the entry stop). */
static bool regs_exec_mmap(const struct user_regs_struct *r, int *fd)
{
	long ret = (long)r->rax;

	if (r->orig_rax != 9 /* __NR_mmap */ || ret == -ENOSYS || (ret < 0 && ret > -4096) ||
	    !(r->rdx & 4 /* PROT_EXEC */) || (long)r->r8 < 0)
		return false;
	*fd = (int)r->r8;
	return true;
}
#else
#error "launch.c: only x86-64 is supported (int3 breakpoint, rip)"
#endif
/* ---- End of architecture specifics. ---- */

struct tracee {
	pid_t pid;
	unsigned long bp_addr;	/* 0: no breakpoint planted */
	unsigned char bp_orig;	/* the byte BP_INSN replaced */
	/* The image at entry was not CPython: it may load it later with
	 * dlopen (an embedding program). Until its next exec, syscall stops
	 * watch for an executable mapping of a file named like a Python
	 * runtime, and offer the process again there. */
	bool watch_mmap;
};

/* A word of tracee text, addressed bytewise so that byte 0 is the byte at
 * the peeked address whatever the endianness. */
union text_word {
	long word;
	unsigned char bytes[sizeof(long)];
};

static int wait_child(pid_t pid, int *st)
{
	for (;;) {
		if (waitpid(pid, st, 0) == pid)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* Used on every failure path once the child exists: with
 * PTRACE_O_EXITKILL it would die with us anyway, but the caller may live
 * on and must not inherit a zombie or a stopped tracee. */
static void kill_and_reap(pid_t pid)
{
	int st;

	kill(pid, SIGKILL);
	while (wait_child(pid, &st) == 0 && !WIFEXITED(st) && !WIFSIGNALED(st))
		;
}

static bool watching;	/* the tracee's watch_mmap: resume() with PTRACE_SYSCALL */

static int resume(pid_t pid, int sig)
{
	if (ptrace(watching ? PTRACE_SYSCALL : PTRACE_CONT, pid, NULL, (void *)(long)sig) < 0)
		return -errno;
	return 0;
}

/* Is fd of pid a file whose name says it may be a Python runtime
 * ("libpython3.14.so.1.0")? The offer that follows checks for real. */
static bool fd_is_pythonish(pid_t pid, int fd)
{
	char link[64], path[4096];
	const char *base;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = 0;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return strstr(base, "python") != NULL;
}

/* Child side: wait until the parent has seized us, then exec. Only
 * async-signal-safe calls: the parent may have threads. */
static void __attribute__((noreturn))
child_exec(char *const argv[], int go_fd, int err_fd)
{
	sigset_t none;
	ssize_t n;
	char go;
	int e;

	do
		n = read(go_fd, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)	/* the parent died or gave up before seizing us */
		_exit(127);

	/* gilscope may block signals for its own event loop (signalfd);
	 * the mask survives exec, and the target must not inherit it. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	execvp(argv[0], argv);

	/* err_fd is O_CLOEXEC: the parent reads EOF after a successful exec
	 * and our errno after a failed one. */
	e = errno;
	n = write(err_fd, &e, sizeof(e));
	(void)n;
	_exit(127);
}

/* The errno the child's execvp failed with, or 0 if it exec'd. Only valid
 * once the child has exited (the write end is closed then). */
static int exec_error(int err_fd)
{
	ssize_t n;
	int e;

	do
		n = read(err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(e) && e > 0 ? -e : 0;
}

/* AT_ENTRY of the image just exec'd: the runtime entry address (PIE load
 * bias applied) where control lands after ld.so is done. Parsing assumes
 * native 64-bit auxv pairs; a 32-bit (ia32/x32) image stores 32-bit pairs,
 * in which no 64-bit pair reads as (AT_ENTRY, x), so such an image yields
 * -ENOENT and is simply not offered to at_entry. */
static int read_entry(pid_t pid, unsigned long *entry)
{
	unsigned long auxv[512];	/* kernel keeps ~50 pairs; plenty */
	size_t len = 0, i;
	char path[64];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < sizeof(auxv)) {
		n = read(fd, (char *)auxv + len, sizeof(auxv) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	if (err)
		return err;

	for (i = 0; i + 1 < len / sizeof(auxv[0]); i += 2) {
		if (auxv[i] == AT_NULL)
			break;
		if (auxv[i] == AT_ENTRY) {
			*entry = auxv[i + 1];
			return 0;
		}
	}
	return -ENOENT;
}

/* PTRACE_POKETEXT writes through the tracee's read-only text mapping
 * (FOLL_FORCE), which /proc/PID/mem may refuse on hardened kernels
 * (proc_mem.force_override). */
static int bp_plant(struct tracee *t, unsigned long addr)
{
	union text_word w;

	errno = 0;
	w.word = ptrace(PTRACE_PEEKTEXT, t->pid, (void *)addr, NULL);
	if (errno)
		return -errno;
	t->bp_orig = w.bytes[0];
	w.bytes[0] = BP_INSN;
	if (ptrace(PTRACE_POKETEXT, t->pid, (void *)addr, (void *)w.word) < 0)
		return -errno;
	t->bp_addr = addr;
	return 0;
}

/* Restore the original byte and rewind the pc onto it. The word is read
 * again rather than saved whole at plant time: ld.so may have rewritten
 * neighbouring bytes in between (text relocations). */
static int bp_remove(struct tracee *t, struct user_regs_struct *regs)
{
	union text_word w;

	errno = 0;
	w.word = ptrace(PTRACE_PEEKTEXT, t->pid, (void *)t->bp_addr, NULL);
	if (errno)
		return -errno;
	w.bytes[0] = t->bp_orig;
	if (ptrace(PTRACE_POKETEXT, t->pid, (void *)t->bp_addr, (void *)w.word) < 0)
		return -errno;
	regs_set_pc(regs, t->bp_addr);
	if (ptrace(PTRACE_SETREGS, t->pid, NULL, regs) < 0)
		return -errno;
	t->bp_addr = 0;
	return 0;
}

/* Is this SIGTRAP signal-delivery-stop our int3 firing? */
static int bp_hit(struct tracee *t, struct user_regs_struct *regs, bool *hit)
{
	siginfo_t si;

	*hit = false;
	if (!t->bp_addr)
		return 0;
	if (ptrace(PTRACE_GETSIGINFO, t->pid, NULL, &si) < 0)
		return -errno;
	if (ptrace(PTRACE_GETREGS, t->pid, NULL, regs) < 0)
		return -errno;
	*hit = si.si_code == BP_SI_CODE &&
	       regs_pc(regs) == t->bp_addr + BP_PC_AFTER;
	return 0;
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

int launch__start(char *const argv[], launch_at_entry_fn at_entry, void *ctx,
		  pid_t *pid, int *status)
{
	int go[2] = { -1, -1 }, ep[2] = { -1, -1 };
	struct tracee t = { 0 };
	struct user_regs_struct regs;
	int err, st, sig, event, ret;
	bool hit;

	if (!argv || !argv[0] || !at_entry)
		return -EINVAL;

	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		err = -errno;
		goto cleanup;
	}

	t.pid = fork();
	if (t.pid < 0) {
		err = -errno;
		goto cleanup;
	}
	if (t.pid == 0) {
		/* Without our copy of the write end, read() sees EOF if the
		 * parent dies before releasing us. */
		close(go[1]);
		close(ep[0]);
		child_exec(argv, go[0], ep[1]);
	}

	close(go[0]);
	close(ep[1]);
	go[0] = ep[1] = -1;

	/* Seize before releasing the child so its first exec is seen. */
	watching = false;
	if (ptrace(PTRACE_SEIZE, t.pid, NULL,
		   (void *)(long)(PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD)) < 0) {
		err = -errno;
		goto kill;
	}
	if (write(go[1], "g", 1) != 1) {
		err = -errno;
		goto kill;
	}
	close(go[1]);
	go[1] = -1;

	for (;;) {
		err = wait_child(t.pid, &st);
		if (err)
			goto kill;

		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			err = exec_error(ep[0]);
			if (!err)
				err = -ECHILD;
			if (status)
				*status = st;
			goto cleanup;	/* already reaped */
		}
		if (!WIFSTOPPED(st))
			continue;

		sig = WSTOPSIG(st);
		event = (unsigned int)st >> 16;

		switch (event) {
		case PTRACE_EVENT_EXEC: {
			unsigned long entry;

			/* A new mm: any breakpoint of the old image is gone. */
			t.bp_addr = 0;
			t.watch_mmap = watching = false;
			err = read_entry(t.pid, &entry);
			if (!err)
				err = bp_plant(&t, entry);
			/* No entry point (e.g. a 32-bit image): let it run to
			 * its next exec without offering it. */
			if (err && err != -ENOENT && err != -ESRCH)
				goto kill;
			err = resume(t.pid, 0);
			break;
		}
		case PTRACE_EVENT_STOP:
			/* Group-stop (job control): stay stopped as an untraced
			 * process would, until SIGCONT. Otherwise a ptrace
			 * notification stop: just continue. */
			if (is_stop_signal(sig))
				err = ptrace(PTRACE_LISTEN, t.pid, NULL, NULL) < 0 ? -errno : 0;
			else
				err = resume(t.pid, 0);
			break;
		case 0:
			if (sig == (SIGTRAP | 0x80)) {
				/* Syscall stop (watch_mmap): a runtime mapped now? */
				int fd;

				if (ptrace(PTRACE_GETREGS, t.pid, NULL, &regs) < 0) {
					err = -errno;
					break;
				}
				if (!regs_exec_mmap(&regs, &fd) || !fd_is_pythonish(t.pid, fd)) {
					err = resume(t.pid, 0);
					break;
				}
				goto offer;
			}
			/* Signal-delivery-stop. */
			hit = false;
			if (sig == SIGTRAP) {
				err = bp_hit(&t, &regs, &hit);
				if (err)
					break;
			}
			if (!hit) {
				/* Not ours: deliver it as if we were not here. */
				err = resume(t.pid, sig);
				break;
			}
			err = bp_remove(&t, &regs);
			if (err)
				break;
offer:
			ret = at_entry(t.pid, ctx);
			if (ret < 0) {
				err = ret;
				goto kill;
			}
			if (ret > 0) {
				/* Detaching with signal 0 discards the SIGTRAP. */
				if (ptrace(PTRACE_DETACH, t.pid, NULL, NULL) < 0) {
					err = -errno;
					break;
				}
				if (pid)
					*pid = t.pid;
				err = 0;
				watching = false;
				goto cleanup;
			}
			/* not CPython at its entry: watch for a runtime it
			 * loads itself, until its next exec */
			t.watch_mmap = watching = true;
			err = resume(t.pid, 0);
			break;
		default:
			/* No other events are enabled; don't get stuck. */
			err = resume(t.pid, 0);
			break;
		}

		/* ESRCH: the tracee died under us (SIGKILL from elsewhere);
		 * the next wait reports how. */
		if (err && err != -ESRCH)
			goto kill;
	}

kill:
	if (t.pid > 0)
		kill_and_reap(t.pid);
cleanup:
	if (go[0] >= 0)
		close(go[0]);
	if (go[1] >= 0)
		close(go[1]);
	if (ep[0] >= 0)
		close(ep[0]);
	if (ep[1] >= 0)
		close(ep[1]);
	return err;
}
