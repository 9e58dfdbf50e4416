/* SPDX-License-Identifier: MIT */
/* Launch mode: start a command and stop it where the CPython runtime is
 * mapped but has not run yet, so probes are in place before the first
 * Python instruction. */
#ifndef GS_LAUNCH_H
#define GS_LAUNCH_H

#include <sys/types.h>

/* Called each time the child stops at the entry point (AT_ENTRY) of a newly
 * exec'd image: at that point ld.so has mapped all DT_NEEDED libraries
 * (libpython included) but no code of the program has run.
 * Return 1 to accept (the child is then detached and resumes), 0 to let it
 * run on to its next exec (e.g. a shell wrapper or pyenv shim) or to an
 * executable mapping of a file named like a Python runtime (an embedding
 * program that dlopen()s libpython), where at_entry is called again; or a
 * negative errno to abort (the child is killed). */
typedef int (*launch_at_entry_fn)(pid_t pid, void *ctx);

/* fork + exec argv[0] (PATH search as execvp) with argv unchanged, traced.
 * The child keeps gilscope's stdin/stdout/stderr, environment and process
 * group. On success returns 0, sets *pid, and the child is running
 * untraced after at_entry accepted it.
 * Errors: -ENOENT / -EACCES etc. when the command cannot be executed (the
 * child's exec failed); -ECHILD when the child exited before any image was
 * accepted (its wait status in *status); or at_entry's negative return. */
int launch__start(char *const argv[], launch_at_entry_fn at_entry, void *ctx,
		  pid_t *pid, int *status);

#endif
