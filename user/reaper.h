/* SPDX-License-Identifier: MIT */
/* Free tracers in the background. Detaching a uprobe makes the kernel wait
 * for a grace period (~0.1 s each on this kernel); a child's tracer is
 * freed off the main loop, so following the process tree never stalls,
 * and at the end all of them are freed at once, in parallel. */
#ifndef GS_REAPER_H
#define GS_REAPER_H

#include "tracer.h"

/* Free tr in a background thread (synchronously if none can start). */
void reaper__free(struct tracer *tr);
/* Wait until every tracer handed over is freed. */
void reaper__wait(void);

#endif
