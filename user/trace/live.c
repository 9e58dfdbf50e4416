// SPDX-License-Identifier: MIT
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "common.h"
#include "inspect/container.h"
#include "trace/detach.h"
#include "trace/discover.h"
#include "trace/live.h"
#include "trace/session.h"

/* /proc is scanned this often for new processes (-a, --children). */
#define LIVE_SCAN_NS 250000000ull

/* One traced process. */
struct live_sess {
	struct session s;
	struct live_proc p;
	int pidfd;
	dev_t exe_dev;          /* its executable at attach (/proc/PID/exe): */
	ino_t exe_ino;          /* another one means it exec'd */
	bool snapped;           /* p.cum_raw holds a snapshot */
	struct gs_result *cur;  /* the next snapshot's buffer (owns nothing
				   between two) */
};

struct live {
	struct live_cfg cfg;
	pid_t *pids;
	struct discover *d;
	struct tracer *tr;
	struct session_cfg scfg;
	struct live_sess *sess[GS_MAX_PROCS];
	size_t nsess;
	struct live_skip *skips;
	size_t nskips, capskips;
	struct live_frame frame;
	struct live_proc *fprocs[GS_MAX_PROCS];
	struct live_sess **ended;   /* keep_ended: sessions whose process ended */
	size_t nended, capended;
	struct session **all;       /* live__end_all's list */
	int epfd;                   /* every traced process's pidfd: a wake-up
				       costs the ended ones only, not a poll
				       of 64 pidfds ten times a second */
	uint64_t next_tick, last_tick;
	uint64_t next_scan;         /* -a, --children: /proc, between ticks too */
	double last_cpu_s;
};

static double now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return -1;
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void read_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (!(f = fopen(path, "r")))
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static void skip_drop(struct live *l, pid_t pid)
{
	for (size_t i = 0; i < l->nskips; i++)
		if (l->skips[i].pid == pid) {
			l->skips[i] = l->skips[--l->nskips];
			return;
		}
}

static void skip_add(struct live *l, pid_t pid, const char *reason)
{
	struct live_skip *k = NULL;

	for (size_t i = 0; i < l->nskips && !k; i++)
		if (l->skips[i].pid == pid)
			k = &l->skips[i];
	if (!k) {
		if (gs_grow(&l->skips, &l->capskips, l->nskips + 1, sizeof(*l->skips), 16))
			return;
		k = &l->skips[l->nskips++];
		memset(k, 0, sizeof(*k));
		k->pid = pid;
		read_comm(pid, k->comm, sizeof(k->comm));
		container__label(pid, k->container, sizeof(k->container));
	}
	snprintf(k->reason, sizeof(k->reason), "%s", reason);
}

/* Skipped processes that ended leave the list. */
static void skips_prune(struct live *l)
{
	for (size_t i = 0; i < l->nskips;)
		if (kill(l->skips[i].pid, 0) && errno == ESRCH)
			l->skips[i] = l->skips[--l->nskips];
		else
			i++;
}

/* How long a process has run, in seconds (-1 unknown). */
static double age_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start;
	FILE *f;
	double up = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &start) != 1)
		return -1;
	if ((f = fopen("/proc/uptime", "r"))) {
		if (fscanf(f, "%lf", &up) != 1)
			up = 0;
		fclose(f);
	}
	return up - (double)start / sysconf(_SC_CLK_TCK);
}

static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	int ppid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

/* Begin tracing pid. 0, or -errno with the reason in err. */
static int attach(struct live *l, pid_t pid, char *err, size_t errlen, int *exit_code)
{
	struct live_sess *x;
	int e;

	if (l->nsess >= GS_MAX_PROCS) {
		snprintf(err, errlen, "not traced yet: gilscope traces at most %d processes at once; it starts "
			 "when one of them ends", GS_MAX_PROCS);
		*exit_code = EXIT_SYSTEM;
		return -EMFILE;
	}
	if (!(x = calloc(1, sizeof(*x))))
		return -ENOMEM;
	x->s.cfg = &l->scfg;
	x->pidfd = -1;
	gs_exe_id(pid, &x->exe_dev, &x->exe_ino);   /* before: an exec after it shows as a change */
	e = session__begin(&x->s, pid);
	if (e) {
		snprintf(err, errlen, "%s", x->s.err);
		*exit_code = x->s.exit_code;
		if (x->s.live)
			session__end(&x->s);
		session__free(&x->s);
		free(x);
		return e;
	}
	x->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (x->pidfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)pid };

		if (l->epfd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, x->pidfd, &ev)) {
			close(x->pidfd);   /* watched by signal 0 instead */
			x->pidfd = -1;
		}
	}
	x->s.parent = parent_of(pid);
	x->p.pid = pid;
	snprintf(x->p.comm, sizeof(x->p.comm), "%.15s", x->s.pt.comm);
	snprintf(x->p.python, sizeof(x->p.python), "%s", x->s.pt.version);
	container__label(pid, x->p.container, sizeof(x->p.container));
	x->p.pt = &x->s.pt;
	x->p.attached_real_s = now_real();
	x->p.partial = true;
	l->sess[l->nsess++] = x;
	l->frame.attached_total++;
	skip_drop(l, pid);
	return 0;
}

static void end_sess(struct live *l, size_t i);
static void frame_lists(struct live *l);

static enum discover_verdict offer(pid_t pid, void *ctx)
{
	struct live *l = ctx;
	char err[512];
	int code = 0, e;

	/* Offered again while traced: discovery saw its executable change.
	 * A process that exec'd runs a new program (its GIL, its offsets):
	 * its window ends as if it had exited, and it is attached anew. */
	for (size_t i = 0; i < l->nsess; i++)
		if (l->sess[i]->p.pid == pid) {
			struct live_sess *x = l->sess[i];
			dev_t dev;
			ino_t ino;

			if (!gs_exe_id(pid, &dev, &ino) || (dev == x->exe_dev && ino == x->exe_ino))
				return DISCOVER_TRACED;
			gs_note("PID %d exec'd another program: its window ends, tracing starts again", pid);
			x->s.execd = true;
			end_sess(l, i);
			frame_lists(l);
			break;
		}
	uint64_t t0 = gs_mono_ns();

	e = attach(l, pid, err, sizeof(err), &code);
	if (!e)
		return DISCOVER_TRACED;
	gs_note("PID %d: not traced (%s, after %.1f ms): %s", pid, strerror(-e), (gs_mono_ns() - t0) / 1e6, err);
	if (e == -EMFILE) {
		skip_add(l, pid, err);
		return DISCOVER_RETRY;
	}
	/* just started: its runtime may not be there yet */
	if (e == -ENOEXEC) {
		double a = age_s(pid);

		if (a >= 0 && a < 3)
			return DISCOVER_RETRY;
	}
	if (kill(pid, 0) == 0)
		skip_add(l, pid, err);
	return DISCOVER_REFUSED;
}

static void sess_free(struct live_sess *x)
{
	free(x->cur);
	live_proc__free(&x->p);
	session__free(&x->s);
	if (x->pidfd >= 0)
		close(x->pidfd);
	free(x);
}

/* A traced process ended: its window closes, it leaves the frame. */
static void end_sess(struct live *l, size_t i)
{
	struct live_sess *x = l->sess[i];

	if (x->pidfd >= 0 && l->epfd >= 0)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, x->pidfd, NULL);
	session__end(&x->s);
	discover__forget(l->d, x->p.pid);
	l->sess[i] = l->sess[--l->nsess];
	l->frame.exited_total++;
	if (l->cfg.keep_ended && !gs_grow(&l->ended, &l->capended, l->nended + 1, sizeof(*l->ended), 16)) {
		l->ended[l->nended++] = x;
		return;
	}
	sess_free(x);
}

static int cmp_proc(const void *a, const void *b)
{
	pid_t x = (*(struct live_proc *const *)a)->pid, y = (*(struct live_proc *const *)b)->pid;

	return (x > y) - (x < y);
}

static int cmp_skip(const void *a, const void *b)
{
	pid_t x = ((const struct live_skip *)a)->pid, y = ((const struct live_skip *)b)->pid;

	return (x > y) - (x < y);
}

/* The frame's lists from the sessions (their figures are rebuilt at a
 * tick only). */
static void frame_lists(struct live *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->nsess; i++)
		if (l->sess[i]->snapped)
			l->fprocs[n++] = &l->sess[i]->p;
	qsort(l->fprocs, n, sizeof(l->fprocs[0]), cmp_proc);
	l->frame.procs = l->fprocs;
	l->frame.nprocs = n;
	if (l->nskips)
		qsort(l->skips, l->nskips, sizeof(*l->skips), cmp_skip);
	l->frame.skips = l->skips;
	l->frame.nskips = l->nskips;
}

/* Threads' names: from the previous snapshot, else (a new thread) from
 * /proc, once. */
static int cmp_tid_row(const void *a, const void *b)
{
	const struct thread_rec *x = a, *y = b;

	if (!x->merged != !y->merged)
		return x->merged ? 1 : -1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static void name_threads(pid_t pid, struct gs_result *cur, const struct gs_result *prev)
{
	/* both in threads__sort's order: one walk over prev */
	for (size_t i = 0, j = 0; i < cur->nthreads; i++) {
		struct thread_rec *t = &cur->threads[i];
		const struct thread_rec *p = NULL;
		char path[64];
		FILE *f;

		if (t->name[0] || t->merged)
			continue;
		while (prev && j < prev->nthreads && cmp_tid_row(&prev->threads[j], t) < 0)
			j++;
		if (prev && j < prev->nthreads && !cmp_tid_row(&prev->threads[j], t))
			p = &prev->threads[j];
		if (p && p->name[0]) {
			memcpy(t->name, p->name, sizeof(t->name));
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%u/comm", (int)pid, t->tid);
		if ((f = fopen(path, "r"))) {
			if (fgets(t->name, sizeof(t->name), f))
				t->name[strcspn(t->name, "\n")] = 0;
			fclose(f);
		}
	}
}

/* One process's new snapshot: the interval since its last one. */
/* Frees what r owns, and nothing else: r is written over next. */
static void result_drop(struct gs_result *r)
{
	free(r->threads);
	free(r->cpu);
	free(r->counts);
	free(r->stacks);
	free(r->codes);
	free(r->subgils);
}

static int snap_sess(struct live *l, struct live_sess *x, uint64_t start)
{
	/* The results are large (50 KB, mostly histograms) and there are 64
	 * of each: the snapshot goes to a buffer of the session's, the
	 * interval straight to iv_raw, and neither is cleared before it is
	 * written over. */
	struct gs_result *cur = x->cur;
	int e;

	if (!cur && !(cur = x->cur = malloc(sizeof(*cur))))
		return -ENOMEM;
	if ((e = tracer__snapshot(l->tr, x->s.slot, cur))) {
		result_drop(cur);
		return e;
	}
	name_threads(x->p.pid, cur, x->snapped ? &x->p.cum_raw : NULL);
	/* the switch interval, read from the target: every 10th interval */
	if (l->frame.seq % 10 == 0 || x->s.interval_us < 0)
		session__tick(&x->s);
	cur->interval_us = x->s.interval_us;
	cur->lim_start = x->s.lim_start;
	live_light_split(cur, x->snapped ? &x->p.cum_raw : NULL);
	/* the interval's figures only for a view that shows them (top) */
	if (l->cfg.views & LIVE_IV) {
		result_drop(&x->p.iv_raw);
		if ((e = live_diff(&x->p.iv_raw, cur, x->snapped ? &x->p.cum_raw : NULL))) {
			result_drop(cur);
			return e;
		}
	}
	x->p.partial = !x->snapped && cur->t0 > start;
	result_drop(&x->p.cum_raw);
	x->p.cum_raw = *cur;   /* what cur owned is cum_raw's now */
	x->snapped = true;
	return live_proc__build_some(&x->p, l->cfg.views ? l->cfg.views : LIVE_IV | LIVE_CUM);
}

static int tick(struct live *l, char *err, size_t errlen)
{
	uint64_t now = gs_mono_ns();
	double cpu;
	int e;

	uint64_t t[4] = { now, now, now, now };

	if (l->cfg.all || l->cfg.children) {
		skips_prune(l);
		discover__scan(l->d, offer, l);
		l->next_scan = gs_mono_ns() + LIVE_SCAN_NS;
	}
	t[1] = t[2] = gs_mono_ns();
	if (l->tr && l->nsess && l->cfg.views) {
		if ((e = tracer__sample(l->tr)))
			return gs_fail(err, errlen, e, "cannot read the BPF maps: %s", strerror(-e));
		t[2] = gs_mono_ns();
		for (size_t i = 0; i < l->nsess; i++)
			if ((e = snap_sess(l, l->sess[i], l->last_tick)))
				return gs_fail(err, errlen, e, "cannot read PID %d's figures: %s", l->sess[i]->p.pid,
					       strerror(-e));
	}
	t[3] = gs_mono_ns();
	gs_note("interval %llu: /proc scan %.2f ms, BPF maps read %.2f ms, figures %.2f ms (%zu processes)",
		(unsigned long long)l->frame.seq + 1, (t[1] - t[0]) / 1e6, (t[2] - t[1]) / 1e6, (t[3] - t[2]) / 1e6,
		l->nsess);
	l->frame.seq++;
	l->frame.start_s = l->last_tick / 1e9;
	l->frame.end_s = now / 1e9;
	l->frame.end_real_s = now_real();
	cpu = self_cpu_s();
	l->frame.self_cpu_pct = cpu >= 0 && l->last_cpu_s >= 0 && now > l->last_tick
					? 100.0 * (cpu - l->last_cpu_s) / ((now - l->last_tick) / 1e9) : -1;
	l->last_cpu_s = cpu;
	l->last_tick = now;
	frame_lists(l);
	return LIVE_TICK;
}

static int live_execs(void *ctx, uint64_t *n)
{
	const struct live *l = ctx;

	return tracer__execs(l->tr, n);
}

int live__open(struct live **out, const struct live_cfg *cfg, int *exit_code, char *err, size_t errlen)
{
	struct live *l = calloc(1, sizeof(*l));
	struct discover_cfg dc = { .all = cfg->all, .pids = cfg->pids, .npids = cfg->npids,
				   .children = cfg->children, .execs = live_execs, .execs_ctx = l };
	int e;

	*exit_code = EXIT_SYSTEM;
	if (!l)
		return -ENOMEM;
	l->cfg = *cfg;
	l->cfg.pids = NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->scfg = (struct session_cfg){ .children = true, .live = true, .light = cfg->light, .tr = &l->tr };
	l->frame.host_wide = cfg->all;
	l->frame.light = cfg->light;
	l->frame.max_procs = GS_MAX_PROCS;
	if ((e = discover__new(&l->d, &dc))) {
		if (l->epfd >= 0)
			close(l->epfd);
		free(l);
		return e;
	}
	for (size_t i = 0; i < cfg->npids; i++) {
		char why[512];

		if ((e = attach(l, cfg->pids[i], why, sizeof(why), exit_code))) {
			snprintf(err, errlen, "%s", why);
			live__close(l);
			return e;
		}
	}
	l->last_tick = gs_mono_ns();
	l->last_cpu_s = self_cpu_s();
	l->next_tick = l->last_tick + (uint64_t)(cfg->interval_s * 1e9);
	/* -a, --children: the processes running now */
	if (cfg->all || cfg->children)
		discover__scan(l->d, offer, l);
	frame_lists(l);
	*out = l;
	return 0;
}

int live__poll(struct live *l, int timeout_ms, char *err, size_t errlen)
{
	struct epoll_event ev[GS_MAX_PROCS];
	uint64_t now = gs_mono_ns();
	int wait_ms, n;

	uint64_t due = l->next_tick;

	if ((l->cfg.all || l->cfg.children) && l->next_scan < due)
		due = l->next_scan;
	/* rounded up: rounded down, the last millisecond before a scan or a
	 * tick was a busy loop of zero-timeout waits */
	wait_ms = now >= due ? 0 : (int)((due - now + 999999) / 1000000);
	if (wait_ms > timeout_ms)
		wait_ms = timeout_ms;
	n = l->epfd >= 0 ? epoll_wait(l->epfd, ev, GS_MAX_PROCS, wait_ms) : poll(NULL, 0, wait_ms);
	if (n < 0 && errno != EINTR)
		return gs_fail(err, errlen, -errno, "poll: %s", strerror(errno));
	if (n > 0 && l->epfd >= 0) {
		bool ended = false;

		for (int k = 0; k < n; k++)
			for (size_t i = l->nsess; i-- > 0;)
				if (l->sess[i]->p.pid == (pid_t)ev[k].data.u32) {
					end_sess(l, i);
					ended = true;
					break;
				}
		if (ended) {
			frame_lists(l);
			return LIVE_CHANGED;
		}
	}
	/* processes without a pidfd (old kernels): by signal 0 */
	for (size_t i = l->nsess; i-- > 0;)
		if (l->sess[i]->pidfd < 0 && kill(l->sess[i]->p.pid, 0) && errno == ESRCH) {
			end_sess(l, i);
			frame_lists(l);
			return LIVE_CHANGED;
		}
	now = gs_mono_ns();
	if (now < l->next_tick) {
		/* between ticks: new processes are attached (they join the
		 * frame at the next tick) */
		if ((l->cfg.all || l->cfg.children) && now >= l->next_scan) {
			discover__scan(l->d, offer, l);
			l->next_scan = gs_mono_ns() + LIVE_SCAN_NS;
		}
		return LIVE_NOTHING;
	}
	while (l->next_tick <= now)
		l->next_tick += (uint64_t)(l->cfg.interval_s * 1e9);
	return tick(l, err, errlen);
}

const struct live_frame *live__frame(const struct live *l)
{
	return &l->frame;
}

size_t live__ntraced(const struct live *l)
{
	return l->nsess;
}

size_t live__end_all(struct live *l, struct session ***out)
{
	size_t n = 0;

	/* the report's tracing cost: one trap's price on this machine */
	if (l->tr && l->nsess)
		tracer__time_trap(l->tr);
	free(l->all);
	if (!(l->all = calloc(l->nsess + l->nended + 1, sizeof(*l->all)))) {
		*out = NULL;
		return 0;
	}
	for (size_t i = 0; i < l->nsess; i++) {
		if (l->sess[i]->s.live)
			session__end(&l->sess[i]->s);
		l->all[n++] = &l->sess[i]->s;
	}
	for (size_t i = 0; i < l->nended; i++)
		l->all[n++] = &l->ended[i]->s;
	*out = l->all;
	return n;
}

void live__close(struct live *l)
{
	if (!l)
		return;
	for (size_t i = l->nsess; i-- > 0;) {
		if (l->sess[i]->s.live)
			session__end(&l->sess[i]->s);
		sess_free(l->sess[i]);
	}
	for (size_t i = 0; i < l->nended; i++)
		sess_free(l->ended[i]);
	free(l->ended);
	free(l->all);
	/* the uprobes of ended windows detach in the background: done before
	 * their object goes */
	reaper__wait();
	tracer__free(l->tr);
	discover__free(l->d);
	free(l->pids);
	free(l->skips);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l);
}
