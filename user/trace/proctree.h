/* SPDX-License-Identifier: MIT */
/* --children: the target's process tree, followed in BPF (bpf/proctree.bpf.c).
 * Reports descendants already running at attach, then every fork, exec
 * and exit of a followed process, in order. */
#ifndef GS_PROCTREE_H_USER
#define GS_PROCTREE_H_USER

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <proctree.h> /* bpf/proctree.h ("proctree.h" would be this file) */

struct proctree;

/* kind: enum gs_proc_event_kind, or 0 for a descendant running at attach. */
/* ts: the event's CLOCK_MONOTONIC ns (0 for kind 0). */
typedef void (*proctree_cb)(int kind, pid_t pid, pid_t ppid, uint64_t ts, void *ctx);

/* Start following root's tree. Descendants already running are reported
 * through cb (kind 0) before it returns. 0 or -errno with err set. */
int proctree__open(pid_t root, proctree_cb cb, void *ctx, struct proctree **out,
		   char *err, size_t errlen);
/* Deliver pending events (waits up to timeout_ms). */
int proctree__poll(struct proctree *t, int timeout_ms);
/* A descriptor that polls readable when events are pending. */
int proctree__fd(const struct proctree *t);
/* Processes that could not be followed (map full) or events dropped. */
uint64_t proctree__lost(const struct proctree *t);
void proctree__free(struct proctree *t);

/* Parent PID of pid from /proc/PID/stat; -errno if it is gone. */
int proc_ppid(pid_t pid, pid_t *ppid);

#endif
