/* SPDX-License-Identifier: MIT */
/* Thread IDs as a containerised target numbers them, back to the host's.
 * CPython records gettid() in tstate->native_thread_id (3.11+): inside a
 * PID namespace that is the namespace's number, while the kernel (and
 * gilscope's BPF side) key threads by the host's. */
#ifndef GS_NSTID_H
#define GS_NSTID_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct nstid_pair {
	uint32_t host, ns;
};

struct nstid_map {
	struct nstid_pair *v;
	size_t n;
};

/* At most this many threads are mapped (the rest stay unknown). */
#define NSTID_MAX 65536

/* Read every thread of pid (/proc/PID/task and each one's NSpid line).
 * 0 or -errno; an empty map is not an error. */
int nstid_map__load(pid_t pid, struct nstid_map *m);

/* The host TID of the thread the target's namespace calls ns, 0 if none. */
uint32_t nstid_map__host(const struct nstid_map *m, uint32_t ns);

void nstid_map__free(struct nstid_map *m);

#endif
