/* SPDX-License-Identifier: MIT */
/* --children's process tree: types shared by bpf/proctree.bpf.c and
 * user/trace/proctree.c (which includes it as <proctree.h>: its own header
 * user/trace/proctree.h has the same name). */
#ifndef GS_PROCTREE_H
#define GS_PROCTREE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

enum gs_proc_event_kind {
	GS_PE_FORK = 1,   /* a followed process forked a new process */
	GS_PE_EXEC,       /* a followed process exec'd a new image */
	GS_PE_EXIT,       /* a followed process (its last thread) exited */
};

struct gs_proc_event {
	__u64 ts;         /* CLOCK_MONOTONIC ns */
	__u32 kind;       /* enum gs_proc_event_kind */
	__u32 pid;        /* the process (tgid) */
	__u32 ppid;       /* its parent, GS_PE_FORK only */
	__u32 pad;
	char comm[16];
};

#define GS_TREE_MAX 8192  /* processes followed at once */

#endif /* GS_PROCTREE_H */
