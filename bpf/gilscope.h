/* SPDX-License-Identifier: MIT */
/* Types shared by the BPF programs (bpf/) and the collector (user/).
 * Plain fixed-width types only: this header is compiled by clang -target bpf
 * and by gcc. */
#ifndef GILSCOPE_H
#define GILSCOPE_H

#include "hist.h"

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

/* Live per-thread state, keyed by TID in the "threads" hash map. */
struct gs_thread {
	__u64 since;            /* start of the current (tstate) interval */
	__u64 gil_since;        /* start of the current wait or hold */
	__u64 ns[GS_NR_TSTATES];
	__u64 holds;            /* complete holds (acquire seen inside window) */
	__u64 waits;            /* complete waits */
	__u64 wait_max_ns;
	__u64 hold_max_ns;      /* longest complete hold */
	__u64 partial_holds;    /* holds whose start predates the window */
	__u32 cpu;              /* CPU it runs on, valid when oncpu */
	__u8 oncpu;
	__u8 gil;               /* enum gs_gil */
	__u8 exited;            /* thread exited; user space harvests and deletes */
	__u8 hold_partial;      /* current hold started before the window */
	__u8 contended;         /* current wait found the GIL taken */
	char comm[16];
};

/* Per-CPU time the target's threads spent on each CPU (PERCPU_ARRAY, 1 slot). */
struct gs_cpu {
	__u64 with_gil_ns;
	__u64 without_gil_ns;
};

/* Process-wide GIL counters (global .bss, updated atomically). */
enum gs_counter {
	GS_C_FORCED = 0,        /* drops from the eval loop's drop-request path */
	GS_C_VOLUNTARY,         /* every other drop */
	GS_C_HOLD_NS,           /* total hold time of completed holds */
	GS_C_WAIT_NS,           /* total wait time of completed waits (= waiter integral) */
	GS_C_CONTENDED_NS,      /* time with >= 1 contended waiter */
	GS_C_CWAITS,            /* waits that found the GIL taken */
	GS_C_CWAIT_NS,          /* their total time (= integral of the waiter count) */
	GS_C_PARTIAL_HOLD_NS,   /* hold time of holds that began before attach */
	GS_C_PARTIAL_HOLDS,
	/* loss and oddity accounting: each one is shown in the report */
	GS_C_LOST_THREADS_FULL, /* thread map full: a thread went untracked */
	GS_C_LOST_THIST_FULL,   /* per-thread histogram map full */
	GS_C_TAKE_RET_UNMATCHED,/* take_gil returned without a seen entry */
	GS_C_DROP_UNMATCHED,    /* drop_gil by a thread not known to hold */
	GS_C_DROP_WHILE_WAIT,   /* drop_gil inside take_gil (finalization path) */
	GS_C_EXITED_WAITING,    /* thread exited inside take_gil (never returned) */
	GS_C_EXITED_HOLDING,    /* thread exited holding the GIL */
	GS_NR_COUNTERS,
};

enum gs_hist { GS_HIST_HOLD = 0, GS_HIST_WAIT, GS_NR_HISTS };

/* Per-thread wait histogram: sparse hash keyed by (tid, bucket). */
struct gs_thist_key {
	__u32 tid;
	__u32 bucket;
};

/* Address ranges whose return addresses mark a drop_gil call as forced. */
#define GS_MAX_FORCED_RANGES 6

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
	__u32 pad;
};

#endif /* GILSCOPE_H */
