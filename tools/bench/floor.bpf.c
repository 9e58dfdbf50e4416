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
