/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* --light: the GIL traced with no uprobe, included by gil.bpf.c.
 *
 * An uncontended GIL cycle never enters the kernel, and it is not what
 * makes a GIL a bottleneck. Everything that does goes through futex calls
 * on words inside the GIL's own struct (glibc keeps a condition variable's
 * futex word inside it; see docs/light-mode.md):
 *   a waiter blocks        futex wait on gil->cond      -> on_contended
 *   it is woken            its futex wait returns       -> on_acquired,
 *                          unless the GIL is taken again (read `locked`)
 *   a release with waiters futex wake on gil->cond      -> on_released,
 *                          forced if the drop request is set (as in exact
 *                          mode); last_holder is the releaser's tstate
 *   a forced releaser      futex wait on switch_cond: nothing new
 *   the new holder         futex wake on switch_cond    -> it holds
 * So waits, hand-offs, forced releases and the holds between two hand-offs
 * are timed as exactly as by the uprobes (within the microsecond between
 * the futex call and the line of take_gil/drop_gil the uprobes mark).
 *
 * What no futex call marks, a thread taking or releasing a GIL nobody
 * waits for, is found by reading the GIL's `locked` and `last_holder` from
 * the target's memory at the thread's switch-outs and at the CPU-sampling
 * ticks (light_observe): the hold is then timed to that observation
 * (GS_C_LIGHT_UNSEEN), and its time counts, but it stays out of the hold
 * histogram.
 *
 * A thread's PyThreadState is learned at its contended releases (drop_gil
 * stores it in last_holder first), from the seed at attach, or, for a
 * thread on-CPU while the GIL is held by a thread state no known thread
 * has, at a tick (the holder is running: when it is the only candidate
 * seen on a CPU, it is this one). */

#define GS_FUTEX_WAIT 0
#define GS_FUTEX_WAKE 1
#define GS_FUTEX_WAKE_OP 5
#define GS_FUTEX_WAIT_BITSET 9
#define GS_FUTEX_WAKE_BITSET 10
#define GS_FUTEX_CMD_MASK 0x7f      /* without FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME */
#define GS_ETIMEDOUT 110

/* Where in the GIL's struct (bpf/pyoffsets.h) a futex word lies. */
enum gs_gil_word { GS_W_NONE = 0, GS_W_COND, GS_W_MUTEX, GS_W_SWITCH_COND, GS_W_SWITCH_MUTEX };
#define GS_GIL_MUTEX_OFF 80
#define GS_GIL_SWITCH_MUTEX_OFF 168
#define GS_GIL_SIZE 208

/* Thread states known by their PyThreadState, per process: which thread
 * a tick may take for the holder (gs_slot_key(slot, tstate) -> TID). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u32);
} light_tstates SEC(".maps");

/* The calling thread's TID as its own PID namespace numbers it: what
 * glibc records as a mutex's owner. */
static __always_inline __s32 ns_tid(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};

	if (level > 31)
		return -1;
	bpf_probe_read_kernel(&up, sizeof(up), &pid->numbers[level]);
	return up.nr;
}

/* glibc's mutex owner (struct __pthread_mutex_s: __lock, __count, __owner):
 * drop_gil signals the cond holding the GIL's mutex; a waiter inside
 * pthread_cond_timedwait that passes on a signal it should not have taken
 * (after a time-out) makes the same call without it. */
#define GS_MUTEX_OWNER_OFF 8
static __always_inline int holds_gil_mutex(const struct gs_proc *p, struct task_struct *task)
{
	__s32 owner = 0;

	if (bpf_probe_read_user(&owner, sizeof(owner), (void *)(p->gil_addr + GS_GIL_MUTEX_OFF + GS_MUTEX_OWNER_OFF)))
		return 1;       /* unknown: take it for drop_gil's */
	return owner == ns_tid(task);
}

static __always_inline int gil_word(const struct gs_proc *p, __u64 a)
{
	__u64 g = p->gil_addr, off;

	if (!g || a < g + GS_GIL_COND_OFF || a >= g + GS_GIL_SIZE)
		return GS_W_NONE;
	off = a - g;
	return off < GS_GIL_MUTEX_OFF ? GS_W_COND :
	       off < GS_GIL_SWITCH_COND_OFF ? GS_W_MUTEX :
	       off < GS_GIL_SWITCH_MUTEX_OFF ? GS_W_SWITCH_COND : GS_W_SWITCH_MUTEX;
}

static __always_inline void light_own(__u32 slot, struct gs_thread *t, __u32 tid, __u64 tstate)
{
	__u64 key;

	if (!tstate || t->tstate == tstate)
		return;
	t->tstate = tstate;
	key = gs_slot_key(slot, tstate);
	bpf_map_update_elem(&light_tstates, &key, &tid, BPF_ANY);
}

/* The GIL's state now: 1 it is locked (*holder: last_holder), 0 free (or
 * not created yet: CPython keeps locked = -1 then), -1 unreadable or not a
 * GIL (counted). */
static __always_inline int light_read(const struct gs_proc *p, __u32 slot, __u64 *holder)
{
	struct { __u64 holder; __s32 locked; } g = {};

	if (bpf_probe_read_user(&g, sizeof(g), (void *)(p->gil_addr + GS_GIL_LAST_HOLDER_OFF)))
		return -1;
	count(slot, GS_C_LIGHT_OBS, 1);
	if (g.locked == -1)     /* not created yet, or destroyed (_gil_initialize) */
		return 0;
	if (g.locked != 0 && g.locked != 1) {
		count(slot, GS_C_LIGHT_OBS_BAD, 1);
		return -1;
	}
	if (g.locked)
		count(slot, GS_C_LIGHT_OBS_LOCKED, 1);
	*holder = g.holder;
	return g.locked;
}

/* A hold no futex call ended (it began at a hand-off, at attach, or at an
 * observation): it ends at now, out of the hold histogram. No thread
 * waited for it at its end (a release with a waiter wakes one), so it was
 * voluntary. */
static __noinline void light_unseen_release(struct gs_proc *p, __u32 slot, __u32 tid, struct gs_thread *t,
					    __u64 now)
{
	__u64 d = now - t->gil_since;

	account(t, now);
	if (t->hold_partial) {
		count(slot, GS_C_PARTIAL_HOLDS, 1);
		count(slot, GS_C_PARTIAL_HOLD_NS, d);
	} else {
		count(slot, GS_C_LIGHT_UNSEEN, 1);
		count(slot, GS_C_LIGHT_UNSEEN_NS, d);
	}
	count(slot, GS_C_VOLUNTARY, 1);
	t->gil = GS_GIL_NONE;
	t->hold_partial = 0;
	t->light_seen = 0;
	t->light_pending = 0;
	if (p->gil_holder == tid)
		p->gil_holder = 0;
	emit_state(p, slot, tid, t, now);
}

/* d ns of a thread's time move from state `from` to `to`. */
static __always_inline __u64 light_move(struct gs_thread *t, int from, int to, __u64 d)
{
	if (from < 0 || from >= GS_NR_TSTATES || to < 0 || to >= GS_NR_TSTATES)
		return 0;
	if (d > t->ns[from])
		d = t->ns[from];
	t->ns[from] -= d;
	t->ns[to] += d;
	return d;
}

/* A woken waiter blocked on the GIL's mutex before it could set `locked`:
 * its wait ends now, when that block ends, not at its wake-up. The time
 * since the wake-up moves from holding to waiting, and the wait's
 * histogram bucket with it. Out of line: a contended mutex only. */
static __noinline void light_shift(struct gs_proc *p, __u32 slot, struct gs_thread *t, __u64 now)
{
	__u64 d, w0, w1, rest;
	__u32 b;

	account(t, now);
	if (now <= t->gil_since || t->light_wait_start >= t->gil_since)
		return;
	d = now - t->gil_since;
	w0 = t->gil_since - t->light_wait_start;
	w1 = w0 + d;
	rest = d - light_move(t, GS_HELD_OFF, GS_WAIT_OFF, d);
	light_move(t, GS_HELD_ON, GS_WAIT_ON, rest);
	count(slot, GS_C_WAIT_NS, d);
	if (gs_hist_slot(w0) != gs_hist_slot(w1)) {
		hist_add_n(slot, GS_HIST_WAIT, w0, -1);
		hist_add(slot, GS_HIST_WAIT, w1);
		b = gs_thist_slot(w0);
		if (b < GS_THIST_SLOTS && t->whist[b])
			t->whist[b]--;
		b = gs_thist_slot(w1);
		if (b < GS_THIST_SLOTS)
			t->whist[b]++;
	}
	if (w1 > t->wait_max_ns)
		t->wait_max_ns = w1;
	t->gil_since = now;
	count(slot, GS_C_LIGHT_SHIFTED, 1);
}

/* A woken waiter taken for the new holder asks for the GIL again before
 * it was seen holding it: another thread took it first. Its acquisition
 * is undone, and its wait goes on from where it began. Out of line: rare. */
static __noinline void light_unacquire(struct gs_proc *p, __u32 slot, __u32 tid, struct gs_thread *t,
				       __u64 now)
{
	__u64 w0, d, rest;
	__u32 b;

	account(t, now);
	if (t->light_wait_start >= t->gil_since || now < t->gil_since)
		return;
	w0 = t->gil_since - t->light_wait_start;
	d = now - t->gil_since;
	rest = d - light_move(t, GS_HELD_OFF, GS_WAIT_OFF, d);
	light_move(t, GS_HELD_ON, GS_WAIT_ON, rest);
	/* the wait counted at the wake-up is not over */
	if (t->waits)
		t->waits--;
	count(slot, GS_C_WAIT_NS, -w0);
	count(slot, GS_C_ACQUIRES, -1);
	hist_add_n(slot, GS_HIST_WAIT, w0, -1);
	b = gs_thist_slot(w0);
	if (b < GS_THIST_SLOTS && t->whist[b])
		t->whist[b]--;
	t->gil = GS_GIL_WAITING;
	t->contended = 1;
	t->gil_since = t->light_wait_start;
	t->hold_partial = 0;
	t->light_pending = 0;
	t->light_seen = 0;
	if (p->gil_holder == tid)
		p->gil_holder = 0;
	if (__sync_fetch_and_add(&p->nwaiters, 1) == 0)
		p->contend_start = now;
	count(slot, GS_C_LIGHT_REWAIT, 1);
	emit_state(p, slot, tid, t, now);
}

/* A woken waiter that left the CPU before it could take the GIL takes it
 * when it runs again: its wait ends at that run's start (on_since, from
 * its switch-in), not at its wake-up. */
static __noinline void light_resume(struct gs_proc *p, __u32 slot, struct gs_thread *t, __u64 now)
{
	t->light_preempted = 0;
	if (!t->light_pending || !t->light_seen || t->gil != GS_GIL_HOLDING)
		return;
	light_shift(p, slot, t, t->oncpu && t->on_since > t->gil_since && t->on_since < now ? t->on_since : now);
}

/* Where an observation of a thread is made: */
enum gs_obs {
	GS_OBS_TICK = 0,        /* a CPU-sampling tick: it runs */
	GS_OBS_ON_WAY,          /* its switch-out, blocked on the GIL's mutex or
				   preempted: it may be between a wake-up and
				   setting `locked` */
	GS_OBS_BLOCKED,         /* its switch-out, blocked elsewhere */
};

/* A wait no futex return ended: it took the GIL (a signal that came with
 * a time-out, or a free GIL found after a "stolen" wake-up). Out of
 * line: rare. */
static __noinline void light_late_acquire(struct gs_proc *p, __u32 slot, __u32 tid, struct gs_thread *t)
{
	count(slot, GS_C_LIGHT_LATE, 1);
	on_acquired(p, slot, tid);
	t->hold_partial = 1;     /* its start was not seen */
}

/* Read the GIL at an instant the thread runs here (a tick, its
 * switch-out) and correct what no futex call said: it took a free GIL, or
 * released one nobody waited for. 1: it holds the GIL, 0: it does not, -1:
 * unknown (waiting, unreadable, or its thread state unknown). */
static __noinline int light_observe(struct gs_proc *p, __u32 tid, struct gs_thread *t, __u64 now, int obs)
{
	__u32 slot = t->slot;
	__u64 holder = 0, key;
	__u32 *owner;
	int locked, holds;

	if (t->gil_addr)
		return -1;
	if (t->light_preempted)
		light_resume(p, slot, t, now);
	if (t->gil == GS_GIL_WAITING && (!t->contended || t->fx_cond))
		return -1;      /* asleep in its wait: its futex return ends it */
	locked = light_read(p, slot, &holder);
	if (locked < 0)
		return -1;
	if (t->gil == GS_GIL_WAITING) {
		/* out of its futex wait, not back in it */
		if (locked && t->tstate && holder == t->tstate) {
			light_late_acquire(p, slot, tid, t);
			return 1;
		}
		if (obs != GS_OBS_BLOCKED)
			return -1;      /* it may wait again or take it next */
		/* blocked elsewhere: it took the GIL and let it go, unseen */
		light_late_acquire(p, slot, tid, t);
		light_unseen_release(p, slot, tid, t, now);
		return 0;
	}
	if (locked && holder && !t->tstate) {
		/* a thread state no known thread has, held while this
		 * thread runs: it is this thread's */
		key = gs_slot_key(slot, holder);
		owner = bpf_map_lookup_elem(&light_tstates, &key);
		if (!owner || *owner == tid)
			light_own(slot, t, tid, holder);
	}
	if (!t->tstate) {
		if (!locked && t->gil == GS_GIL_HOLDING)
			light_unseen_release(p, slot, tid, t, now);
		return locked ? -1 : 0;
	}
	holds = locked && holder == t->tstate;
	if (t->light_pending && t->gil == GS_GIL_HOLDING) {
		/* Woken to take it, not seen holding it yet. A free GIL whose
		 * last holder is another thread is not taken yet: it is on its
		 * way there (a taker writes last_holder; a waiter is never the
		 * last holder, someone else took the GIL while it waited). */
		if (holds) {
			t->light_pending = 0;
			return 1;
		}
		if (!locked && holder != t->tstate) {
			/* it left the CPU before taking it (preempted, or
			 * blocked other than on the mutex, whose return moves
			 * the acquisition): it takes it when it runs again */
			if (obs != GS_OBS_TICK && !t->fx_mutex)
				t->light_preempted = 1;
			return 1;
		}
		t->light_pending = 0;   /* it took it and let it go, or another took it */
	}
	if (holds && t->gil != GS_GIL_HOLDING) {
		account(t, now);
		t->gil = GS_GIL_HOLDING;
		t->gil_since = now;
		t->hold_partial = 1;     /* its start is this observation */
		t->light_seen = 0;
		t->implicit = 0;
		p->gil_holder = tid;
		emit_state(p, slot, tid, t, now);
	} else if (!holds && t->gil == GS_GIL_HOLDING) {
		light_unseen_release(p, slot, tid, t, now);
	}
	return holds;
}

/* A CPU-sampling tick on a traced thread: correct its state, and count
 * the tick for the on-CPU split (the time between two observations of a
 * thread that takes and drops a free GIL many times is not one state). */
static __noinline void light_tick(struct gs_proc *p, __u32 slot, __u32 tid, struct gs_thread *t)
{
	int h = light_observe(p, tid, t, bpf_ktime_get_ns(), GS_OBS_TICK);

	if (h < 0)
		return;
	t->light_ticks++;
	t->light_ticks_held += h;
}

/* The futex calls' handlers, out of line (BPF subprograms: the verifier
 * walks each once, not once per path of the program). */

/* The GIL's switch_number (bumped by each acquisition by another thread
 * than the last holder), +1; 0 unreadable. */
static __always_inline __u64 light_switches(const struct gs_proc *p)
{
	__u64 sn = 0;

	if (!p->switchnum_addr || bpf_probe_read_user(&sn, sizeof(sn), (void *)p->switchnum_addr))
		return 0;
	return sn + 1;
}

/* take_gil waits on the cond (a round of its wait loop). */
static __noinline void light_cond_wait(struct gs_proc *p, __u32 tid, struct gs_thread *t, __u64 now)
{
	__u32 slot = t->slot;
	__u64 sn;

	t->fx_cond = 1;
	if (t->gil == GS_GIL_HOLDING && t->light_pending && t->light_seen) {
		/* Woken, never seen holding, it waits again. It took the
		 * GIL and let it go unseen when the GIL changed hands twice
		 * since (to it, and from it to the holder now: a short hold
		 * between native calls, the convoy's); otherwise another
		 * took it first, and its wait goes on. */
		sn = light_switches(p);
		if (sn && t->light_sn && sn >= t->light_sn + 2)
			light_unseen_release(p, slot, tid, t, now);
		else
			light_unacquire(p, slot, tid, t, now);
	} else if (t->gil == GS_GIL_HOLDING)
		/* it released unseen (nobody waited) */
		light_unseen_release(p, slot, tid, t, now);
	on_contended(p, slot, tid);
}

/* drop_gil: locked = 0, then the signal to a waiter; its last_holder is
 * this thread's tstate. */
static __noinline void light_release(struct gs_proc *p, __u32 tid, struct gs_thread *t, __u64 now)
{
	__u32 slot = t->slot;
	__u64 holder = 0;

	if (light_read(p, slot, &holder) >= 0 && holder)
		light_own(slot, t, tid, holder);
	if (t->gil == GS_GIL_WAITING && t->contended)
		light_late_acquire(p, slot, tid, t);   /* its wait ended unseen */
	if (t->gil != GS_GIL_HOLDING) {
		/* it took a free GIL unseen: its hold began at most at its
		 * last observation; from now it is empty (partial) */
		account(t, now);
		t->gil = GS_GIL_HOLDING;
		t->gil_since = now;
		t->hold_partial = 1;
	}
	on_released(p, slot, tid, t, drop_requested(p, 0), 0);
	t->light_seen = 0;
	t->light_pending = 0;
}

/* take_gil's signal to the forced releaser: this thread has just taken
 * the GIL, and no wait of it was seen. */
static __noinline void light_switch_wake(struct gs_proc *p, __u32 tid, struct gs_thread *t, __u64 now)
{
	__u32 slot = t->slot;

	account(t, now);
	if (t->gil == GS_GIL_WAITING) {
		on_acquired(p, slot, tid);
		return;
	}
	t->gil = GS_GIL_HOLDING;
	t->gil_since = now;
	t->hold_partial = 1;
	t->light_seen = 0;
	p->gil_holder = tid;
	handoff_end(p, slot, now);
}

SEC("tracepoint/syscalls/sys_enter_futex")
int light_futex_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 slot, tid, op = (__u32)ctx->args[1] & GS_FUTEX_CMD_MASK;
	struct gs_proc *p = current_proc(&slot, &tid);
	struct task_struct *task;
	struct gs_thread *t;
	__u64 now, holder = 0;
	int w, wait, wake;

	if (!p)
		return 0;
	w = gil_word(p, ctx->args[0]);
	if (w == GS_W_NONE)
		return 0;
	/* A woken waiter's calls between its wake-up and setting `locked`
	 * (a block on the mutex, glibc's own calls on the cond, the signal
	 * to a forced releaser that waits for it): its wait ends after
	 * them, where take_gil marks the GIL taken. */
	task = bpf_get_current_task_btf();
	t = thread_of(task);
	if (t && t->slot == slot && !t->exited && t->light_pending && t->light_seen &&
	    t->gil == GS_GIL_HOLDING && !(w == GS_W_COND && op == GS_FUTEX_WAIT_BITSET))
		t->fx_shift = 1;
	if (w == GS_W_SWITCH_MUTEX)
		return 0;
	/* take_gil's wait is timed (an absolute deadline: WAIT_BITSET), and
	 * a signal wakes one waiter (1); glibc's condition variable also
	 * makes calls of its own on the same words: an untimed wait of a
	 * signaler for old waiters to leave, their wake of it (INT_MAX) */
	wait = op == GS_FUTEX_WAIT_BITSET || (w == GS_W_MUTEX && op == GS_FUTEX_WAIT);
	wake = (op == GS_FUTEX_WAKE || op == GS_FUTEX_WAKE_BITSET) && (__u32)ctx->args[2] == 1;
	if (w == GS_W_MUTEX)
		wake = 0;
	if (!wait && !wake)
		return 0;
	if (w == GS_W_MUTEX) {
		/* a woken waiter blocks here before it can set `locked` */
		if (wait && t && t->slot == slot && !t->exited)
			t->fx_mutex = 1;
		return 0;
	}
	count(slot, GS_C_LIGHT_FUTEX, 1);
	now = bpf_ktime_get_ns();
	if (!(t = thread_get_at(p, slot, task, t, tid, now, 1)))   /* looked up above */
		return 0;
	if (t->light_preempted)
		light_resume(p, slot, t, now);
	if (w == GS_W_COND && wait)
		light_cond_wait(p, tid, t, now);
	else if (w == GS_W_COND && !holds_gil_mutex(p, task))
		count(slot, GS_C_LIGHT_PASSON, 1);   /* glibc passing a signal on */
	else if (w == GS_W_COND)
		light_release(p, tid, t, now);
	else if (wake && t->gil != GS_GIL_HOLDING)
		light_switch_wake(p, tid, t, now);
	return 0;
}

/* A woken waiter found the GIL free: it takes it (on its way until seen). */
static __noinline void light_woken(struct gs_proc *p, __u32 tid, struct gs_thread *t)
{
	on_acquired(p, t->slot, tid);
	t->light_seen = 1;
	t->light_pending = 1;
	t->light_sn = light_switches(p);
}

SEC("tracepoint/syscalls/sys_exit_futex")
int light_futex_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 slot, tid;
	struct gs_proc *p = current_proc(&slot, &tid);
	struct gs_thread *t;
	__u64 holder = 0;
	int locked;

	if (!p)
		return 0;
	t = thread_of(bpf_get_current_task_btf());
	if (!t || t->slot != slot || t->exited || !(t->fx_cond | t->fx_mutex | t->fx_shift))
		return 0;
	t->fx_mutex = 0;
	if (t->fx_shift) {
		t->fx_shift = 0;
		if (t->light_pending && t->light_seen && t->gil == GS_GIL_HOLDING)
			light_shift(p, slot, t, bpf_ktime_get_ns());
	}
	if (!t->fx_cond)
		return 0;
	t->fx_cond = 0;
	if (t->gil != GS_GIL_WAITING)
		return 0;
	t->light_wait_start = t->gil_since;
	/* Woken, or timed out: take_gil looks at `locked` next, and takes
	 * a free GIL (a time-out that found it taken asks for a drop and
	 * waits again). */
	locked = light_read(p, slot, &holder);
	if (locked == 1) {
		if (ctx->ret != -GS_ETIMEDOUT) {
			count(slot, GS_C_LIGHT_STOLEN, 1);
			handoff_end(p, slot, bpf_ktime_get_ns());   /* taken by then */
		}
		return 0;
	}
	light_woken(p, tid, t);
	return 0;
}
