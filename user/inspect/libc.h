/* SPDX-License-Identifier: MIT */
/* Which C library a process runs on, and whether --light can trace it.
 *
 * --light (bpf/light.bpf.h) sees a contended GIL through the futex calls on
 * words inside the GIL's struct. glibc's condition variables and mutexes
 * keep their futex words inside the pthread_cond_t / pthread_mutex_t
 * (docs/light-mode.md); musl's condition variable makes each waiter wait
 * on a word of its own, on its stack, so none of its calls is on the
 * GIL's addresses. */
#ifndef GS_LIBC_H
#define GS_LIBC_H

#include <stddef.h>
#include <sys/types.h>
#include "inspect/procmaps.h"
#include "inspect/pytarget.h"

enum gs_libc { GS_LIBC_UNKNOWN = 0, GS_LIBC_GLIBC, GS_LIBC_MUSL };

/* The C library mapped in m: its loader's or library's file name. */
enum gs_libc libc__of_maps(const struct proc_maps *m);
/* ... in process pid's /proc/PID/maps (UNKNOWN when unreadable). */
enum gs_libc libc__of(pid_t pid);

/* Why --light cannot trace pt (a one-line reason in buf, returned), or
 * NULL when it can. */
const char *libc__light_refusal(const struct py_target *pt, enum gs_libc libc, char *buf, size_t len);

#endif
