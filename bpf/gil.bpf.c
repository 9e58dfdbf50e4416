// SPDX-License-Identifier: GPL-2.0 OR MIT
/* GIL tracing for CPython processes, aggregated entirely in BPF.
 *
 * Four kinds of events feed one per-thread state machine:
 *   wait starts  (on_contended) take_gil found the GIL taken
 *   GIL taken    (on_acquired)  take_gil set locked = 1
 *   GIL released (on_released)  drop_gil
 *   sched_switch                the thread goes on/off a CPU
 * Which probes deliver them depends on the build (user/inspect/pytarget.c picks):
 * take_gil's call sites to pthread_cond_timedwait/signal, or its entry and
 * return; drop_gil's entry; or, without symbols, every pthread_cond_* call
 * keyed on the GIL's address. Every interval between two events of a
 * thread is added to one of six buckets (enum gs_tstate), so per-thread
 * time always sums to its lifetime in the window. Holds and waits also go
 * into log-linear histograms.
 *
 * One object traces every process of a recording (--children): each has a
 * slot in `procs` with its addresses and its GIL's state; its counters,
 * histograms and CPU times are indexed by slot. Without --children the
 * target is slot 0 and is recognized by a constant compare; with it, by
 * the `proc_slots` hash. Uprobes are attached per process (PID filter),
 * so only traced processes pay for them.
 *
 * Concurrency: a thread's state is touched from its own context (its
 * uprobes, its switch-out) or from the CPU about to run it (switch-in).
 * Uprobe handlers are preemptible, so account() claims each interval with
 * a compare-and-swap. The waiter count is the one process-wide value
 * several threads change at once: it uses atomic fetch-and-add.
 *
 * Pairs with bpf/gil.h (the types and map layouts it shares with user
 * space) and user/trace/gil_tracer.c (loads it, attaches, reads the maps
 * back). The stack walk is in pystack.bpf.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "gil.h"
#include "pyoffsets.h"
#include "pystack.h"

/* Seqlock ordering for hold_ring: a compiler barrier is enough on x86 (TSO:
 * stores are not reordered with stores, nor loads with loads). */
#define barrier() asm volatile("" ::: "memory")

#define EEXIST 17
#define E2BIG 7
#define PF_EXITING 0x00000004

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Knobs, set by user space before load (rodata). */
const volatile __u32 targ_tgid = 0;    /* the one traced process, slot 0; 0 = several
					  (--children): look up proc_slots */
const volatile __u32 targ_stacks = 0;  /* walk Python stacks (wait, blame views) */
const volatile __u32 targ_trace = 0;   /* stream transitions to `trace` */
const volatile __u32 targ_light = 0;   /* --light: futex calls and observations,
					  no uprobe (light.bpf.h) */
const volatile __u32 targ_walk_samples = 0; /* CPU samples walk the stack (gil/nogil views) */
/* The stack walk (pystack.bpf.h): its offsets for the target's version
 * (minor 0: no walks), and the frames it keeps. */
const volatile struct gs_pyoff targ_pyoff = {};
const volatile __u32 targ_max_depth = GS_MAX_FRAMES;

/* Inputs user space sets while the programs run (bss). Before each run of
 * the seed iterator (seed_threads): */
__u32 seed_slot = 0;
__u32 seed_holder_tid = 0;     /* GIL holder at attach, by TID (3.11+)... */
__u64 seed_holder_fsbase = 0;  /* ...or by pthread_self() == TLS base (<3.11) */
__u32 seed_implicit = 0;       /* 3.6 without a GIL yet: the holder is implicit */

/* Before a run of dump_threads: */
__u32 dump_slot = 0;

/* When the recording ends: probes detach one by one, and a half-detached
 * set must not record half-seen transitions. A single process of a
 * --children recording stops by leaving proc_slots. */
__u32 stopped = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GS_MAX_PROCS); /* 1 without --children */
	__type(key, __u32);
	__type(value, struct gs_proc);
} procs SEC(".maps");

/* --children: traced process (tgid) -> its slot. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GS_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u32);
} proc_slots SEC(".maps");

/* Threads whose accounting has closed, by TID: the collector's view. A
 * thread's state is copied here from live_threads when it exits (until
 * user space harvests it), and for every live thread when the window
 * closes (dump_threads). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* exited threads until harvested, and the live
				       ones copied at the window's end */
	__type(key, __u32);
	__type(value, struct gs_thread);
} closed_threads SEC(".maps");

/* gilscope top/serve: every traced live thread's state, copied by
 * snap_live_threads once an interval into [0, snap_n) (the threads keep
 * theirs); user space reads it through a read-only mapping. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* GS_SNAP_THREADS in live mode (user space) */
	__type(key, __u32);
	__type(value, struct gs_snap);
} snap_threads SEC(".maps");

/* Entries snap_live_threads filled (user space zeroes it before a run). */
__u32 snap_n = 0;

/* Each traced thread's live state, in its task: found in a few loads from
 * the task pointer (a hash lookup by TID cost ~80 ns more per event under
 * load). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct gs_thread);
} live_threads SEC(".maps");

/* Hold and wait histograms per process: [gs_hist_idx(slot, kind) +
 * bucket]. Per-CPU for one process; with --children user space makes it a
 * shared array (per-CPU would cost 30 KiB per process per CPU), where the
 * atomic add matters. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GS_HIST_ENTRIES(GS_MAX_PROCS));
	__type(key, __u32);
	__type(value, __u64);
} hists SEC(".maps");

/* Sub-interpreters' own GILs (3.12+), by gs_slot_key(slot, GIL address):
 * rare, so shared and updated with atomics. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GS_MAX_SUBGILS); /* shrunk to 1 when not tracked */
	__type(key, __u64);
	__type(value, struct gs_subgil);
} subgils SEC(".maps");

/* [gs_counter_idx(slot, counter)] */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GS_COUNTER_ENTRIES(GS_MAX_PROCS));
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* The last switch-in of a traced thread on this CPU (struct gs_run). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gs_run);
} last_switch_in SEC(".maps");

/* [slot]: the process's time on this CPU, with and without the GIL */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GS_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct gs_cpu);
} cpu_time SEC(".maps");

static __always_inline void count(__u32 slot, __u32 idx, __u64 v)
{
	__u32 k = gs_counter_idx(slot, idx);
	__u64 *c = bpf_map_lookup_elem(&counters, &k);

	if (c)
		*c += v;
}

static __always_inline void hist_add_n(__u32 slot, __u32 kind, __u64 ns, __s64 n)
{
	__u32 idx = gs_hist_idx(slot, kind) + gs_hist_slot(ns);
	__u64 *c = bpf_map_lookup_elem(&hists, &idx);

	if (!c)
		return;
	if (targ_tgid)        /* per-CPU: this CPU's own slot (sums may go
				 below 0 per CPU, never across CPUs) */
		*c += n;
	else                    /* shared by every CPU (--children) */
		__sync_fetch_and_add(c, n);
}

static __always_inline void hist_add(__u32 slot, __u32 kind, __u64 ns)
{
	hist_add_n(slot, kind, ns, 1);
}

#include "pystack.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24); /* 16 MiB of trace records; resized by user space */
} trace SEC(".maps");
#define GS_TRACE_WAKE_BYTES (256 << 10)   /* pending records that wake the reader */

/* The traced process tgid belongs to, or NULL. */
static __always_inline struct gs_proc *proc_get(__u32 tgid, __u32 *slot)
{
	__u32 s = 0, *sp;

	if (stopped)
		return NULL;
	if (targ_tgid) {
		if (tgid != targ_tgid)
			return NULL;
	} else {
		sp = bpf_map_lookup_elem(&proc_slots, &tgid);
		if (!sp)
			return NULL;
		s = *sp;
	}
	*slot = s;
	return bpf_map_lookup_elem(&procs, &s);
}

/* The last GIL holds, for the blame view: a waiter that got the GIL charges
 * its wait to the stacks of the holds it overlapped. Written only by the
 * thread releasing the GIL (one at a time, the GIL serializes them); each
 * slot's seq is odd while it is being written. */
static __always_inline void hold_ring_put(struct gs_proc *p, __u64 start, __u64 end, __u64 stack, __u32 tid)
{
	__u64 n = p->hold_ring_next;
	struct gs_hold_rec *r = &p->hold_ring[n & (GS_HOLD_RING - 1)];

	r->seq = 2 * n + 1;
	barrier();
	r->start = start;
	r->end = end;
	r->stack = stack;
	r->tid = tid;
	barrier();
	r->seq = 2 * n + 2;
	p->hold_ring_next = n + 1;
}

/* Charge the wait [ws, we] to the holds it overlapped. The ring holds them
 * in the order they ended (the GIL serializes them): read from the newest
 * back to the first that ended before the wait began. */
static __always_inline void blame(struct gs_proc *p, __u32 slot, __u64 ws, __u64 we)
{
	__u64 seq, start, end, stack, lo, hi, n = p->hold_ring_next;
	__u32 tid;
	int i;

	for (i = 0; i < GS_HOLD_RING && i < n; i++) {
		struct gs_hold_rec *r = &p->hold_ring[(n - 1 - i) & (GS_HOLD_RING - 1)];

		seq = r->seq;
		if (!seq || (seq & 1))
			continue;
		barrier();
		start = r->start;
		end = r->end;
		stack = r->stack;
		tid = r->tid;
		barrier();
		if (r->seq != seq)
			continue;           /* rewritten under us */
		if (end <= ws)
			break;              /* it and all older ones ended before */
		lo = start > ws ? start : ws;
		hi = end < we ? end : we;
		if (hi > lo)
			stack_add(slot, stack, tid, GS_VIEW_BLAME, hi - lo);
	}
}

static __always_inline int tstate_of(const struct gs_thread *t)
{
	int base;

	if (t->implicit && !t->oncpu && !t->runnable_off)   /* asleep, no GIL to hold */
		return GS_NOGIL_OFF;
	base = t->gil == GS_GIL_HOLDING ? GS_HELD_ON :
		   t->gil == GS_GIL_WAITING ? GS_WAIT_ON : GS_NOGIL_ON;

	return base + (t->oncpu ? 0 : 1);
}

static __always_inline void emit(const struct gs_proc *p, __u32 slot, __u32 tid, __u8 kind, __u8 state,
				 __u64 now)
{
	struct gs_trace_rec *r;

	if (!targ_trace)
		return;
	r = bpf_ringbuf_reserve(&trace, sizeof(*r), 0);
	if (!r) {
		count(slot, GS_C_TRACE_LOST, 1);
		return;
	}
	r->ts = now;
	r->tid = tid;
	r->kind = kind;
	r->state = state;
	r->cpu = bpf_get_smp_processor_id();
	r->waiters = p->nwaiters;
	r->tgid = p->tgid;
	/* The reader is woken once a batch has built up, and drains the
	 * ring on its own every 100 ms besides (tracer__poll): a wake-up a
	 * record switched gilscope in for every GIL event, on the target's
	 * CPUs (4 CPU-bound threads, --light: sched_switch ran 50,000 times a
	 * second instead of 2,000, the GIL's holder was preempted by it, and
	 * the self-check failed). */
	bpf_ringbuf_submit(r, bpf_ringbuf_query(&trace, BPF_RB_AVAIL_DATA) >= GS_TRACE_WAKE_BYTES
			   ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline void emit_state(const struct gs_proc *p, __u32 slot, __u32 tid,
				       const struct gs_thread *t, __u64 now)
{
	if (targ_trace)
		emit(p, slot, tid, GS_TR_STATE, tstate_of(t), now);
}

/* The PyThreadState* argument: the attach cookie names its register,
 * which differs between versions and between clones (3.8's take_gil). */
static __always_inline __u64 tstate_arg(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u64 a = PT_REGS_PARM1(ctx), b = PT_REGS_PARM2(ctx), c = PT_REGS_PARM3(ctx);

	/* Load all three first: a load through a computed ctx pointer is
	 * rejected by the verifier, and clang would otherwise build one. */
	asm volatile("" : "+r"(a), "+r"(b), "+r"(c));
	return cookie == 1 ? b : cookie == 2 ? c : a;
}

/* d ns of the thread's on-CPU time, to this CPU's figures for its process:
 * with the GIL or without it (held). */
static __always_inline void cpu_add_as(const struct gs_thread *t, __u64 d, int held)
{
	__u32 slot = t->slot;
	struct gs_cpu *c = bpf_map_lookup_elem(&cpu_time, &slot);

	if (!c)
		return;
	if (held)
		c->with_gil_ns += d;
	else
		c->without_gil_ns += d;
}

/* ... as its current GIL state says. */
static __always_inline void cpu_add(const struct gs_thread *t, __u64 d)
{
	cpu_add_as(t, d, t->gil == GS_GIL_HOLDING);
}

/* The last switch-in of a traced thread on this CPU (struct gs_run). */
static __always_inline struct gs_run *cpu_note(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&last_switch_in, &zero);
}

/* A run of the off-CPU thread begins at ts: note the interval it leaves
 * (its state, and how long it lasted) for run_early() at the run's end. */
static __always_inline void run_note(struct gs_thread *t, __u64 ts)
{
	t->run_from = tstate_of(t) | (t->runnable_off ? GS_RUN_FROM_RUNQ : 0);
	t->off_before = ts > t->since ? ts - t->since : 0;
}

/* Close the thread's current interval at now. When it was on-CPU, the
 * caller runs on that same CPU (uprobe of the thread itself, its
 * switch-out, its exit), so the per-CPU slot is the right CPU. */
static __always_inline void account(struct gs_thread *t, __u64 now)
{
	__u64 since = t->since, d;
	int s;

	/* Uprobe handlers run preemptible: a switch-out of this very thread
	 * can run in the middle of one and account the same interval. The
	 * compare-and-swap lets exactly one of them own [since, now], and
	 * never moves `since` backwards. */
	if (now <= since || __sync_val_compare_and_swap(&t->since, since, now) != since)
		return;
	d = now - since;
	s = tstate_of(t);
	if (s >= 0 && s < GS_NR_TSTATES)
		t->ns[s] += d;
	if (s == GS_NOGIL_OFF && t->runnable_off)
		t->runq_ns += d;             /* preempted: wanted a CPU, not I/O */
	if (t->gil_addr && t->gil == GS_GIL_HOLDING)
		t->sub_held_ns += d;         /* a sub-interpreter's GIL, not the main one */
	if (t->oncpu)
		cpu_add(t, d);
}

/* A switch-in of a thread we believed on-CPU (GS_C_SWITCH_IN_ON): its
 * switch-out was not seen. Rare: out of line. */
static __noinline void repair_switch_in_on(struct gs_thread *t, __u32 slot, __u64 in_ts, __u64 in_exec)
{
	__u64 out;

	count(slot, GS_C_SWITCH_IN_ON, 1);
	t->run_from = GS_RUN_FROM_NONE;   /* its run's start is not known */
	/* The run we believed in began at on_since with exec_ns of CPU time
	 * behind it; at this switch-in the task had run in_exec - exec_ns
	 * since: its unseen switch-out came that long after on_since. */
	if (!t->exec_ns || in_exec < t->exec_ns || !t->on_since)
		return;          /* unknown: the whole gap stays on-CPU */
	out = t->on_since + (in_exec - t->exec_ns);
	if (out > in_ts)
		out = in_ts;
	account(t, out);
	t->oncpu = 0;
	t->runnable_off = 0;
	account(t, in_ts);   /* off-CPU until this switch-in */
	t->oncpu = 1;
}

/* Apply the thread's switch-in: the one noted on this CPU (r), or with
 * r NULL, one that came with no sched_switch event. The thread runs (the
 * caller is its own probe hit, switch-out or exit) but is believed
 * off-CPU with no note of its switch-in: the kernel put it back on a CPU
 * unseen. This kernel does that to preempted threads: bpftrace alone saw
 * 2-4 switch-outs of two zlib threads in 3 s with no switch-in between
 * (README, "Not yet"). It is on-CPU from now; at its switch-out
 * run_early() takes the part of the run before now, by the kernel's
 * count, from the interval before. Found only at its switch-out, a zlib
 * thread had read 0.54 s of its 3 s runnable.
 * Out of line, once a run (the thread's first event after its switch-in):
 * inlined into every handler, it had grown each by ~70 instructions. */
static __noinline void switch_in_apply(struct gs_thread *t, __u32 slot, struct gs_run *r)
{
	__u64 ts, exec;

	if (r) {
		ts = r->ts;
		exec = r->exec;
	} else {
		count(slot, GS_C_SWITCH_OUT_OFF, 1);
		ts = bpf_ktime_get_ns();
		if (ts < t->since)
			ts = t->since;
		exec = t->exec_ns;      /* its last switch-out's */
	}
	if (t->oncpu) {
		repair_switch_in_on(t, slot, ts, exec);
	} else {
		run_note(t, ts);
		account(t, ts);
		t->oncpu = 1;
		t->runnable_off = 0;
	}
	t->on_since = ts;
	t->exec_ns = exec;
	t->cpu = bpf_get_smp_processor_id();
}

/* The thread runs on this CPU now (the caller is its probe hit, switch-out
 * or exit): apply its switch-in noted in last_switch_in, or, believed
 * off-CPU with no note for it, the one the kernel made unseen. A note newer
 * than a thread already on-CPU: its switch-out was not seen. */
static __always_inline void sync_in(struct gs_thread *t, __u32 slot, __u32 tid)
{
	struct gs_run *r = cpu_note();

	if (r && r->tid == tid && r->ts > t->since)
		switch_in_apply(t, slot, r);
	else if (!t->oncpu)
		switch_in_apply(t, slot, NULL);
}

/* A new thread's entry is too large for the BPF stack: it is inserted from
 * this template, whose invalid slot keeps other CPUs off it until
 * thread_new() has filled it in. */
#define GS_SLOT_NONE 0xffffffffu
static const struct gs_thread thread_tmpl = { .slot = GS_SLOT_NONE };

static __always_inline struct gs_thread *thread_of(struct task_struct *task)
{
	return bpf_task_storage_get(&live_threads, task, 0, 0);
}

/* task's entry, created from the template when it has none; *fresh when
 * it is still to be filled in. NULL: no memory for it. */
static __always_inline struct gs_thread *thread_new(__u32 slot, struct task_struct *task, int *fresh)
{
	struct gs_thread *t = bpf_task_storage_get(&live_threads, task, (void *)&thread_tmpl,
						   BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!t) {
		count(slot, GS_C_LOST_THREADS_FULL, 1);
		return NULL;
	}
	*fresh = t->slot == GS_SLOT_NONE;
	return t;
}

/* An entry left by a window that has closed for this task: the image
 * before its exec, or a process whose slot ended. It goes (a task is in
 * one process at a time, and a process in one slot). False: the entry is
 * still being filled in. */
static __always_inline int thread_stale(const struct gs_thread *t, struct task_struct *task)
{
	if (t->slot == GS_SLOT_NONE)
		return 0;
	bpf_task_storage_delete(&live_threads, task);
	return 1;
}

/* First sight of a thread: fill in its fresh entry. One that existed at
 * attach (the seed iterator has not run yet) is accounted from the
 * window start; one created since, from now. Seen on the CPU it was
 * switched in on (the scheduler tracepoint is live from the window start):
 * on-CPU from that switch-in, and off-CPU before it when it existed at
 * attach. Without such a note it has run since the window began. Rare:
 * out of line. */
static __noinline void thread_fill(const struct gs_proc *p, struct gs_thread *t, __u32 tid, __u64 now,
				   int oncpu)
{
	struct gs_run *r = oncpu ? cpu_note() : NULL;

	t->since = p->seeded ? now : p->t0;
	t->oncpu = oncpu;
	t->run_from = GS_RUN_FROM_NONE;
	if (r && r->tid == tid && r->ts >= p->t0 && r->ts < now) {
		if (!p->seeded)
			t->ns[GS_NOGIL_OFF] = r->ts - p->t0;
		t->since = r->ts;
		t->on_since = r->ts;
		t->exec_ns = r->exec;
	}
	t->cpu = bpf_get_smp_processor_id();
}

/* task (the thread running here when oncpu) of traced process slot. */
/* thread_get, given what thread_of(task) returned already. */
static __always_inline struct gs_thread *thread_get_at(const struct gs_proc *p, __u32 slot,
						       struct task_struct *task, struct gs_thread *t, __u32 tid,
						       __u64 now, int oncpu)
{
	int fresh;

	if (t && t->slot == slot) {
		if (t->exited)
			return NULL;
		if (oncpu)      /* the thread running here: catch up its switch-in */
			sync_in(t, slot, tid);
		return t;
	}
	if (t && !thread_stale(t, task))
		return NULL;    /* being filled in on another CPU */
	t = thread_new(slot, task, &fresh);
	if (!t)
		return NULL;
	if (!fresh)             /* the seed iterator created it meanwhile */
		return !t->exited && t->slot == slot ? t : NULL;
	thread_fill(p, t, tid, now, oncpu);
	barrier();
	t->slot = slot;         /* filled in: other CPUs may use it */
	return t;
}

static __always_inline struct gs_thread *thread_get(const struct gs_proc *p, __u32 slot,
						    struct task_struct *task, __u32 tid, __u64 now, int oncpu)
{
	return thread_get_at(p, slot, task, thread_of(task), tid, now, oncpu);
}

/* The calling thread, when its process is traced. */
static __always_inline struct gs_proc *current_proc(__u32 *slot, __u32 *tid)
{
	__u64 id = bpf_get_current_pid_tgid();

	*tid = (__u32)id;
	return proc_get(id >> 32, slot);
}

/* current_proc for a uprobe program: each run is a trap the traced
 * process paid for, counted for the report's tracing cost. */
static __always_inline struct gs_proc *probe_proc(__u32 *slot, __u32 *tid)
{
	struct gs_proc *p = current_proc(slot, tid);

	if (p)
		count(*slot, GS_C_PROBE_HITS, 1);
	return p;
}

/* The Python stack a wait starts on. A thread runs no Python between a
 * release and its next take, so the stack walked at that release is still
 * its stack, unless it comes back with another thread state. */
static __always_inline __u64 wait_stack_of(const struct gs_proc *p, __u32 slot, const struct gs_thread *t)
{
	if (t->rel_tstate && t->rel_tstate == t->tstate)
		return t->rel_stack;
	return walk_stack(p, slot, t->tstate);
}

SEC("uprobe")
int BPF_KPROBE(take_gil_enter)
{
	__u32 slot, tid;
	struct gs_proc *p = probe_proc(&slot, &tid);
	__u64 now = bpf_ktime_get_ns();
	struct gs_thread *t;

	if (!p || !(t = thread_get(p, slot, bpf_get_current_task_btf(), tid, now, 1)))
		return 0;
	account(t, now);
	t->implicit = 0;           /* 3.6: the GIL exists from now on */
	/* A GIL held by another thread (or a waiter already queued) makes
	 * this a contended wait; an acquisition of a free GIL is not
	 * contention, only the cost of taking the mutex. */
	if (p->gil_holder && p->gil_holder != tid || p->nwaiters > 0) {
		if (__sync_fetch_and_add(&p->nwaiters, 1) == 0)
			p->contend_start = now;
		t->contended = 1;
	} else {
		t->contended = 0;
	}
	t->gil = GS_GIL_WAITING;
	t->gil_since = now;
	if (targ_stacks) {
		__u64 ts = tstate_arg(ctx);

		if (ts)
			t->tstate = ts;
		t->wait_stack = wait_stack_of(p, slot, t);
	}
	emit_state(p, slot, tid, t, now);
	return 0;
}

/* A release that left threads waiting ends at the next acquisition, by
 * whichever thread: the GIL was free while wanted for that long (the
 * woken waiter's way to a CPU, or a newcomer's race with it). */
static __always_inline void handoff_end(struct gs_proc *p, __u32 slot, __u64 now)
{
	__u64 since = p->free_since;

	if (!since)
		return;
	p->free_since = 0;
	/* an acquisition stamped before the release (--light: the woken
	 * thread's futex return read on another CPU first): a hand-off all
	 * the same, of no measurable length */
	if (now < since)
		now = since;
	count(slot, GS_C_HANDOFF_NS, now - since);
	hist_add(slot, GS_HIST_HANDOFF, now - since);   /* and their count */
	if (now - since > p->handoff_max_ns)
		p->handoff_max_ns = now - since;
}

/* The self-check: CPython's take_gil bumps gil->switch_number when the
 * acquiring tstate is not gil->last_holder, and sets last_holder, both
 * before the point where the GIL counts as taken here. Count the same
 * thing from the holders seen, and keep the interpreter's counter at the
 * first and the last acquisition: user space compares the two. Only the
 * new holder runs this (it holds the GIL): no atomics needed. */
static __always_inline __u64 selfcheck_acquired(struct gs_proc *p)
{
	__u64 ts = 0, sn = 0;

	if (!p->holder_addr)
		return 0;
	if (bpf_probe_read_user(&ts, sizeof(ts), (void *)p->holder_addr) != 0 || !p->switchnum_addr ||
	    bpf_probe_read_user(&sn, sizeof(sn), (void *)p->switchnum_addr) != 0) {
		p->sn_unreadable++;
		return 0;
	}
	if (!p->sn_seen) {
		p->sw_first_tstate = ts;
		p->sn_first = sn;
	} else if (ts != p->sw_last_tstate) {
		p->sw_count++;
	}
	p->sw_last_tstate = ts;
	p->sn_last = sn;
	p->sn_seen++;
	return ts;   /* the new holder's thread state */
}

/* The GIL is now this thread's: ends its wait, starts its hold. */
static __always_inline void on_acquired(struct gs_proc *p, __u32 slot, __u32 tid)
{
	__u64 now = bpf_ktime_get_ns(), d;
	struct gs_thread *t;

	if (!(t = thread_get(p, slot, bpf_get_current_task_btf(), tid, now, 1)))
		return;
	account(t, now);
	/* A wait is a request that found the GIL taken; taking a free GIL
	 * (a mutex round trip) is an acquisition, not a wait, in both probe
	 * modes. */
	if (t->gil == GS_GIL_WAITING && t->contended) {
		d = now - t->gil_since;
		t->waits++;
		if (d > t->wait_max_ns)
			t->wait_max_ns = d;
		count(slot, GS_C_WAIT_NS, d);
		hist_add(slot, GS_HIST_WAIT, d);
		{
			__u32 b = gs_thist_slot(d);

			if (b < GS_THIST_SLOTS)
				t->whist[b]++;   /* only this thread writes it */
		}
		if (__sync_fetch_and_add(&p->nwaiters, -1) == 1)
			count(slot, GS_C_CONTENDED_NS, now - p->contend_start);
		if (targ_stacks) {
			stack_add(slot, t->wait_stack, tid, GS_VIEW_WAIT, d);
			blame(p, slot, t->gil_since, now);
		}
	} else if (t->gil == GS_GIL_HOLDING) {
		count(slot, GS_C_TAKE_RET_UNMATCHED, 1);
	}
	count(slot, GS_C_ACQUIRES, 1);
	{
		/* last_holder is the acquiring thread's tstate: how the
		 * address-keyed probes, which see no argument, learn the
		 * thread state of threads started after attach */
		__u64 ts = targ_light ? 0 : selfcheck_acquired(p);

		if (targ_stacks && ts)
			t->tstate = ts;
	}
	handoff_end(p, slot, now);
	t->implicit = 0;
	t->contended = 0;
	t->gil_addr = 0;
	t->rel_tstate = 0;
	t->gil = GS_GIL_HOLDING;
	t->gil_since = now;
	t->hold_partial = 0;
	p->gil_holder = tid;
	if (!p->gil_acquires)              /* a flag: no atomic on the hot path */
		p->gil_acquires = 1;
	emit_state(p, slot, tid, t, now);
}

SEC("uretprobe")
int BPF_KRETPROBE(take_gil_exit)
{
	__u32 slot, tid;
	struct gs_proc *p = probe_proc(&slot, &tid);

	if (p)
		on_acquired(p, slot, tid);
	return 0;
}

/* A sub-interpreter's own GIL (3.12+), created on its first event. */
static __always_inline struct gs_subgil *subgil_get(__u32 slot, __u64 key)
{
	static const struct gs_subgil zero = {};
	struct gs_subgil *g = bpf_map_lookup_elem(&subgils, &key);

	if (g)
		return g;
	if (bpf_map_update_elem(&subgils, &key, &zero, BPF_NOEXIST) == -E2BIG)
		count(slot, GS_C_SUBGILS_FULL, 1);
	return bpf_map_lookup_elem(&subgils, &key);
}

static __always_inline void subgil_hist(struct gs_subgil *g, __u32 kind, __u64 ns)
{
	__u32 b = gs_hist_slot(ns);

	if (kind <= GS_HIST_WAIT && b < GS_HIST_SLOTS)
		__sync_fetch_and_add(&g->hist[kind][b], 1);
}

/* The figures of a sub-interpreter's GIL are its own: they never touch the
 * main GIL's holder, waiter count or histograms. Its holds and waits still
 * set the thread's state (it runs Python, or waits to). Rare paths: kept
 * out of line, so the main GIL's handlers stay small. */
static __noinline void sub_acquired(struct gs_proc *p, __u32 slot, __u32 tid, __u64 gil)
{
	__u64 now = bpf_ktime_get_ns(), d;
	struct gs_subgil *g = subgil_get(slot, gs_slot_key(slot, gil));
	struct gs_thread *t;

	if (!g || !(t = thread_get(p, slot, bpf_get_current_task_btf(), tid, now, 1)))
		return;
	account(t, now);
	if (t->gil == GS_GIL_WAITING && t->contended && t->gil_addr == gil) {
		d = now - t->gil_since;
		__sync_fetch_and_add(&g->waits, 1);
		__sync_fetch_and_add(&g->wait_ns, d);
		if (d > g->wait_max_ns)
			g->wait_max_ns = d;
		subgil_hist(g, GS_HIST_WAIT, d);
	}
	count(slot, GS_C_OTHER_GIL, 1);
	t->implicit = 0;
	t->contended = 0;
	t->rel_tstate = 0;
	t->gil = GS_GIL_HOLDING;
	t->gil_addr = gil;
	t->gil_since = now;
	t->hold_partial = 0;
	emit_state(p, slot, tid, t, now);
}

static __noinline void sub_contended(struct gs_proc *p, __u32 slot, __u32 tid, __u64 gil)
{
	__u64 now = bpf_ktime_get_ns();
	struct gs_thread *t;

	if (!(t = thread_get(p, slot, bpf_get_current_task_btf(), tid, now, 1)))
		return;
	if (t->gil == GS_GIL_WAITING && t->contended)
		return;
	account(t, now);
	t->gil = GS_GIL_WAITING;
	t->gil_addr = gil;
	t->gil_since = now;
	t->contended = 1;
	emit_state(p, slot, tid, t, now);
}

static __noinline void sub_released(struct gs_proc *p, __u32 slot, __u32 tid, struct gs_thread *t,
					 int forced)
{
	__u64 now = bpf_ktime_get_ns(), d, key = gs_slot_key(slot, t->gil_addr);
	struct gs_subgil *g = bpf_map_lookup_elem(&subgils, &key);

	account(t, now);
	if (g && t->gil == GS_GIL_HOLDING) {
		d = now - t->gil_since;
		__sync_fetch_and_add(&g->holds, 1);
		__sync_fetch_and_add(&g->hold_ns, d);
		if (d > g->hold_max_ns)
			g->hold_max_ns = d;
		subgil_hist(g, GS_HIST_HOLD, d);
		__sync_fetch_and_add(forced ? &g->forced : &g->voluntary, 1);
	}
	t->gil = GS_GIL_NONE;
	t->gil_addr = 0;
	emit_state(p, slot, tid, t, now);
}

/* At take_gil's call to pthread_cond_signal(&gil->switch_cond): it has
 * just set locked = 1 (call-site mode, replaces the uretprobe). */
SEC("uprobe")
int BPF_KPROBE(take_gil_acquired)
{
	__u32 slot, tid;
	struct gs_proc *p = probe_proc(&slot, &tid);
	__u64 cv = PT_REGS_PARM1(ctx);

	if (!p)
		return 0;
	if (p->gil_switch_cond_addr && cv != p->gil_switch_cond_addr) {
		/* a sub-interpreter with its own GIL (3.12+) */
		if (p->track_subgils)
			sub_acquired(p, slot, tid, cv - GS_GIL_SWITCH_COND_OFF);
		else
			count(slot, GS_C_OTHER_GIL, 1);
		return 0;
	}
	on_acquired(p, slot, tid);
	return 0;
}

/* take_gil found the GIL taken when this thread asked for it: at its wait
 * loop's entry (once a wait), or at its call to pthread_cond_timedwait
 * (once per round of the loop, every switch interval: only the first
 * starts the wait). */
static __always_inline void on_contended(struct gs_proc *p, __u32 slot, __u32 tid)
{
	__u64 now = bpf_ktime_get_ns();
	struct gs_thread *t;

	if (!(t = thread_get(p, slot, bpf_get_current_task_btf(), tid, now, 1)))
		return;
	if (t->gil == GS_GIL_WAITING && t->contended)
		return;
	account(t, now);
	if (t->gil != GS_GIL_WAITING || t->gil_addr) { /* call-site mode: the wait starts here */
		t->gil = GS_GIL_WAITING;
		t->gil_addr = 0;
		t->gil_since = now;
		if (targ_stacks)
			t->wait_stack = wait_stack_of(p, slot, t);
	}
	t->implicit = 0;
	t->contended = 1;
	if (__sync_fetch_and_add(&p->nwaiters, 1) == 0)
		p->contend_start = now;
	emit_state(p, slot, tid, t, now);
}

/* The GIL's cond for take_gil_contended (cookie: GS_WAIT_ENTRY_*). */
static __always_inline __u64 contended_cond(struct pt_regs *ctx, const struct gs_proc *p)
{
	__u64 ck = bpf_get_attach_cookie(ctx), r15, r14, r13, r12, bp, bx, r;
	__u32 i = (ck >> 8) & 0xff;

	if (!ck)                        /* at the timedwait call: its argument */
		return PT_REGS_PARM1(ctx);
	if (!(ck & GS_WAIT_ENTRY_REG))  /* one GIL */
		return p->gil_cond_addr;
	/* Load all six first: a load through a computed ctx pointer is
	 * rejected by the verifier (as in tstate_arg). */
	r15 = ctx->r15, r14 = ctx->r14, r13 = ctx->r13, r12 = ctx->r12, bp = ctx->bp, bx = ctx->bx;
	asm volatile("" : "+r"(r15), "+r"(r14), "+r"(r13), "+r"(r12), "+r"(bp), "+r"(bx));
	r = i == 0 ? r15 : i == 1 ? r14 : i == 2 ? r13 : i == 3 ? r12 : i == 4 ? bp : bx;
	return r + (__s64)(__s32)(ck >> 32) + GS_GIL_COND_OFF;
}

/* take_gil found the GIL busy: at its wait loop's entry (once a wait) or at
 * its call to pthread_cond_timedwait (every round of the loop). */
SEC("uprobe")
int BPF_KPROBE(take_gil_contended)
{
	__u32 slot, tid;
	struct gs_proc *p = probe_proc(&slot, &tid);
	__u64 cv;

	if (!p)
		return 0;
	cv = contended_cond(ctx, p);
	if (p->gil_cond_addr && cv != p->gil_cond_addr) {
		if (p->track_subgils)
			sub_contended(p, slot, tid, cv - GS_GIL_COND_OFF);
		return 0;
	}
	on_contended(p, slot, tid);
	return 0;
}

static __always_inline int is_forced(const struct gs_proc *p, __u64 ret)
{
	int i;

#pragma unroll
	for (i = 0; i < GS_MAX_FORCED_RANGES; i++)
		if (ret >= p->forced_lo[i] && ret < p->forced_hi[i])
			return 1;
	return 0;
}

/* The GIL left this thread: ends its hold. */
static __always_inline void on_released(struct gs_proc *p, __u32 slot, __u32 tid, struct gs_thread *t,
					int forced, __u64 tstate)
{
	__u64 now = bpf_ktime_get_ns(), d;

	if (!t && !(t = thread_get(p, slot, bpf_get_current_task_btf(), tid, now, 1)))
		return;
	if (t->gil == GS_GIL_NONE && !p->gil_acquires && !p->gil_holder) {
		/* No acquisition seen since attach and nobody credited with
		 * the GIL: this thread has held it since before the window. */
		t->gil = GS_GIL_HOLDING;
		t->gil_since = p->t0;
		t->hold_partial = 1;
	}
	account(t, now);
	if (t->gil == GS_GIL_HOLDING) {
		d = now - t->gil_since;
		if (t->hold_partial) {
			count(slot, GS_C_PARTIAL_HOLDS, 1);
			count(slot, GS_C_PARTIAL_HOLD_NS, d);
		} else {
			t->holds++;
			t->hold_ns += d;
			if (d > t->hold_max_ns)
				t->hold_max_ns = d;
			count(slot, GS_C_HOLD_NS, d);
			hist_add(slot, GS_HIST_HOLD, d);
		}
		count(slot, forced ? GS_C_FORCED : GS_C_VOLUNTARY, 1);
		if (p->nwaiters > 0) {
			p->free_since = now;   /* a hand-off: until the next acquisition */
			if (!forced)
				count(slot, GS_C_VOLUNTARY_HANDOFF, 1);
		} else if (targ_light) {
			/* --light sees a release at its signal's futex call,
			 * which glibc makes only for a waiter: one it has not
			 * seen waiting. The hand-off it was, of no measurable
			 * length, and: */
			p->free_since = now;
			handoff_end(p, slot, now);
			if (!forced)
				count(slot, GS_C_VOLUNTARY_HANDOFF, 1);
			if (p->gil_holder && p->gil_holder != tid) {
				/* its waiter, timed out on another CPU as
				 * drop_gil set `locked` to 0, read the GIL
				 * free and was taken for the holder first
				 * (CPU-bound threads: 1 release in 4) */
				count(slot, GS_C_LIGHT_EARLY_TAKE, 1);
			} else {
				/* its waiter never blocked: glibc handed it
				 * the signal before its futex wait (the
				 * convoy's short holds: 1 wait in 10, in 2.5
				 * on 3.7). A wait of no measurable length,
				 * whose thread is not known. */
				hist_add(slot, GS_HIST_WAIT, 0);
				count(slot, GS_C_LIGHT_QUICK_WAIT, 1);
			}
		}
		if (forced)
			emit(p, slot, tid, GS_TR_FORCED, 0, now);
		if (targ_stacks) {
			if (tstate)
				t->tstate = tstate;
			/* Blame charges a wait to the holds it overlapped, and a
			 * hold that overlapped a wait ends with its waiter counted
			 * (nwaiters rises when a wait starts): only such a hold
			 * needs its stack. Skipped, the thread's next wait walks
			 * its own stack. */
			if (p->nwaiters > 0) {
				t->rel_stack = walk_stack(p, slot, t->tstate);
				t->rel_tstate = t->tstate;
				hold_ring_put(p, t->gil_since, now, t->rel_stack, tid);
			} else {
				t->rel_tstate = 0;
			}
		}
	} else if (t->gil == GS_GIL_WAITING) {
		/* 3.9+: take_gil drops the GIL again when the runtime is
		 * finalizing, then the thread exits. */
		count(slot, GS_C_DROP_WHILE_WAIT, 1);
		if (t->contended && __sync_fetch_and_add(&p->nwaiters, -1) == 1) {
			count(slot, GS_C_CONTENDED_NS, now - p->contend_start);
			handoff_end(p, slot, now);   /* nobody wants it any more */
		}
		t->contended = 0;
	} else {
		count(slot, GS_C_DROP_UNMATCHED, 1);
	}
	t->gil = GS_GIL_NONE;
	t->hold_partial = 0;
	if (p->gil_holder == tid)
		p->gil_holder = 0;
	emit_state(p, slot, tid, t, now);
}

/* gil: a sub-interpreter's own GIL, 0 for the main one */
static __always_inline int drop_requested(const struct gs_proc *p, __u64 gil)
{
	__u64 a = p->drop_req_addr;
	__s32 v = 0;

	if (p->drop_req_tstate_off) {
		/* 3.13+: bit 0 of the holder's eval_breaker; drop_gil clears
		 * it only after it has released the GIL */
		__u64 ha = gil ? gil + GS_GIL_LAST_HOLDER_OFF : p->holder_addr;
		__u64 ts = ha ? rd_ptr(ha) : 0, eb = 0;

		if (ts)
			bpf_probe_read_user(&eb, sizeof(eb), (void *)(ts + p->drop_req_tstate_off));
		return eb & 1;
	}

	if (!a && p->drop_req_ptr_addr) {
		a = rd_ptr(p->drop_req_ptr_addr);
		if (a)
			a += p->drop_req_off;
	}
	if (a)
		bpf_probe_read_user(&v, sizeof(v), (void *)a);
	return v != 0;
}

SEC("uprobe")
int BPF_KPROBE(drop_gil_enter)
{
	__u32 slot, tid;
	struct gs_proc *p = probe_proc(&slot, &tid);
	struct gs_thread *t;
	__u64 ret = 0;
	int forced;

	if (!p)
		return 0;
	t = thread_of(bpf_get_current_task_btf());
	if (t && (t->exited || t->slot != slot))
		return 0;
	if (p->drop_req_tstate_off) {
		/* 3.13+: the request flag, as in every strategy */
		forced = drop_requested(p, t ? t->gil_addr : 0);
	} else if (p->forced_by_site) {
		forced = t && t->forced_next;
		if (forced)
			t->forced_next = 0;
	} else {
		/* At entry the return address is on top of the stack: a call
		 * from the eval loop's drop-request path is a forced switch.
		 * (This read costs ~270 ns a release under load, hence the
		 * call-site probes where they can be placed.) */
		bpf_probe_read_user(&ret, sizeof(ret), (void *)PT_REGS_SP(ctx));
		forced = is_forced(p, ret);
	}
	if (t)
		sync_in(t, slot, tid);
	if (t && t->gil_addr) {        /* releasing a sub-interpreter's own GIL */
		sub_released(p, slot, tid, t, forced);
		return 0;
	}
	on_released(p, slot, tid, t, forced, targ_stacks ? tstate_arg(ctx) : 0);
	return 0;
}

/* At a call in the eval loop's drop-request path that leads to drop_gil
 * (drop_gil itself, or what tail-jumps to it in 3.13+): the thread's next
 * release is forced. */
SEC("uprobe")
int BPF_KPROBE(drop_gil_forced)
{
	__u32 slot, tid;
	struct gs_proc *p = probe_proc(&slot, &tid);
	struct gs_thread *t;

	if (p && (t = thread_get(p, slot, bpf_get_current_task_btf(), tid, bpf_ktime_get_ns(), 1)))
		t->forced_next = 1;
	return 0;
}

/* Keyed probes, 3.12+: is gil a sub-interpreter's own GIL? Known ones
 * have an entry in subgils; otherwise an interpreter of the runtime's list
 * must point its ceval.gil at it (a bounded walk, off the main GIL's path). */
#define GS_MAX_INTERP_WALK 16
static __noinline int subgil_valid(struct gs_proc *p, __u32 slot, __u64 gil)
{
	__u64 key = gs_slot_key(slot, gil), interp;
	int i;

	if (!p || !p->interp_head_addr || !gil)
		return 0;
	if (bpf_map_lookup_elem(&subgils, &key))
		return 1;
	interp = rd_ptr(p->interp_head_addr);
	for (i = 0; i < GS_MAX_INTERP_WALK && interp; i++) {
		if (rd_ptr(interp + p->interp_gil_off) == gil)
			return 1;
		interp = rd_ptr(interp + p->interp_next_off);
	}
	return 0;
}

/* At a call to pthread_cond_signal (cookie 1) or pthread_cond_timedwait
 * (cookie 2) anywhere in the runtime: its first argument says whether it
 * is the GIL's, and which step of a hand-off it is. */
SEC("uprobe")
int BPF_KPROBE(gil_cond_call)
{
	__u32 slot, tid;
	struct gs_proc *p = probe_proc(&slot, &tid);
	__u64 cv = PT_REGS_PARM1(ctx);
	struct gs_thread *t;

	if (!p)
		return 0;
	if (bpf_get_attach_cookie(ctx) == 2) {
		if (cv == p->gil_cond_addr)
			on_contended(p, slot, tid);
		else if (p->track_subgils && subgil_valid(p, slot, cv - GS_GIL_COND_OFF))
			sub_contended(p, slot, tid, cv - GS_GIL_COND_OFF);
	} else if (cv == p->gil_switch_cond_addr) {
		on_acquired(p, slot, tid);
	} else if (cv == p->gil_cond_addr) {
		on_released(p, slot, tid, NULL, drop_requested(p, 0), 0);
	} else if (p->track_subgils) {
		if (subgil_valid(p, slot, cv - GS_GIL_SWITCH_COND_OFF)) {
			sub_acquired(p, slot, tid, cv - GS_GIL_SWITCH_COND_OFF);
		} else if ((t = thread_of(bpf_get_current_task_btf())) && t->slot == slot &&
			   t->gil == GS_GIL_HOLDING && t->gil_addr && t->gil_addr == cv - GS_GIL_COND_OFF) {
			sync_in(t, slot, tid);
			sub_released(p, slot, tid, t, drop_requested(p, t->gil_addr));
		}
	}
	return 0;
}

#include "light.bpf.h"

/* The end of a run seen from its switch-in: the kernel's count of its CPU
 * time (sum_exec_runtime, what ps, top and cgroups show) starts before the
 * switch-in tracepoint when the thread was woken on an idle CPU: 15-25 us a
 * run on the 2-vCPU VM of docs/how-it-works.md ("On-CPU time"), against
 * 0.4-3 us otherwise. That much of the off-CPU interval before the run is
 * taken as on-CPU, so the threads' on-CPU time is the kernel's. */
static __noinline void run_early(struct gs_thread *t, __u32 slot, __u64 d)
{
	int off = t->run_from & ~GS_RUN_FROM_RUNQ;

	if (!(off & 1) || off >= GS_NR_TSTATES)
		return;
	if (d > t->off_before)
		d = t->off_before;
	if (d > t->ns[off])
		d = t->ns[off];
	t->ns[off] -= d;
	/* off - 1, spelled out for the verifier */
	if (off == GS_HELD_OFF)
		t->ns[GS_HELD_ON] += d;
	else if (off == GS_WAIT_OFF)
		t->ns[GS_WAIT_ON] += d;
	else
		t->ns[GS_NOGIL_ON] += d;
	if (off == GS_NOGIL_OFF && (t->run_from & GS_RUN_FROM_RUNQ))
		t->runq_ns -= d < t->runq_ns ? d : t->runq_ns;
	cpu_add_as(t, d, off == GS_HELD_OFF);
	count(slot, GS_C_RUN_EARLY_NS, d);
}

/* Does nothing: attached by user/trace/trapcost.c to a nop in gilscope itself,
 * to time what one uprobe trap costs on this machine. */
SEC("uprobe")
int BPF_KPROBE(trap_probe)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	__u32 slot, tid;
	struct gs_proc *p;
	struct gs_thread *t;
	__u64 now = 0;          /* one instant for both sides of the switch */

	/* An exiting thread's last switches come after its exit event (which
	 * closed its accounting): not a thread to create again. */
	if (!(prev->flags & PF_EXITING) && (p = proc_get(prev->tgid, &slot))) {
		now = bpf_ktime_get_ns();
		tid = prev->pid;
		t = thread_get(p, slot, prev, tid, now, 1);
		if (t) {
			__u64 exec = prev->se.sum_exec_runtime, seen;

			/* on-CPU (sync_in() saw to that) since on_since: the
			 * kernel's count of the run may say longer */
			seen = now > t->on_since ? now - t->on_since : 0;
			if (t->exec_ns && exec > t->exec_ns && exec - t->exec_ns > seen)
				run_early(t, slot, exec - t->exec_ns - seen);
			t->run_from = GS_RUN_FROM_NONE;
			if (targ_light)     /* it leaves holding the GIL or not */
				light_observe(p, tid, t, now,
					      t->fx_mutex || prev->__state == 0 ? GS_OBS_ON_WAY : GS_OBS_BLOCKED);
			account(t, now);
			t->oncpu = 0;
			t->exec_ns = exec;
			t->runnable_off = prev->__state == 0;   /* TASK_RUNNING: preempted */
			emit_state(p, slot, tid, t, now);
		}
	}
	if (!(next->flags & PF_EXITING) && (p = proc_get(next->tgid, &slot))) {
		if (!now)
			now = bpf_ktime_get_ns();
		tid = next->pid;
		/* Exact mode: noted only, the thread catches up at its next
		 * event (a probe hit or its switch-out, sync_in). --light and
		 * --trace: applied now. --light's threads have few events of
		 * their own (a GIL holder none until its next contended
		 * release), and caught up lazily its preempted holders read
		 * 0.08-0.14 s a second held off-CPU where exact mode and
		 * --trace, on the same process at once, read 0.01 (4 CPU-bound
		 * threads on 2 CPUs, CPython 3.13). */
		if (!targ_trace && !targ_light) {
			struct gs_run *r = cpu_note();

			if (r) {
				r->tid = tid;
				r->ts = now;
				r->exec = next->se.sum_exec_runtime;
			}
			return 0;
		}
		/* its state changes now (--trace: for the timeline) */
		t = thread_get(p, slot, next, tid, now, 0);
		if (t) {
			if (t->oncpu) {
				count(slot, GS_C_SWITCH_IN_ON, 1);
				t->run_from = GS_RUN_FROM_NONE;
			} else {
				run_note(t, now);
			}
			account(t, now);
			t->oncpu = 1;
			t->runnable_off = 0;
			t->on_since = now;      /* as sync_in's */
			t->exec_ns = next->se.sum_exec_runtime;
			t->cpu = bpf_get_smp_processor_id();
			emit_state(p, slot, tid, t, now);
		}
	}
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p_task)
{
	__u32 slot, tid = p_task->pid;
	struct gs_proc *p = proc_get(p_task->tgid, &slot);
	struct gs_thread *t;
	__u64 now;

	if (!p)
		return 0;
	/* The self-check: the interpreter's switch counter as each thread
	 * leaves (the last one's stands for a target that ends before the
	 * window does). The exiting task is current: its memory is still
	 * readable here on kernels that trace the exit before exit_mm(). */
	if (p->switchnum_addr)
		p->sn_exit_read = bpf_probe_read_user(&p->sn_exit, sizeof(p->sn_exit),
						      (void *)p->switchnum_addr) == 0;
	t = thread_of(p_task);
	if (!t || t->exited || t->slot != slot)
		return 0;
	if (targ_light && t->tstate) {     /* its thread state may be reused */
		__u64 key = gs_slot_key(slot, t->tstate);

		bpf_map_delete_elem(&light_tstates, &key);
	}
	sync_in(t, slot, tid);
	now = bpf_ktime_get_ns();
	account(t, now);
	if (t->gil_addr) {
		/* in a sub-interpreter's GIL: the main GIL's figures are untouched */
	} else if (t->gil == GS_GIL_WAITING) {
		/* take_gil never returned: the thread exited inside it. */
		count(slot, GS_C_EXITED_WAITING, 1);
		if (t->contended && __sync_fetch_and_add(&p->nwaiters, -1) == 1) {
			count(slot, GS_C_CONTENDED_NS, now - p->contend_start);
			handoff_end(p, slot, now);   /* nobody wants it any more */
		}
	} else if (t->gil == GS_GIL_HOLDING) {
		count(slot, GS_C_EXITED_HOLDING, 1);
		count(slot, GS_C_PARTIAL_HOLDS, 1);
		count(slot, GS_C_PARTIAL_HOLD_NS, now - t->gil_since);
		if (p->gil_holder == tid)
			p->gil_holder = 0;
	}
	t->gil = GS_GIL_NONE;
	t->gil_addr = 0;
	t->contended = 0;
	t->oncpu = 0;
	bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), p_task->comm);
	t->exited = 1;
	/* to the collector, which harvests exited threads from there */
	if (bpf_map_update_elem(&closed_threads, &tid, t, BPF_ANY))
		count(slot, GS_C_LOST_THREADS_FULL, 1);
	emit(p, slot, tid, GS_TR_EXIT, 0, now);
	return 0;
}

/* CPU sampling (perf event per CPU, -F HZ): one sample of the running
 * thread's Python stack, tagged with whether it holds the GIL. */
SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__u32 slot, tid;
	struct gs_proc *p = current_proc(&slot, &tid);
	struct gs_thread *t;
	__u64 stack;

	if (!p)
		return 0;
	if (targ_light)         /* the tick also reads the GIL (light.bpf.h) */
		t = thread_get(p, slot, bpf_get_current_task_btf(), tid, bpf_ktime_get_ns(), 1);
	else
		t = thread_of(bpf_get_current_task_btf());
	if (!t || t->exited || t->slot != slot)
		return 0;
	count(slot, GS_C_SAMPLES, 1);
	if (targ_light)
		light_tick(p, slot, tid, t);
	if (!targ_walk_samples || !p->can_walk)
		return 0;
	if (!t->tstate) {
		count(slot, GS_C_NO_TSTATE, 1);
		return 0;
	}
	stack = walk_stack(p, slot, t->tstate);
	if (!stack) {
		count(slot, GS_C_STACK_ERR, 1);
		return 0;
	}
	stack_add(slot, stack, tid, t->gil == GS_GIL_HOLDING ? GS_VIEW_GIL : GS_VIEW_NOGIL, 1);
	return 0;
}

/* PyThreadState of each thread at attach, found by user space walking the
 * interpreter's thread list: keyed by TID (3.11+) or TLS base (older).
 * Refilled for each process before its iterator run. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096); /* threads at attach; more stay unseeded until their first GIL event */
	__type(key, __u64);
	__type(value, __u64);
} seed_tstates SEC(".maps");

/* Run by user space right after a process's probes are attached: creates
 * the state of every thread of process seed_slot that existed at attach,
 * with its CPU state, and marks the thread that held the GIL then (read
 * from the target's memory by user space) unless a GIL event already told
 * us who holds it. */
SEC("iter/task")
int seed_threads(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	__u32 slot = seed_slot;
	struct gs_proc *p = bpf_map_lookup_elem(&procs, &slot);
	struct gs_thread *t, *old;
	__u64 key, *ts;
	__u32 tid;
	int holder, fresh;

	if (!task || !p || task->tgid != p->tgid)
		return 0;
	tid = task->pid;
	holder = !p->gil_acquires &&
		 ((seed_holder_tid && tid == seed_holder_tid) ||
		  (seed_holder_fsbase && task->thread.fsbase == seed_holder_fsbase));
	key = tid;
	ts = bpf_map_lookup_elem(&seed_tstates, &key);
	if (!ts) {
		key = task->thread.fsbase;
		ts = bpf_map_lookup_elem(&seed_tstates, &key);
	}
	old = thread_of(task);
	if (old && old->slot != slot && thread_stale(old, task))
		old = NULL;
	if (old && old->slot == slot) {
		/* Created by a switch since attach: it has run without any GIL
		 * event, so the holder at attach still holds it, and has held
		 * it all along: the time accounted so far, when its GIL state
		 * was not known, was held. */
		if (holder && old->gil == GS_GIL_NONE) {
			__u64 on = __sync_lock_test_and_set(&old->ns[GS_NOGIL_ON], 0);
			struct gs_cpu *c = bpf_map_lookup_percpu_elem(&cpu_time, &slot, old->cpu);

			__sync_fetch_and_add(&old->ns[GS_HELD_ON], on);
			__sync_fetch_and_add(&old->ns[GS_HELD_OFF], __sync_lock_test_and_set(&old->ns[GS_NOGIL_OFF], 0));
			old->runq_ns = 0;           /* a part of GS_NOGIL_OFF, moved */
			if (c) {                    /* on the CPU it ran on last (most likely all of it) */
				if (on > c->without_gil_ns)
					on = c->without_gil_ns;
				__sync_fetch_and_add(&c->without_gil_ns, -on);
				__sync_fetch_and_add(&c->with_gil_ns, on);
			}
			old->gil = GS_GIL_HOLDING;
			old->gil_since = p->t0;
			old->hold_partial = 1;
			old->implicit = seed_implicit;
			p->gil_holder = tid;
		}
		if (ts && !old->tstate) {
			if (targ_light)
				light_own(slot, old, tid, *ts);
			else
				old->tstate = *ts;
		}
		p->seeded = 1;
		return 0;
	}
	t = thread_new(slot, task, &fresh);
	if (!t || !fresh) {    /* no memory, or created meanwhile */
		p->seeded = 1;
		return 0;
	}
	t->since = p->t0;
	t->oncpu = task->on_cpu ? 1 : 0;
	t->exec_ns = task->se.sum_exec_runtime;
	t->cpu = task->thread_info.cpu;
	if (holder) {
		t->gil = GS_GIL_HOLDING;
		t->gil_since = p->t0;
		t->hold_partial = 1;
		t->implicit = seed_implicit;
		p->gil_holder = tid;
	}
	if (ts && targ_light)
		light_own(slot, t, tid, *ts);
	else if (ts)
		t->tstate = *ts;
	barrier();
	t->slot = slot;
	/* A thread first seen here starts its trace track at the window start. */
	emit_state(p, slot, tid, t, p->t0);
	p->seeded = 1;
	return 0;
}

/* Run by user space when a process's window closes: copies the state of
 * each of its live threads into the `closed_threads` hash, where the collector
 * reads it. */
SEC("iter/task")
int dump_threads(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	__u32 slot = dump_slot, tid;
	struct gs_proc *p = bpf_map_lookup_elem(&procs, &slot);
	struct gs_thread *t;

	if (!task || !p || task->tgid != p->tgid)
		return 0;
	t = thread_of(task);
	if (!t || t->slot != slot || t->exited)
		return 0;
	tid = task->pid;
	if (bpf_map_update_elem(&closed_threads, &tid, t, BPF_ANY))
		count(slot, GS_C_LOST_THREADS_FULL, 1);
	bpf_task_storage_delete(&live_threads, task);   /* the window is closed */
	return 0;
}

/* Live views: execs on the host, counted. Discovery (user/trace/discover.c)
 * looks again at the executables of the processes it knows only after
 * one: nothing else replaces a process's executable. */
__u64 execs = 0;

SEC("tp_btf/sched_process_exec")
int BPF_PROG(count_execs)
{
	__sync_fetch_and_add(&execs, 1);
	return 0;
}

/* Live views: copy each traced live thread's state, of every process in
 * snap_slots, to snap_threads; the threads go on being traced. Run by user
 * space (BPF_PROG_RUN), it walks each process's own thread list with the
 * open-coded task iterator: an iter/task program visits every task of the
 * host, each through a PID lookup and translation (~1 us a thread). */
__u64 snap_slots = 0;          /* bit s: slot s is traced (user space sets it) */

/* Weak: a kernel without them (before 6.7) still loads the object for
 * record, which does not load this program. */
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;
extern void bpf_rcu_read_lock(void) __ksym __weak;
extern void bpf_rcu_read_unlock(void) __ksym __weak;
extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task, unsigned int flags) __ksym __weak;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __ksym __weak;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __ksym __weak;
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym __weak;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym __weak;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym __weak;

SEC("syscall")
int snap_live_threads(void *ctx)
{
	struct bpf_iter_num slots;
	int *sp;

	bpf_iter_num_new(&slots, 0, GS_MAX_PROCS);
	while ((sp = bpf_iter_num_next(&slots))) {
		__u32 slot = (__u32)*sp;
		struct task_struct *leader, *task;
		struct bpf_iter_task it;
		struct gs_proc *p;

		if (!(snap_slots & (1ull << (slot & 63))))
			continue;
		p = bpf_map_lookup_elem(&procs, &slot);
		if (!p || !p->tgid || !(leader = bpf_task_from_pid(p->tgid)))
			continue;
		bpf_rcu_read_lock();
		bpf_iter_task_new(&it, leader, BPF_TASK_ITER_PROC_THREADS);
		while ((task = bpf_iter_task_next(&it))) {
			struct gs_thread *t = thread_of(task);
			__u32 idx = snap_n;
			struct gs_snap *e;

			if (!t || t->exited || t->slot != slot)
				continue;
			e = bpf_map_lookup_elem(&snap_threads, &idx);
			if (!e) {
				count(slot, GS_C_LOST_THREADS_FULL, 1);
				continue;
			}
			e->tid = task->pid;
			/* all but its wait histogram: no live view shows a
			 * thread's wait quantiles, and the histogram is more
			 * than half of the entry */
			__builtin_memcpy(&e->st, t, offsetof(struct gs_thread, whist));
			snap_n = idx + 1;
		}
		bpf_iter_task_destroy(&it);
		bpf_rcu_read_unlock();
		bpf_task_release(leader);
	}
	bpf_iter_num_destroy(&slots);
	return 0;
}
