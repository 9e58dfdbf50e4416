/* SPDX-License-Identifier: MIT */
/* Which processes a live view traces: those named (-p, with --children
 * their descendants) or every CPython process on the host (-a), found by
 * scanning /proc (four times a second; /proc itself is read only when a
 * PID was handed out since, or at every DISCOVER_RECHECK-th scan when a
 * process may have exec'd since the last one). A process is offered again
 * only when its executable changes (an exec) or it is forgotten (it
 * ended). */
#ifndef GS_DISCOVER_H
#define GS_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A process seen by this many scans is looked at again only every
 * DISCOVER_RECHECK-th scan (exec detection), and then only if there was
 * an exec since (when cfg.execs knows); a younger one at each. */
#define DISCOVER_RECHECK 4

struct discover_cfg {
	bool all;               /* -a */
	const pid_t *pids;      /* -p */
	size_t npids;
	bool children;          /* and the descendants of pids */
	/* execs on the host so far (0), or not known (-errno): known, the
	 * processes seen before are looked at again only after an exec */
	int (*execs)(void *ctx, uint64_t *n);
	void *execs_ctx;
};

/* What the caller decided about a candidate. */
enum discover_verdict {
	DISCOVER_TRACED,        /* traced now: not offered again until forgotten */
	DISCOVER_REFUSED,       /* cannot be traced: not offered again until its exe changes */
	DISCOVER_RETRY,         /* offer again at the next scan */
};

struct discover;

int discover__new(struct discover **out, const struct discover_cfg *cfg);
/* Scan /proc: offer(pid, ctx) for every process that may run Python
 * (its executable or a mapped library is named python*) and is not yet
 * decided. Returns the number offered, or -errno. */
int discover__scan(struct discover *d, enum discover_verdict (*offer)(pid_t pid, void *ctx), void *ctx);
/* A traced process ended (or its PID must be looked at afresh). */
void discover__forget(struct discover *d, pid_t pid);
void discover__free(struct discover *d);

#endif
