// SPDX-License-Identifier: GPL-2.0 OR MIT
/* --children: follow the target's process tree.
 *
 * The set of followed processes lives in `tree`; user space puts the root
 * and the descendants already running at attach in it. A fork by any
 * member adds the child before it can run, so grandchildren forked before
 * user space reacts are followed too. Forks, execs and exits of members
 * are streamed to user space, which attaches a GIL tracer to each Python
 * process. Threads (CLONE_THREAD) are not processes and are ignored.
 * Pairs with bpf/proctree.h (its event record) and user/trace/proctree.c. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "proctree.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GS_TREE_MAX);
	__type(key, __u32);       /* tgid */
	__type(value, __u32);     /* parent tgid */
} tree SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18); /* 8 k events between two polls */
} events SEC(".maps");

/* Losses, read by user space and reported. */
__u64 lost_tree_full = 0;  /* a new process could not be followed */
__u64 lost_events = 0;     /* the ring buffer was full */

static __always_inline void notify(__u32 kind, struct task_struct *p, __u32 ppid)
{
	struct gs_proc_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return;
	}
	e->ts = bpf_ktime_get_ns();
	e->kind = kind;
	e->pid = p->tgid;
	e->ppid = ppid;
	e->pad = 0;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), p->comm);
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tree_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, tgid = child->tgid;

	if (child->pid != tgid || !bpf_map_lookup_elem(&tree, &ptgid))
		return 0;
	if (bpf_map_update_elem(&tree, &tgid, &ptgid, BPF_ANY)) {
		__sync_fetch_and_add(&lost_tree_full, 1);
		return 0;
	}
	notify(GS_PE_FORK, child, ptgid);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tree_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = p->tgid;

	if (bpf_map_lookup_elem(&tree, &tgid))
		notify(GS_PE_EXEC, p, 0);
	return 0;
}

/* The last thread of a process: signal->live reaches 0 before this
 * tracepoint (exit_signals/do_exit), so it marks the whole group gone. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(tree_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;

	if (p->signal->live.counter > 0 || !bpf_map_lookup_elem(&tree, &tgid))
		return 0;
	notify(GS_PE_EXIT, p, 0);
	bpf_map_delete_elem(&tree, &tgid);
	return 0;
}
