/* SPDX-License-Identifier: MIT */
/* Slow teardown in the background. Detaching a uprobe makes the kernel
 * wait for a grace period (~0.1 s each on this kernel): a process's
 * uprobes are detached off the main loop, so following a process tree
 * never stalls, and at the end all of them go at once, in parallel. */
#ifndef GS_REAPER_H
#define GS_REAPER_H

/* Run fn(arg) in a background thread (right away if none can start). */
void reaper__run(void (*fn)(void *), void *arg);
/* Wait until every job handed over has run. */
void reaper__wait(void);

#endif
