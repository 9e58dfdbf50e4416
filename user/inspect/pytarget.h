/* SPDX-License-Identifier: MIT */
/* Inspect a process: is it CPython, which version, where are take_gil and
 * drop_gil, which code ranges mean "forced switch", and what is the GIL's
 * state right now. */
#ifndef GS_PYTARGET_H
#define GS_PYTARGET_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "gil.h"
#include "inspect/pyoffsets.h"

enum probe_role {
	PROBE_TAKE,        /* take_gil entry (+ uretprobe when no call sites) */
	PROBE_DROP,        /* drop_gil entry */
	PROBE_ACQUIRED,    /* call pthread_cond_signal(switch_cond) in take_gil: GIL taken */
	PROBE_CONTENDED,   /* take_gil found the GIL busy: its wait loop's entry, or
			      its call pthread_cond_timedwait(cond) (every round) */
	PROBE_COND_SIGNAL, /* any call to pthread_cond_signal: keyed on the GIL's address */
	PROBE_COND_WAIT,   /* any call to pthread_cond_timedwait: keyed likewise */
	PROBE_FORCED,      /* a call to drop_gil in the drop-request path: forced */
};

struct gil_probe {
	char object[PATH_MAX];   /* path as the target sees it */
	char symbol[128];
	uint64_t offset;         /* file offset */
	enum probe_role role;
	int tstate_arg;          /* argument index of PyThreadState* */
	uint64_t addr, size;     /* the symbol (link-time) */
	uint64_t cookie;         /* PROBE_CONTENDED at the wait loop's entry: where
				    the GIL is (GS_WAIT_ENTRY_*); 0 at the call */
};

#define PT_MAX_PROBES 64

struct py_target {
	pid_t pid;
	char exe[PATH_MAX];
	char comm[32];
	char runtime_obj[PATH_MAX];  /* object that holds the interpreter (exe or libpython),
					as /proc/PID/maps names it */
	char runtime_in_root[PATH_MAX]; /* the same as the target sees it (differs for a
					   chroot'd target: rootfs__target_view) */
	char open_path[PATH_MAX + 32]; /* "/proc/self/fd/N": that file, opened inside the target's root */
	int runtime_fd;              /* keeps open_path valid; -1 when none */
	pid_t ns_pid;                /* the pid inside the target's PID namespace */
	int major, minor, micro;     /* micro -1 when unknown */
	char version[32];
	uint64_t bias;               /* load bias of runtime_obj */
	struct gil_probe probes[PT_MAX_PROBES];
	int nprobes;
	uint64_t forced_lo[GS_MAX_FORCED_RANGES], forced_hi[GS_MAX_FORCED_RANGES];
	int nforced;
	uint64_t drop_via[2];        /* link-time addresses of functions that tail-jump
					to drop_gil (3.13+: _PyThreadState_Detach...) */
	int ndrop_via;
	bool forced_sites;           /* PROBE_FORCED probes classify releases */
	const char *strategy;        /* how probes were placed */
	bool call_sites;             /* take_gil's call sites replace its uretprobe */
	bool indirect_sites;         /* ...not used: they call through the GOT */
	/* Address-keyed call sites (no take_gil/drop_gil symbols, or drop_gil
	 * copies inlined where symbols cannot see them): */
	bool keyed;
	bool free_threaded;          /* Py_GIL_DISABLED build: no GIL probes */
	uint64_t gil_addr;      /* the main interpreter's GIL struct */
	uint64_t gil_cond_addr, gil_switch_cond_addr;
	uint64_t drop_req_addr;      /* static flag, or 0 */
	uint32_t drop_req_tstate_off; /* 3.13+: eval_breaker in the holder's tstate
					 (bit 0: drop request), every strategy */
	uint64_t drop_req_ptr_addr;  /* address of the interp pointer, or 0 */
	uint32_t drop_req_off;
	char strategy_why[2 * PATH_MAX + 512]; /* -v: why this strategy */
	/* GIL location in the target */
	uint64_t runtime_addr;       /* _PyRuntime, 0 on 3.6 */
	uint64_t gil_locked_addr, gil_holder_addr, gil_interval_addr;
	bool gil_is_int_fields;      /* 3.6 statics: locked is int, others as in struct */
	uint64_t interp_head_addr;   /* 3.6: the static interp_head */
	struct gs_pyoff pyoff;       /* stack-walk layout */
	bool can_walk;               /* pyoff is valid */
	struct py_debug_offsets dbg; /* 3.13+ */
	bool have_dbg;
	/* The self-check: the main GIL's last_holder and switch_number (0
	 * when unknown), read by BPF at each acquisition and by user space at
	 * the window's edges. */
	uint64_t holder_addr, switchnum_addr;
	/* 3.12+: the runtime's interpreter list, for telling a
	 * sub-interpreter's own GIL from other condition variables (keyed
	 * probes): &interpreters.head, interp->next, interp->ceval.gil */
	uint64_t interp_list_addr;
	uint32_t interp_next_off, interp_gil_ptr_off;
	char gil_note[256];          /* -v: how the GIL's address was found/checked */
};

struct gil_snapshot {
	int locked;                  /* -1 never created, 0 free, 1 held */
	uint64_t holder_tstate;
	uint64_t interval_us;
	uint32_t holder_tid;         /* kernel TID when the version records it, as the
					target's PID namespace numbers it
					(py_target__host_tid gives the host's) */
	uint64_t holder_pthread;     /* pthread_self() of the holder otherwise */
	uint64_t switch_number;      /* gil->switch_number (valid: have_switch_number) */
	bool have_switch_number;
};

/* Whether probe i is attached: with call sites, take_gil's entry is
 * only where they were found, not a probe of its own. */
static inline bool py_target__probe_attached(const struct py_target *pt, int i)
{
	return !(pt->call_sites && pt->probes[i].role == PROBE_TAKE);
}

/* Inspect pid. On failure returns -errno and writes a one-line message
 * (no trailing newline) to err:
 *   -ESRCH no such process; -EACCES cannot read it; -ENOEXEC not CPython;
 *   -EPROTONOSUPPORT Python 2 or an unsupported version; -ENOENT CPython
 *   without take_gil/drop_gil symbols (stripped). */
int py_target__inspect(pid_t pid, struct py_target *pt, char *err, size_t errlen);

/* Call cb(key, tstate) for every thread state of the main interpreter;
 * key is the kernel TID (3.11+) or pthread_self() (older). 0 or -errno. */
int py_target__threads(const struct py_target *pt,
		       void (*cb)(uint64_t key, uint64_t tstate, void *ctx), void *ctx);

/* Close what inspect kept open (after the probes are attached). */
void py_target__release(struct py_target *pt);

/* A TID the target recorded (gettid() in its PID namespace) as the host
 * numbers it; 0 when no thread of the target has it. */
uint32_t py_target__host_tid(const struct py_target *pt, uint32_t ns_tid);

/* Read the GIL's state from the live target's memory. 0 or -errno. */
int py_target__read_gil(const struct py_target *pt, struct gil_snapshot *s);

#endif
