// SPDX-License-Identifier: MIT
/* The price of one uprobe hit on this machine, for the report's tracing
 * cost: an empty BPF program on a nop in gilscope's own code, the fastest
 * of a few rounds of calls with the probe against the same without. It is
 * a floor: in a large program a trap also costs the code its cached state,
 * and gilscope's BPF programs come on top. */
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "inspect/procmaps.h"
#include "common.h"
#include "trace/detach.h"
#include "trace/trapcost.h"

/* The probed instruction: a one-byte nop, which the kernel emulates, as it
 * does the push, call and nop instructions gilscope probes in CPython (a
 * single-stepped instruction would cost ten times as much). */
void gs_trap_site(void);
__asm__(".pushsection .text\n"
	".globl gs_trap_site\n"
	".type gs_trap_site, @function\n"
	"gs_trap_site:\n"
	"\tnop\n"
	"\tret\n"
	".size gs_trap_site, . - gs_trap_site\n"
	".popsection\n");

#define CALLS  400
#define ROUNDS 5

/* ns for CALLS calls: the fastest round, as a round the machine
 * interrupted says nothing about the trap. */
static uint64_t time_calls(void)
{
	uint64_t best = UINT64_MAX;

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = gs_mono_ns(), d;

		for (int i = 0; i < CALLS; i++)
			gs_trap_site();
		d = gs_mono_ns() - t0;
		if (d < best)
			best = d;
	}
	return best;
}

static void detach(void *link)
{
	bpf_link__destroy(link);
}

double trapcost__measure(struct bpf_program *prog)
{
	uint64_t addr = (uint64_t)(uintptr_t)gs_trap_site, off = 0, plain, probed;
	struct proc_maps m = {};
	struct bpf_link *link;
	int found = 0;

	if (!prog || proc_maps__load(getpid(), &m))
		return -1;
	for (size_t i = 0; i < m.n && !found; i++)
		if (addr >= m.v[i].start && addr < m.v[i].end) {
			off = addr - m.v[i].start + m.v[i].offset;
			found = m.v[i].path[0] == '/';
		}
	proc_maps__free(&m);
	if (!found)
		return -1;
	plain = time_calls();
	/* /proc/self/exe: the kernel resolves it here, in any mount
	 * namespace, even for a binary replaced since it started. */
	link = bpf_program__attach_uprobe(prog, false, getpid(), "/proc/self/exe", off);
	if (!link)
		return -1;
	probed = time_calls();
	reaper__run(detach, link);   /* ~0.1 s of the kernel's: off the main path */
	return probed > plain ? (double)(probed - plain) / CALLS : -1;
}
