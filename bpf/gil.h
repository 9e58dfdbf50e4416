/* SPDX-License-Identifier: MIT */
/* GIL tracing: the types and map layouts shared by bpf/gil.bpf.c and
 * user/trace/gil_tracer.c (thread state, counters, histogram indexes,
 * sub-interpreter GILs, trace records, the process slot). user/model/ and
 * user/render/ read them through user/model/raw.h. The stack walk's layout
 * is in pystack.h, CPython's offsets in pyoffsets.h.
 * Plain fixed-width types only: this header is compiled by clang -target bpf
 * and by gcc. */
#ifndef GS_GIL_H
#define GS_GIL_H

#ifndef __VMLINUX_H__ /* user space; BPF code gets the types from vmlinux.h */
#include <linux/types.h>
#endif
#include "hist.h"

/* gs_thread.run_from */
#define GS_RUN_FROM_RUNQ 0x80
#define GS_RUN_FROM_NONE 0xff

/* What a thread is doing, as the BPF side accounts its time. Every
 * nanosecond of a thread's life inside the window lands in exactly one. */
enum gs_tstate {
	GS_HELD_ON = 0,   /* on-CPU, holding the GIL (running Python) */
	GS_HELD_OFF,      /* off-CPU while holding the GIL (preempted/blocked holder) */
	GS_WAIT_ON,       /* inside take_gil, on-CPU (rare: spinning/handoff) */
	GS_WAIT_OFF,      /* inside take_gil, off-CPU (cond wait) */
	GS_NOGIL_ON,      /* on-CPU without the GIL: native code that released it */
	GS_NOGIL_OFF,     /* off-CPU without the GIL: I/O, sleep, locks */
	GS_NR_TSTATES,
};

enum gs_gil { GS_GIL_NONE = 0, GS_GIL_WAITING = 1, GS_GIL_HOLDING = 2 };

/* Per-thread state: live in the task's storage ("live_threads"), copied by
 * TID to the "closed_threads" hash for the collector when the thread exits
 * or the window closes. */
struct gs_thread {
	__u64 since;            /* start of the current (tstate) interval */
	__u64 gil_since;        /* start of the current wait or hold */
	__u64 ns[GS_NR_TSTATES];
	__u64 holds;            /* complete holds (acquire seen inside window) */
	__u64 waits;            /* complete waits */
	__u64 wait_max_ns;
	__u64 hold_max_ns;      /* longest complete hold */
	__u64 hold_ns;          /* total of its complete holds */
	__u64 runq_ns;          /* part of GS_NOGIL_OFF spent runnable, waiting for a CPU */
	__u64 partial_holds;    /* holds whose start predates the window */
	__u32 cpu;              /* CPU it runs on, valid when oncpu */
	__u8 oncpu;
	__u8 gil;               /* enum gs_gil */
	__u8 exited;            /* thread exited; user space harvests and deletes */
	__u8 hold_partial;      /* current hold started before the window */
	__u8 contended;         /* current wait found the GIL taken */
	__u8 implicit;          /* 3.6 before its GIL exists: runs Python alone,
				   "holds" it unless asleep */
	__u8 runnable_off;      /* off-CPU but runnable (preempted), not asleep */
	__u8 forced_next;       /* its next release is forced (drop_gil_forced) */
	__u32 slot;             /* its process's slot in "procs" */
	__u8 fx_cond;           /* --light: inside a futex wait on the GIL's cond */
	__u8 light_seen;        /* --light: its current hold began at a seen
				   hand-off (else found by an observation) */
	__u8 light_pending;     /* --light: woken to take the GIL, not yet seen
				   holding it (it may block on the GIL's mutex
				   first) */
	__u8 fx_mutex;          /* --light: inside a futex wait on the GIL's mutex */
	__u8 fx_shift;          /* --light: a woken waiter's futex call on the
				   GIL before it takes it: its wait ends after */
	__u8 light_preempted;   /* --light: woken to take the GIL, it left the CPU
				   before taking it: its wait ends at its next run */
	__u8 run_from;          /* the off-CPU state (enum gs_tstate, | GS_RUN_FROM_RUNQ
				   when runnable) its current run began from;
				   GS_RUN_FROM_NONE: unknown */
	__u8 pad2[1];
	__u32 light_ticks;      /* --light: CPU-sampling ticks that found it on-CPU
				   outside a wait, its GIL state readable... */
	__u32 light_ticks_held; /* ...and of them, holding the GIL: the on-CPU
				   time user space splits by this ratio */
	__u64 light_wait_start; /* --light: start of the wait its last wake-up
				   ended (a later end moves it: light_shift) */
	__u64 light_sn;         /* --light: the GIL's switch_number at that
				   wake-up, +1 (0: not read) */
	__u64 gil_addr;         /* the GIL waited for/held when it is a
				   sub-interpreter's own (3.12+); 0 = main GIL */
	__u64 sub_held_ns;      /* of the held time: holding a sub-interpreter's GIL */
	__u64 exec_ns;          /* the task's sum_exec_runtime at its last switch-out
				   or switch-in (0 unknown): repairs scheduler
				   events not seen */
	__u64 on_since;         /* start of its current run, when on-CPU */
	__u64 off_before;       /* length of that interval (run_from's state) up
				   to the switch-in */
	__u64 tstate;           /* PyThreadState *, from probe args or attach */
	__u64 wait_stack;       /* stack at the current wait's start */
	__u64 rel_stack;        /* stack walked at its last release... */
	__u64 rel_tstate;       /* ...of this tstate; 0 once it has taken the
				   GIL again (no Python ran in between: a wait
				   starts on that same stack) */
	char comm[16];
	__u32 whist[GS_THIST_SLOTS]; /* its complete waits (bpf/hist.h): in its own
					entry, as a separate map cost a lookup per wait */
};

/* A live thread's state as snap_live_threads copies it (top, serve). */
struct gs_snap {
	__u32 tid;
	__u32 pad;
	struct gs_thread st;
};

/* The last switch-in of a traced thread on this CPU ("last_switch_in",
 * PERCPU_ARRAY, 1 entry).
 * A switch-in is only noted here; the thread's own state catches up at its
 * next event on this CPU (a uprobe, its switch-out, its exit), which saves
 * a thread lookup per switch-in. tid 0: none yet. */
struct gs_run {
	__u32 tid;
	__u32 pad;
	__u64 ts;
	__u64 exec;             /* its sum_exec_runtime then */
};

/* The time a traced process's threads spent on each CPU ("cpu_time",
 * PERCPU_ARRAY, index = slot). */
struct gs_cpu {
	__u64 with_gil_ns;
	__u64 without_gil_ns;
};

/* Per-process GIL counters ("counters", PERCPU_ARRAY: gs_counter_idx). */
enum gs_counter {
	GS_C_FORCED = 0,        /* drops from the eval loop's drop-request path */
	GS_C_VOLUNTARY,         /* every other drop */
	GS_C_HOLD_NS,           /* total hold time of completed holds */
	GS_C_WAIT_NS,           /* total time of completed waits, all contended
				   (= the integral of the waiter count) */
	GS_C_CONTENDED_NS,      /* time with >= 1 contended waiter */
	GS_C_PARTIAL_HOLD_NS,   /* hold time of holds that began before attach */
	GS_C_PARTIAL_HOLDS,
	/* loss and oddity accounting: each one is shown in the report */
	GS_C_LOST_THREADS_FULL, /* no memory for a thread's state, or the
				   closed_threads hash full: a thread went
				   untracked */
	GS_C_TAKE_RET_UNMATCHED,/* take_gil returned without a seen entry */
	GS_C_DROP_UNMATCHED,    /* drop_gil by a thread not known to hold */
	GS_C_DROP_WHILE_WAIT,   /* drop_gil inside take_gil (finalization path) */
	GS_C_EXITED_WAITING,    /* thread exited inside take_gil (never returned) */
	GS_C_EXITED_HOLDING,    /* thread exited holding the GIL */
	GS_C_STACKS_FULL,       /* stack table full: weight dropped */
	GS_C_CODES_FULL,        /* code table full: frames unsymbolized */
	GS_C_COUNTS_FULL,       /* stack weight table full */
	GS_C_STACK_ERR,         /* unreadable frame chain */
	GS_C_TRUNCATED,         /* stacks cut at the depth limit */
	GS_C_NO_TSTATE,         /* sample of a thread whose tstate is unknown */
	GS_C_TRACE_LOST,        /* trace records the ring buffer dropped */
	GS_C_SAMPLES,           /* CPU samples of the target taken */
	GS_C_ACQUIRES,          /* GIL acquisitions (waited for or not) */
	GS_C_OTHER_GIL,         /* acquisitions of a sub-interpreter's own GIL */
	GS_C_SUBGILS_FULL,      /* sub-interpreter GIL table full: its events dropped */
	GS_C_SWITCH_OUT_OFF,    /* a thread believed off-CPU found running (its probe
				   hit, switch-out or exit): a switch-in came with no
				   sched_switch event (its run is repaired from the
				   task's CPU time) */
	GS_C_SWITCH_IN_ON,      /* switch-in of a thread already on-CPU: a switch-out
				   was not seen (repaired likewise) */
	GS_C_CODE_REUSED,       /* a code object's address held another one before */
	GS_C_WALK_RACED,        /* a stack walk preempted by another on its CPU:
				   dropped (its frames may be mixed) */
	GS_C_PROBE_HITS,        /* runs of the uprobe programs: the traps the
				   target paid for being traced */
	GS_C_HANDOFF_NS,        /* hand-offs: time from a release that left threads
				   waiting to the next acquisition, the GIL free
				   while wanted (their count: GS_HIST_HANDOFF) */
	GS_C_VOLUNTARY_HANDOFF, /* voluntary releases that left threads waiting
				   (the forced ones always do) */
	/* --light (bpf/light.bpf.h): how its figures were made */
	GS_C_LIGHT_FUTEX,       /* futex calls on the GIL's words seen */
	GS_C_LIGHT_OBS,         /* reads of the GIL's state (samples, switch-outs) */
	GS_C_LIGHT_OBS_LOCKED,  /* ... that found it locked */
	GS_C_LIGHT_OBS_BAD,     /* ... whose `locked` was neither 0 nor 1 */
	GS_C_LIGHT_UNSEEN,      /* holds with an end or a start no futex call
				   marked: found by an observation, timed to it */
	GS_C_LIGHT_UNSEEN_NS,   /* their time */
	GS_C_LIGHT_STOLEN,      /* a woken waiter found the GIL taken again */
	GS_C_LIGHT_REWAIT,      /* a thread taken for the holder waited again:
				   its acquisition was not one */
	GS_C_LIGHT_LATE,        /* acquisitions found by a read, not at a futex
				   return (timed to the read) */
	GS_C_LIGHT_SHIFTED,     /* acquisitions moved from a wake-up to the end
				   of a block on the GIL's mutex */
	GS_C_LIGHT_PASSON,      /* signals on the GIL's cond by a waiter passing
				   one on (glibc, after a time-out): no release */
	GS_C_LIGHT_EARLY_TAKE,  /* releases seen after the waiter they left was
				   taken for the holder: hand-offs of no length */
	GS_C_LIGHT_QUICK_WAIT,  /* releases that left a waiter never seen to
				   block: waits (and hand-offs) of no length */
	GS_C_RUN_EARLY_NS,      /* CPU time the kernel charged runs before their
				   switch-in (a CPU coming out of idle): moved
				   from the off-CPU time before each run */
	GS_NR_COUNTERS,
};

/* GS_HIST_HANDOFF: release with waiters -> next acquisition (main GIL only) */
enum gs_hist { GS_HIST_HOLD = 0, GS_HIST_WAIT, GS_HIST_HANDOFF, GS_NR_HISTS };

/* A sub-interpreter's own GIL (3.12+), keyed by its address in the
 * "subgils" map. Several CPUs update it: plain counters use atomics. */
struct gs_subgil {
	__u64 holds, hold_ns, hold_max_ns;
	__u64 waits, wait_ns, wait_max_ns;
	__u64 forced, voluntary;
	__u64 hist[GS_HIST_WAIT + 1][GS_HIST_SLOTS];   /* holds and waits */
};
#define GS_MAX_SUBGILS 64

/* Attach cookie of take_gil_contended at the wait loop's entry (user/
 * waitloop.h); 0 at the pthread_cond_timedwait call (its first argument is
 * the GIL's cond). REG: the GIL is a callee-saved register (bits 8-15, in
 * pt_regs order from r15: r15 r14 r13 r12 bp bx) plus a displacement (bits
 * 32-63, signed). ONE: the process has one GIL (3.6-3.11). */
#define GS_WAIT_ENTRY_REG 1ull
#define GS_WAIT_ENTRY_ONE 2ull

/* Address ranges whose return addresses mark a drop_gil call as forced. */
#define GS_MAX_FORCED_RANGES 6

/* One finished GIL hold, for the blame view (see hold_ring in gil.bpf.c). */
#define GS_HOLD_RING 32
struct gs_hold_rec {
	__u64 seq;
	__u64 start, end, stack;
	__u32 tid, pad;
};

/* --trace: one record per thread transition, streamed through a ring
 * buffer (the only per-event output; everything else is aggregated). */
enum gs_trace_kind {
	GS_TR_STATE = 0,   /* thread tid entered `state` (enum gs_tstate) */
	GS_TR_FORCED,      /* tid released the GIL on a waiter's drop request */
	GS_TR_EXIT,        /* thread tid exited */
};

struct gs_trace_rec {
	__u64 ts;          /* CLOCK_MONOTONIC ns */
	__u32 tid;
	__u8 kind;         /* enum gs_trace_kind */
	__u8 state;        /* enum gs_tstate, GS_TR_STATE only */
	__u16 cpu;
	__s32 waiters;     /* contended waiters right after this event */
	__u32 tgid;        /* its process */
};

/* The programs of gil.bpf.c, by name (their fields in the skeleton): the
 * ones whose kernel run statistics a report lists (struct prog_stat in
 * user/model/raw.h, in this order), then the ones user space runs or
 * attaches to itself. user/trace/gil_tracer.c builds its table from the
 * first list and checks at compile time that the two name every program
 * of the skeleton. */
#define GS_REPORTED_PROGS(X) \
	X(take_gil_enter) X(take_gil_exit) X(take_gil_acquired) \
	X(take_gil_contended) X(drop_gil_enter) X(drop_gil_forced) \
	X(gil_cond_call) \
	X(sched_switch) X(sched_process_exit) X(on_sample) \
	X(light_futex_enter) X(light_futex_exit)
#define GS_UNREPORTED_PROGS(X) X(trap_probe) X(seed_threads) X(dump_threads) X(snap_live_threads) \
	X(count_execs)
#define GS_PROG_ONE(name) + 1
#define GS_NR_PROGS (0 GS_REPORTED_PROGS(GS_PROG_ONE))

/* Processes one BPF object traces at once (--children): the target and
 * its descendants. Slots are reused once a process's report is read. */
#define GS_MAX_PROCS 64
/* Live threads a live view (top, serve) copies once an interval. */
#define GS_SNAP_THREADS 16384

/* Map keys and indexes: one helper per map kind, for both sides. */

/* Keys of per-process hash entries ("codes", "subgils"): the process's
 * slot above a user-space address (47 bits). */
#define GS_ADDR_MASK ((1ull << 48) - 1)
static inline __u64 gs_slot_key(__u32 slot, __u64 addr)
{
	return ((__u64)slot << 48) | (addr & GS_ADDR_MASK);
}
static inline __u32 gs_key_slot(__u64 key) { return (__u32)(key >> 48); }
static inline __u64 gs_key_addr(__u64 key) { return key & GS_ADDR_MASK; }

/* "counters" (PERCPU_ARRAY): GS_NR_COUNTERS per slot. */
#define GS_COUNTER_ENTRIES(nslots) ((nslots) * GS_NR_COUNTERS)
static inline __u32 gs_counter_idx(__u32 slot, __u32 counter)
{
	return slot * GS_NR_COUNTERS + counter;
}

/* "hists": GS_NR_HISTS histograms (enum gs_hist) of GS_HIST_SLOTS buckets
 * per slot; bucket b of a histogram is at gs_hist_idx(slot, kind) + b. */
#define GS_HIST_ENTRIES(nslots) ((nslots) * GS_NR_HISTS * GS_HIST_SLOTS)
static inline __u32 gs_hist_idx(__u32 slot, __u32 kind)
{
	return (slot * GS_NR_HISTS + kind) * GS_HIST_SLOTS;
}

/* "procs", "cpu_time": index = slot. */

/* One traced process (ARRAY map "procs", index = slot): configuration
 * written by user space before its probes attach, then its GIL's state,
 * kept by BPF. */
struct gs_proc {
	__u32 tgid;
	__u32 track_subgils;    /* 3.12+ call sites: sub-interpreter GILs apart */
	__u64 forced_lo[GS_MAX_FORCED_RANGES];
	__u64 forced_hi[GS_MAX_FORCED_RANGES];
	/* the main interpreter's GIL: its condition variables (call-site and
	 * address-keyed probes check their argument against them), and
	 * where its drop-request flag lives (address-keyed mode) */
	__u64 gil_addr;
	__u64 gil_cond_addr, gil_switch_cond_addr;
	__u64 drop_req_addr;        /* static flag (3.7/3.8) */
	__u64 drop_req_ptr_addr;    /* &interpreters.main (3.9-3.12) */
	__u32 drop_req_off;
	__u32 can_walk;             /* stacks walk with the object's targ_pyoff */
	__u64 code_type;            /* &PyCode_Type (3.13+), 0 = don't check */
	__u64 t0;                   /* window start, CLOCK_MONOTONIC ns */
	__u32 forced_by_site;       /* config: a probe at the eval loop's calls
				       marks forced releases (else drop_gil's
				       return address is read) */
	__u32 seeded;               /* the seed iterator has run */
	/* 3.13+: the drop request is bit 0 of the holder's
	 * tstate->eval_breaker; this is its offset in the thread state (0:
	 * the flag is elsewhere, see drop_req_*). The holder is read from
	 * gil->last_holder at the release. */
	__u32 drop_req_tstate_off;
	__u32 pad0;
	/* The self-check (user/model/selfcheck.h): where the main GIL's
	 * last_holder and switch_number live (0: unknown). At each
	 * acquisition BPF reads both, counts a switch when the holder's
	 * tstate differs from the previous holder's, as CPython's take_gil
	 * counts them, and keeps the interpreter's own counter at the first
	 * and the last acquisition it saw. */
	__u64 holder_addr;
	__u64 switchnum_addr;
	/* The GIL-address-keyed probes on 3.12+: a condition variable that
	 * is not the main GIL's may be a sub-interpreter's own GIL. It is
	 * one if an interpreter of the runtime's list (from interp_head_addr,
	 * linked at interp_next_off) points its ceval.gil (interp_gil_off)
	 * at it. 0: sub-interpreter GILs are not looked for this way. */
	__u64 interp_head_addr;
	__u32 interp_next_off, interp_gil_off;
	/* state every GIL hand-off writes, a cache line (or more) away: the
	 * CPU taking the GIL does not also miss on the configuration read
	 * by every event */
	__u64 pad_line[8];
	__u32 gil_holder;           /* TID holding the GIL, 0 none/unknown */
	__u32 gil_acquires;         /* an acquisition was seen */
	__s64 nwaiters;             /* threads in take_gil that found it taken */
	__u64 contend_start;        /* when nwaiters last went 0 -> 1 */
	__u64 free_since;           /* a release with waiters, until the next
				       acquisition (0: none pending) */
	__u64 handoff_max_ns;       /* longest such hand-off */
	__u64 hold_ring_next;
	/* self-check state, written only by the thread taking the GIL */
	__u64 sw_first_tstate;      /* the holder at the first acquisition seen */
	__u64 sw_last_tstate;       /* ... and at the latest */
	__u64 sw_count;             /* holder changes seen after the first acquisition */
	__u64 sn_first, sn_last;    /* switch_number at the first/last acquisition */
	__u32 sn_seen;              /* acquisitions whose holder and counter were read */
	__u32 sn_unreadable;        /* acquisitions where they could not be read */
	__u64 sn_exit;              /* switch_number as the last thread exited */
	__u32 sn_exit_read;         /* sn_exit is valid (the last exit's read worked) */
	__u32 pad1;
	struct gs_hold_rec hold_ring[GS_HOLD_RING];
};

#endif /* GS_GIL_H */
