/* SPDX-License-Identifier: MIT */
/* --light's estimates: what its figures are made of (bpf/light.bpf.h).
 *
 * Waits, hand-offs, forced releases and holds between two hand-offs come
 * from futex calls and are exact. A thread taking and dropping a GIL
 * nobody waits for makes no call: its on-CPU time outside waits is split
 * between "holding" and "native" by the share of its CPU-sampling ticks
 * that found it holding (a ratio estimate: ticks land uniformly over its
 * on-CPU time). Its off-CPU time is split exactly: the GIL is read at
 * every switch-out. */
#ifndef GS_LIGHT_H
#define GS_LIGHT_H

#include <stdbool.h>
#include <stdint.h>
#include "model/raw.h"

/* A thread's on-CPU time outside waits, split: as accounted when !light
 * or no tick found it, else by its ticks. */
void light__split(const struct gs_thread *st, bool light, uint64_t *held_on, uint64_t *nogil_on);

#endif
