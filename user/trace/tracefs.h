/* SPDX-License-Identifier: MIT */
/* tracefs, where the kernel lists its tracepoints: libbpf reads a
 * tracepoint's ID there to attach a program to it (the futex syscall
 * tracepoints of --light). A host that never mounted it (a fresh VM, a
 * minimal image) has an empty /sys/kernel/tracing: gilscope mounts it
 * there, as perf and bpftrace do. */
#ifndef GS_TRACEFS_H
#define GS_TRACEFS_H

#include <stddef.h>

/* 0 when tracefs is mounted (found, or mounted now); -errno with the
 * reason in err otherwise. */
int tracefs__ensure(char *err, size_t errlen);

#endif
