// SPDX-License-Identifier: MIT
/* Threads -> processes, Amdahl-style on measured parts. In the window W
 * the threads ran S s of Python holding the GIL (serial: one thread at a
 * time) and N s of native code without it (parallel). The same work split
 * evenly over P processes, each with its own GIL, on P CPUs it may use,
 * needs at least (S + N) / P of CPU time per process: the ideal speedup is
 * W / ((S + N) / P), and no more than P (time the threads spent blocked
 * off-CPU is taken to shrink as much as the work, not more). */
#include <stdio.h>
#include <string.h>
#include "model/figures.h"
#include "model/predict.h"

void predict(const struct gs_report *r, struct prediction *p)
{
	double win = r->window_s, work;
	int cpus = r->limits.known && r->limits.cpus_usable > 0 ? r->limits.cpus_usable :
		   r->limits.known && r->limits.cpus_online > 0 ? r->limits.cpus_online : r->ncpus;
	unsigned threads = 0;

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < r->nthreads; i++)
		threads += r->threads[i].held_s + r->threads[i].native_s > 0;
	p->serial_s = r->held_s;
	p->parallel_s = r->native_s;
	work = p->serial_s + p->parallel_s;
	if (threads < 2 || win <= 0 || work <= 0 || cpus < 2 || p->serial_s < GS_PREDICT_MIN_HELD_SHARE * win)
		return;
	p->have = true;
	p->advice = "processes";
	p->workers = cpus;
	p->high = win / (work / cpus);
	if (p->high > cpus)
		p->high = cpus;
	p->low = p->high * (1 - GS_PREDICT_OVERHEAD);
	snprintf(p->assumptions, sizeof(p->assumptions),
		 "the same work split evenly over %d processes on %d CPUs otherwise idle; %.2f s of Python with the "
		 "GIL and %.2f s of native code in a %.2f s window; low end: %.0f%% for start-up and passing data",
		 cpus, cpus, p->serial_s, p->parallel_s, win, 100 * GS_PREDICT_OVERHEAD);
}
