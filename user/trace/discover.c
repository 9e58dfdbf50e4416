// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common.h"
#include "trace/discover.h"

/* One process seen by the last scan. */
struct seen {
	pid_t pid;
	dev_t dev;              /* its executable, as /proc/PID/exe resolves */
	ino_t ino;
	enum discover_verdict v;
	bool decided;           /* v holds (else: not Python-looking) */
	unsigned scans;         /* scans that saw it */
};

struct discover {
	struct discover_cfg cfg;
	pid_t *pids;            /* cfg.pids, owned */
	struct seen *s;         /* sorted by pid */
	size_t n, cap;
	pid_t self;
	unsigned long nscan;
	long last_pid;          /* the PID last handed out, at the last scan */
	bool have_execs;        /* execs: the count at the last recheck */
	uint64_t execs;
};

int discover__new(struct discover **out, const struct discover_cfg *cfg)
{
	struct discover *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	if (cfg->npids) {
		if (!(d->pids = malloc(cfg->npids * sizeof(pid_t)))) {
			free(d);
			return -ENOMEM;
		}
		memcpy(d->pids, cfg->pids, cfg->npids * sizeof(pid_t));
		d->cfg.pids = d->pids;
	}
	d->self = getpid();
	*out = d;
	return 0;
}

void discover__free(struct discover *d)
{
	if (!d)
		return;
	free(d->pids);
	free(d->s);
	free(d);
}

static struct seen *find(struct discover *d, pid_t pid)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (d->s[mid].pid == pid)
			return &d->s[mid];
		if (d->s[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void discover__forget(struct discover *d, pid_t pid)
{
	struct seen *e = find(d, pid);

	if (e)
		e->decided = false, e->dev = 0, e->ino = 0, e->scans = 0;
}

/* Read at most len-1 bytes of a /proc file. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n >= 0)
		buf[n] = 0;
	return n;
}

static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ')')))
		return 0;
	if (sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

static bool wanted(const struct discover *d, pid_t pid)
{
	if (d->cfg.all)
		return true;
	/* the named PIDs, and with --children their descendants (at most 64
	 * generations up) */
	for (int depth = 0; pid > 1 && depth < 64; depth++) {
		for (size_t i = 0; i < d->cfg.npids; i++)
			if (d->cfg.pids[i] == pid)
				return true;
		if (!d->cfg.children)
			return false;
		pid = parent_of(pid);
	}
	return false;
}

/* Does the process look like Python: its executable's name, or a mapped
 * libpython (an embedding host)? */
static bool looks_python(pid_t pid)
{
	char path[64], exe[512], buf[4096];
	ssize_t n;
	int fd;
	bool found = false;
	const char *base;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		base = strrchr(exe, '/');
		base = base ? base + 1 : exe;
		if (strstr(base, "python"))
			return true;
	}
	/* the maps, bounded: the first 1 MiB (a library mapped later than
	 * that is very unlikely) */
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	for (size_t total = 0; !found && total < (1u << 20);) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n <= 0)
			break;
		buf[n] = 0;
		total += (size_t)n;
		found = strstr(buf, "/libpython") != NULL;
	}
	close(fd);
	return found;
}

/* The PID the kernel handed out last in our namespace (/proc/loadavg's
 * last field), -1 unknown. Every new process takes a PID, so while it
 * stays the same no process is new. */
static long last_pid(void)
{
	char buf[128], *p;
	long v;

	if (read_small("/proc/loadavg", buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ' ')))
		return -1;
	v = strtol(p + 1, &p, 10);
	return *p == '\n' || !*p ? v : -1;
}

static int cmp_seen(const void *a, const void *b)
{
	pid_t x = ((const struct seen *)a)->pid, y = ((const struct seen *)b)->pid;

	return (x > y) - (x < y);
}

/* The next PID to look at: from /proc, or (dir NULL) from the last scan's
 * list. 0: no more. */
static pid_t next_pid(const struct discover *d, DIR *dir, size_t *i)
{
	struct dirent *de;

	if (!dir)
		return *i < d->n ? d->s[(*i)++].pid : 0;
	while ((de = readdir(dir))) {
		char *end;
		long v = strtol(de->d_name, &end, 10);

		if (!*end && v > 0 && (pid_t)v != d->self)
			return (pid_t)v;
	}
	return 0;
}

int discover__scan(struct discover *d, enum discover_verdict (*offer)(pid_t pid, void *ctx), void *ctx)
{
	struct seen *next = NULL;
	size_t n = 0, cap = 0, i = 0;
	int offered = 0;
	long pid_now = last_pid();
	bool recheck = d->nscan % DISCOVER_RECHECK == 0;
	uint64_t execs = 0;
	bool have_execs = d->cfg.execs && d->cfg.execs(d->cfg.execs_ctx, &execs) == 0;
	DIR *dir = NULL;
	pid_t pid;

	/* A known process's executable changes only by an exec: with none
	 * since the last recheck, this one has nothing to look at (read
	 * before the processes are, an exec during the scan shows next
	 * time). */
	if (recheck && have_execs && d->have_execs && execs == d->execs)
		recheck = false;
	if (recheck) {
		d->have_execs = have_execs;
		d->execs = execs;
	}
	/* Reading /proc visits every task of the host, threads included
	 * (~1 ms for 6,400 threads). Every new process takes a PID: while
	 * the last one handed out stays the same, the processes are those
	 * of the last scan less the ones that ended, and a scan that looks
	 * at none of them again goes over the last scan's list instead. */
	if (recheck || pid_now < 0 || pid_now != d->last_pid) {
		if (!(dir = opendir("/proc")))
			return -errno;
	}
	d->last_pid = pid_now;
	while ((pid = next_pid(d, dir, &i))) {
		struct seen *old, e = {};

		e.pid = pid;
		old = find(d, e.pid);
		/* A process seen often enough is looked at again (an exec
		 * replaces its executable) every DISCOVER_RECHECK-th scan
		 * only; a young one at every scan: a fork is often seen just
		 * before its exec. */
		if (old && old->scans >= DISCOVER_RECHECK && !recheck && !(old->decided && old->v == DISCOVER_RETRY)) {
			e = *old;
			goto keep;
		}
		if (!gs_exe_id(e.pid, &e.dev, &e.ino))   /* a kernel thread, or gone */
			continue;
		if (old && old->dev == e.dev && old->ino == e.ino && !(old->decided && old->v == DISCOVER_RETRY)) {
			e = *old;          /* nothing new about it */
		} else if (wanted(d, e.pid) && looks_python(e.pid)) {
			e.v = offer(e.pid, ctx);
			e.decided = true;
			offered++;
		} else {
			e.v = DISCOVER_REFUSED;   /* not ours, or not Python */
			e.decided = false;
		}
keep:
		e.scans = old ? old->scans + 1 : 1;
		if (gs_grow(&next, &cap, n + 1, sizeof(*next), 256)) {
			if (dir)
				closedir(dir);
			free(next);
			return -ENOMEM;
		}
		next[n++] = e;
	}
	if (dir)
		closedir(dir);
	d->nscan++;
	qsort(next, n, sizeof(*next), cmp_seen);
	free(d->s);
	d->s = next;
	d->n = n;
	d->cap = cap;
	return offered;
}
