// SPDX-License-Identifier: MIT
/* The live model (model/live.c): the interval between two snapshots of a
 * process, as top shows it; and the container labels of live views
 * (inspect/container.c). Inputs built by hand, every figure checked
 * against them. */
#include <stdlib.h>
#include <unistd.h>
#include "check.h"
#include "inspect/container.h"
#include "model/live.h"
#include "model/threads.h"

static void add_thread(struct gs_result *r, uint32_t tid, uint64_t held, uint64_t native, uint64_t holds,
		       bool exited)
{
	struct thread_rec *t = threads__add(r);

	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->st.ns[GS_HELD_ON] = held;
	t->st.ns[GS_NOGIL_ON] = native;
	t->st.holds = holds;
	t->st.hold_ns = held;
	t->exited = exited;
	t->st.exited = exited;
	snprintf(t->name, sizeof(t->name), "t%u", tid);
}

static void result(struct gs_result *r, uint64_t t0, uint64_t t1)
{
	memset(r, 0, sizeof(*r));
	r->t0 = t0;
	r->t1 = t1;
	r->ncpus = 2;
	r->cpu = calloc(2, sizeof(*r->cpu));
	r->interval_us = 5000;
	r->live = true;
}

static void test_diff(void)
{
	struct gs_result prev, cur, iv;
	struct py_target pt;
	struct live_proc p;

	memset(&pt, 0, sizeof(pt));
	/* attach at 1 s; snapshots at 2 s and 3 s */
	result(&prev, 1000000000ull, 2000000000ull);
	add_thread(&prev, 10, 600000000, 100000000, 60, false);
	add_thread(&prev, 11, 300000000, 0, 30, true);      /* exited before 2 s */
	prev.counters[GS_C_ACQUIRES] = 90;
	prev.counters[GS_C_CONTENDED_NS] = 500000000;
	prev.hist[GS_HIST_HOLD][gs_hist_slot(5000000)] = 90;
	prev.cpu[0].with_gil_ns = 900000000;
	prev.inflight_hold_ns = 2000000;
	threads__sort(&prev);

	result(&cur, 1000000000ull, 3000000000ull);
	add_thread(&cur, 10, 1500000000, 150000000, 150, false);
	add_thread(&cur, 11, 300000000, 0, 30, true);       /* nothing new */
	add_thread(&cur, 12, 50000000, 0, 5, false);        /* new in (2 s, 3 s] */
	cur.counters[GS_C_ACQUIRES] = 245;
	cur.counters[GS_C_CONTENDED_NS] = 1400000000;
	cur.hist[GS_HIST_HOLD][gs_hist_slot(5000000)] = 245;
	cur.cpu[0].with_gil_ns = 1850000000;
	cur.inflight_hold_ns = 1000000;                     /* smaller: one ended */
	threads__sort(&cur);

	CHECK(live_diff(&iv, &cur, &prev) == 0);
	CHECK_U64(iv.t0, 2000000000ull);
	CHECK_U64(iv.t1, 3000000000ull);
	CHECK_U64(iv.counters[GS_C_ACQUIRES], 155);
	CHECK_U64(iv.counters[GS_C_CONTENDED_NS], 900000000);
	CHECK_U64(iv.hist[GS_HIST_HOLD][gs_hist_slot(5000000)], 155);
	CHECK_U64(iv.cpu[0].with_gil_ns, 950000000);
	CHECK_U64(iv.inflight_hold_ns, 0);                  /* never negative */
	/* the exited thread with nothing new leaves; the new one counts whole */
	CHECK_U64(iv.nthreads, 2);
	CHECK_U64(iv.threads[0].tid, 10);
	CHECK_U64(iv.threads[0].st.ns[GS_HELD_ON], 900000000);
	CHECK_U64(iv.threads[0].st.ns[GS_NOGIL_ON], 50000000);
	CHECK_U64(iv.threads[0].st.holds, 90);
	CHECK_U64(iv.threads[1].tid, 12);
	CHECK_U64(iv.threads[1].st.ns[GS_HELD_ON], 50000000);
	CHECK(!strcmp(iv.threads[1].name, "t12"));

	/* the interval's figures: held 0.95 s of 1 s, contended 90% */
	memset(&p, 0, sizeof(p));
	p.pt = &pt;
	p.iv_raw = iv;
	CHECK(live_diff(&p.cum_raw, &cur, NULL) == 0);
	CHECK(live_proc__build(&p) == 0);
	CHECK_MSG(p.iv.held_pct > 94.99 && p.iv.held_pct < 95.01, "held %.3f", p.iv.held_pct);
	CHECK_MSG(p.iv.contended_pct > 89.99 && p.iv.contended_pct < 90.01, "contended %.3f", p.iv.contended_pct);
	CHECK_MSG(p.iv.window_s > 0.999 && p.iv.window_s < 1.001, "window %.3f", p.iv.window_s);
	CHECK_U64(p.iv.hold.count, 155);
	/* since attach: 2 s, 1.85 s held of it */
	CHECK_MSG(p.cum.window_s > 1.999 && p.cum.window_s < 2.001, "window %.3f", p.cum.window_s);
	CHECK_MSG(p.cum.held_s > 1.849 && p.cum.held_s < 1.851, "held_s %.3f", p.cum.held_s);
	/* live figures carry no prediction */
	CHECK(p.cum.prediction.advice == NULL);
	live_proc__build_some(&p, LIVE_IV);
	CHECK(p.cum.threads == NULL && p.iv.threads != NULL);
	live_proc__free(&p);
	gs_result__free(&prev);
	gs_result__free(&cur);
}

/* --light: a thread's on-CPU time split by each interval's ticks, not by
 * the share of all ticks since attach. */
static void ticks(struct gs_result *r, uint32_t tid, uint32_t n, uint32_t held)
{
	for (size_t i = 0; i < r->nthreads; i++)
		if (r->threads[i].tid == tid) {
			r->threads[i].st.light_ticks = n;
			r->threads[i].st.light_ticks_held = held;
		}
}

#define MS 1000000ull

static void test_light_split(void)
{
	struct gs_result a, b, c, iv;
	struct py_target pt;
	struct live_proc p;

	memset(&pt, 0, sizeof(pt));
	/* (0, 1 s]: 1 s on-CPU (accounted 0.3 held), half its 100 ticks held */
	result(&a, 0, 1000 * MS);
	a.light = true;
	add_thread(&a, 10, 300 * MS, 700 * MS, 0, false);
	add_thread(&a, 11, 40 * MS, 60 * MS, 0, false);     /* never a tick: as accounted */
	threads__sort(&a);
	ticks(&a, 10, 100, 50);
	live_light_split(&a, NULL);
	CHECK(a.light_split);
	CHECK_U64(a.threads[0].st.ns[GS_HELD_ON], 500 * MS);
	CHECK_U64(a.threads[0].st.ns[GS_NOGIL_ON], 500 * MS);
	CHECK_U64(a.threads[1].st.ns[GS_HELD_ON], 40 * MS);
	live_light_split(&a, NULL);                          /* once only */
	CHECK_U64(a.threads[0].st.ns[GS_HELD_ON], 500 * MS);

	/* (1, 2 s]: 1 s more, its 50 ticks all held: 1.5 s held in all (the
	 * share since attach, 100 of 150 ticks, would say 1.33 s) */
	result(&b, 0, 2000 * MS);
	b.light = true;
	add_thread(&b, 10, 500 * MS, 1500 * MS, 0, false);  /* raw, as the snapshot reads it */
	add_thread(&b, 11, 40 * MS, 60 * MS, 0, false);
	threads__sort(&b);
	ticks(&b, 10, 150, 100);
	live_light_split(&b, &a);
	CHECK_U64(b.threads[0].st.ns[GS_HELD_ON], 1500 * MS);
	CHECK_U64(b.threads[0].st.ns[GS_NOGIL_ON], 500 * MS);

	/* (2, 3 s]: 0.6 s more and no tick: split by its share so far (2/3);
	 * thread 12 is new, split by its own ticks (3 of 4) */
	result(&c, 0, 3000 * MS);
	c.light = true;
	add_thread(&c, 10, 900 * MS, 1700 * MS, 0, false);
	add_thread(&c, 11, 40 * MS, 60 * MS, 0, false);
	add_thread(&c, 12, 0, 400 * MS, 0, false);
	threads__sort(&c);
	ticks(&c, 10, 150, 100);
	ticks(&c, 12, 4, 3);
	live_light_split(&c, &b);
	CHECK_U64(c.threads[0].st.ns[GS_HELD_ON], 1900 * MS);
	CHECK_U64(c.threads[0].st.ns[GS_NOGIL_ON], 700 * MS);
	CHECK_U64(c.threads[2].st.ns[GS_HELD_ON], 300 * MS);

	/* the interval (2, 3 s] and the figures since attach, not split again */
	CHECK(live_diff(&iv, &c, &b) == 0);
	CHECK_U64(iv.threads[0].st.ns[GS_HELD_ON], 400 * MS);
	CHECK_U64(iv.threads[0].st.ns[GS_NOGIL_ON], 200 * MS);
	memset(&p, 0, sizeof(p));
	p.pt = &pt;
	p.iv_raw = iv;
	CHECK(live_diff(&p.cum_raw, &c, NULL) == 0);
	CHECK(live_proc__build(&p) == 0);
	CHECK_MSG(p.cum.held_s > 2.2399 && p.cum.held_s < 2.2401, "held_s %.4f", p.cum.held_s);
	/* 0.4 s of thread 10, thread 12 new: whole */
	CHECK_MSG(p.iv.held_s > 0.6999 && p.iv.held_s < 0.7001, "interval held_s %.4f", p.iv.held_s);
	live_proc__free(&p);
	gs_result__free(&a);
	gs_result__free(&b);
	gs_result__free(&c);
}

static void test_container(void)
{
	char b[64];

	container__from_cgroup("/system.slice/docker-4f1c2a7b9e3d4c5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a.scope",
			       b, sizeof(b));
	CHECK_MSG(!strcmp(b, "4f1c2a7b9e3d"), "docker (systemd): '%s'", b);
	container__from_cgroup("/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", b, sizeof(b));
	CHECK_MSG(!strcmp(b, "0123456789ab"), "docker (cgroupfs): '%s'", b);
	container__from_cgroup("/machine.slice/libpod-aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999.scope/container",
			       b, sizeof(b));
	CHECK_MSG(!strcmp(b, "aaaabbbbcccc"), "podman: '%s'", b);
	container__from_cgroup("/kubepods.slice/kubepods-pod1234.slice/cri-containerd-"
			       "feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface.scope", b, sizeof(b));
	CHECK_MSG(!strcmp(b, "feedfacefeed"), "containerd: '%s'", b);
	container__from_cgroup("/user.slice/user-0.slice/session-3.scope", b, sizeof(b));
	CHECK_MSG(!strcmp(b, ""), "a host session: '%s'", b);
	container__from_cgroup("/", b, sizeof(b));
	CHECK_MSG(!strcmp(b, ""), "the root: '%s'", b);
	container__from_cgroup("/docker/abc", b, sizeof(b));   /* too short for an ID */
	CHECK_MSG(!strcmp(b, ""), "short: '%s'", b);
	container__from_cgroup("/system.slice/docker-4f1c2a7b9e3d4c5a6b7c8d9e0f1a2b3c.scope", b, 5);
	CHECK_MSG(!strcmp(b, "4f1c"), "truncated to the buffer: '%s'", b);
	/* this process: on the host */
	CHECK(container__label(getpid(), b, sizeof(b)) == 0);
	CHECK_MSG(!strcmp(b, ""), "self: '%s'", b);
}

int main(void)
{
	test_diff();
	test_light_split();
	test_container();
	return check_summary("live");
}
