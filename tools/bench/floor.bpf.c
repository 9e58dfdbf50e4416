// SPDX-License-Identifier: GPL-2.0 OR MIT
/* The benchmark's trap floor (tools/bench/floor.c): a uprobe program that
 * does nothing, so that a probe hit costs only the trap itself. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("uprobe")
int BPF_KPROBE(floor_hit)
{
	return 0;
}

/* The tracepoint floor (floor -t): empty programs on the tracepoints
 * --light attaches (bpf/light.bpf.h, bpf/gil.bpf.c), so that a hit costs
 * only the tracepoint's own dispatch. They fire for every process. */
SEC("tracepoint/syscalls/sys_enter_futex")
int floor_futex_enter(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_futex")
int floor_futex_exit(void *ctx)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(floor_switch)
{
	return 0;
}
