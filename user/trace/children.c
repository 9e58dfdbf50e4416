// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common.h"
#include "trace/children.h"
#include "trace/proctree.h"

static struct session *find_live(struct children *c, pid_t pid)
{
	for (size_t i = c->n; i-- > 0;)
		if (c->s[i]->pt.pid == pid && c->s[i]->live)
			return c->s[i];
	return NULL;
}

static struct child_skip *skip_find(struct children *c, pid_t pid)
{
	for (size_t i = 0; i < c->nskip; i++)
		if (c->skip[i].pid == pid)
			return &c->skip[i];
	return NULL;
}

/* Record (or update) why pid is not traced. */
static void skip(struct children *c, pid_t pid, pid_t parent, const char *why)
{
	struct child_skip *k = skip_find(c, pid);

	if (!k) {
		if (gs_grow(&c->skip, &c->capskip, c->nskip + 1, sizeof(*c->skip), 16))
			return;
		k = &c->skip[c->nskip++];
		memset(k, 0, sizeof(*k));
		k->pid = pid;
		k->parent = parent;
	}
	gs_read_comm(pid, k->comm, sizeof(k->comm));
	snprintf(k->reason, sizeof(k->reason), "%s", why);
}

static void unskip(struct children *c, pid_t pid)
{
	struct child_skip *k = skip_find(c, pid);

	if (k)
		*k = c->skip[--c->nskip];
}

static pid_t parent_of(struct children *c, pid_t pid)
{
	struct child_skip *k = skip_find(c, pid);
	pid_t pp = 0;

	for (size_t i = c->n; i-- > 0;)
		if (c->s[i]->pt.pid == pid)
			return c->s[i]->parent;
	if (k)
		return k->parent;
	return proc_ppid(pid, &pp) ? 0 : pp;
}

static void retry_add(struct children *c, pid_t pid, pid_t parent, uint64_t ts)
{
	for (size_t i = 0; i < c->nretry; i++)
		if (c->retry[i].pid == pid)
			return;
	if (c->nretry < GS_CHILD_RETRIES)
		c->retry[c->nretry++] = (struct child_event){ GS_PE_EXEC, pid, parent, ts };
}

static void begin(struct children *c, pid_t pid, pid_t parent, uint64_t ts)
{
	struct session *s;
	int e;

	if (pid == c->root || find_live(c, pid))
		return;
	if (gs_grow(&c->s, &c->cap, c->n + 1, sizeof(*c->s), 8))
		return;
	if (!(s = calloc(1, sizeof(*s))))
		return;
	s->cfg = c->cfg;
	s->parent = parent;
	e = session__begin(s, pid);
	if (e) {
		/* Not CPython (yet): right after an exec the dynamic loader
		 * has not mapped libpython yet (try again for a while), and
		 * a later exec may still make it one. */
		if (e == -ENOEXEC && ts)
			retry_add(c, pid, parent, ts);
		skip(c, pid, parent, e == -ENOEXEC ? "not a CPython process" : s->err);
		gs_note("child %d not traced: %s", (int)pid, s->err);
		session__end(s);              /* frees its slot if it got one */
		session__free(s);
		free(s);
		return;
	}
	unskip(c, pid);
	if (ts)
		gs_note("child %d (parent %d): tracing CPython %s, window open %.1f ms after its fork or exec", (int)pid, (int)parent,
			s->pt.version, (tracer__t0(*c->cfg->tr, s->slot) - ts) / 1e6);
	else
		gs_note("child %d (parent %d): tracing CPython %s", (int)pid, (int)parent, s->pt.version);
	c->s[c->n++] = s;
}

static uint64_t complete_holds(const struct gs_result *res)
{
	uint64_t n = 0;

	for (size_t i = 0; i < res->nthreads; i++)
		n += res->threads[i].st.holds + res->threads[i].st.waits;
	return n;
}

/* An image an exec replaced within this long of its window's start is the
 * fork half of a fork+exec (multiprocessing's spawn, subprocess): dropped
 * even if a GIL hold was seen in it (seen under load on 3.12's forkserver
 * start: one hold in a 7.5 ms window), and counted in
 * preexec_images_dropped. */
#define PREEXEC_MAX_NS (50 * 1000000ull)

/* Close pid's window; drop it when it ran no Python of its own (the image
 * an exec replaced right after a fork, e.g. multiprocessing's spawn: at
 * most the hold inherited at the fork, cut by the exec). */
static void end(struct children *c, pid_t pid, bool replaced)
{
	struct session *s = find_live(c, pid);

	if (!s)
		return;
	session__end(s);
	if (replaced && s->done &&
	    (!complete_holds(&s->res) || s->res.t1 - s->res.t0 < PREEXEC_MAX_NS)) {
		for (size_t i = 0; i < c->n; i++)
			if (c->s[i] == s) {
				memmove(&c->s[i], &c->s[i + 1], (c->n - i - 1) * sizeof(*c->s));
				c->n--;
				break;
			}
		session__free(s);
		free(s);
		c->preexec_dropped++;
	}
}

static void handle(struct children *c, int kind, pid_t pid, pid_t ppid, uint64_t ts)
{
	switch (kind) {
	case 0:
	case GS_PE_FORK:
		begin(c, pid, ppid, ts);
		break;
	case GS_PE_EXEC:
		if (pid == c->root)
			break;
		ppid = parent_of(c, pid);
		end(c, pid, true);
		begin(c, pid, ppid, ts);
		break;
	case GS_PE_EXIT:
		if (pid == c->root)
			break;
		end(c, pid, false);
		{
			struct child_skip *k = skip_find(c, pid);

			/* a process that never ran CPython stays listed as such */
			if (k && !k->exited) {
				k->exited = true;
				strncat(k->reason, " (exited)", sizeof(k->reason) - strlen(k->reason) - 1);
			}
		}
		break;
	}
}

/* Events are queued while the ring buffer drains, then handled with
 * look-ahead: a fork followed by an exec (multiprocessing's spawn) is
 * traced once, after the exec; a process already gone is not begun. */
static void on_event(int kind, pid_t pid, pid_t ppid, uint64_t ts, void *ctx)
{
	struct children *c = ctx;

	if (gs_grow(&c->pend, &c->cappend, c->npend + 1, sizeof(*c->pend), 64)) {
		handle(c, kind, pid, ppid, ts);
		return;
	}
	c->pend[c->npend++] = (struct child_event){ kind, pid, ppid, ts };
}

static void handle_pending(struct children *c)
{
	for (size_t i = 0; i < c->npend; i++) {
		struct child_event *e = &c->pend[i];
		int later = 0;

		if (e->kind == 0 || e->kind == GS_PE_FORK || e->kind == GS_PE_EXEC)
			for (size_t j = i + 1; j < c->npend && !later; j++)
				if (c->pend[j].pid == e->pid && c->pend[j].kind != GS_PE_FORK)
					later = c->pend[j].kind;
		if (later == GS_PE_EXEC) {
			if (e->kind == GS_PE_EXEC)        /* the image is replaced again */
				end(c, e->pid, true);
			/* remember the parent for the exec that follows */
			for (size_t j = i + 1; j < c->npend; j++)
				if (c->pend[j].pid == e->pid && !c->pend[j].ppid)
					c->pend[j].ppid = e->ppid;
			continue;
		}
		if (later == GS_PE_EXIT && e->kind != GS_PE_EXEC && !find_live(c, e->pid)) {
			skip(c, e->pid, e->ppid, "exited before it could be traced");
			continue;
		}
		if (e->kind == GS_PE_EXEC && e->ppid)
			handle(c, GS_PE_FORK, e->pid, e->ppid, e->ts);
		else
			handle(c, e->kind, e->pid, e->ppid, e->ts);
	}
	c->npend = 0;
}

int children__start(struct children *c, pid_t root, const struct session_cfg *cfg,
		    char *err, size_t errlen)
{
	int e;

	memset(c, 0, sizeof(*c));
	c->root = root;
	c->cfg = cfg;
	e = proctree__open(root, on_event, c, &c->tree, err, errlen);
	handle_pending(c);
	return e;
}

/* Processes that were not CPython yet right after their fork or exec:
 * tried again until GS_CHILD_RETRY_NS after the event. */
static void retry_pending(struct children *c)
{
	size_t n = c->nretry;
	struct child_event v[GS_CHILD_RETRIES];
	uint64_t now = gs_mono_ns();

	memcpy(v, c->retry, n * sizeof(v[0]));
	c->nretry = 0;
	for (size_t i = 0; i < n; i++) {
		struct child_skip *k = skip_find(c, v[i].pid);

		if (!k || k->exited || find_live(c, v[i].pid))
			continue;                 /* traced meanwhile, or gone */
		if (now - v[i].ts > GS_CHILD_RETRY_NS) {
			gs_note("child %d: still not CPython %.0f ms after its exec", (int)v[i].pid,
				(now - v[i].ts) / 1e6);
			continue;
		}
		begin(c, v[i].pid, v[i].ppid, v[i].ts);   /* re-queues itself on failure */
	}
}

int children__poll(struct children *c, int timeout_ms)
{
	int e = c->tree ? proctree__poll(c->tree, timeout_ms) : 0;

	handle_pending(c);
	retry_pending(c);
	return e;
}

int children__retrying(const struct children *c)
{
	return c->nretry > 0;
}

int children__fd(const struct children *c)
{
	return c->tree ? proctree__fd(c->tree) : -1;
}

void children__end_all(struct children *c)
{
	children__poll(c, 0);
	for (size_t i = 0; i < c->n; i++)
		session__end(c->s[i]);
}

uint64_t children__lost(const struct children *c)
{
	return c->tree ? proctree__lost(c->tree) : 0;
}

void children__free(struct children *c)
{
	for (size_t i = 0; i < c->n; i++) {
		session__free(c->s[i]);
		free(c->s[i]);
	}
	free(c->s);
	free(c->skip);
	free(c->pend);
	proctree__free(c->tree);
	memset(c, 0, sizeof(*c));
}
