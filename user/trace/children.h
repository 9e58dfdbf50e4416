/* SPDX-License-Identifier: MIT */
/* --children: one session per Python process in the target's tree (up to
 * GS_MAX_PROCS at once with the target; more are listed as skipped), begun
 * when the process is found (running at attach, forked, or exec'd into
 * CPython) and ended when it exits or the recording stops. */
#ifndef GS_CHILDREN_H
#define GS_CHILDREN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "model/family.h"
#include "trace/session.h"

struct child_event {
	int kind;                  /* enum gs_proc_event_kind, 0 running at attach */
	pid_t pid, ppid;
	uint64_t ts;
};

#define GS_CHILD_RETRIES 64
#define GS_CHILD_RETRY_NS 2000000000ull  /* how long after its exec a process may become CPython */

struct children {
	pid_t root;
	const struct session_cfg *cfg;
	struct proctree *tree;
	struct session **s;        /* every session begun, in order */
	size_t n, cap;
	struct child_skip *skip;
	size_t nskip, capskip;
	uint64_t preexec_dropped;  /* empty sessions of images replaced by exec */
	struct child_event *pend;  /* events not handled yet */
	size_t npend, cappend;
	struct child_event retry[GS_CHILD_RETRIES]; /* not CPython yet after an exec */
	size_t nretry;
};

int children__start(struct children *c, pid_t root, const struct session_cfg *cfg,
		    char *err, size_t errlen);
/* Handle pending process events; waits up to timeout_ms. */
int children__poll(struct children *c, int timeout_ms);
/* Processes to try again soon (not CPython yet right after an exec). */
int children__retrying(const struct children *c);
/* Readable (poll) when process events are pending; -1 if none. */
int children__fd(const struct children *c);
/* Close every open window (end of the recording). */
void children__end_all(struct children *c);
/* Processes the tree lost (map or ring buffer full). */
uint64_t children__lost(const struct children *c);
void children__free(struct children *c);

#endif
