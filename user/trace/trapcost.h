/* SPDX-License-Identifier: MIT */
/* What one uprobe trap costs on this machine, timed at start. */
#ifndef GS_TRAPCOST_H
#define GS_TRAPCOST_H

struct bpf_program;

/* Attach prog (an empty uprobe program) to a nop in gilscope itself, time
 * calls to it against calls without the probe, and detach it in the
 * background (user/trace/detach.h). ns per trap, or -1 if it cannot be timed. */
double trapcost__measure(struct bpf_program *prog);

#endif
