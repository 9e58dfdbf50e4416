// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "model/timeline.h"

struct timeline *timeline__new(pid_t pid, const char *process_name, uint64_t t0_ns)
{
	struct timeline *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->pid = pid;
	w->t0 = t0_ns;
	if (process_name && *process_name) {
		w->process_name = strdup(process_name);
		if (!w->process_name) {
			free(w);
			return NULL;
		}
	}
	return w;
}

void timeline__free(struct timeline *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nnames; i++)
		free(w->names[i].name);
	free(w->names);
	free(w->recs);
	free(w->process_name);
	free(w);
}

int timeline__add(struct timeline *w, const struct gs_trace_rec *r)
{
	if (gs_grow(&w->recs, &w->recs_cap, w->nrecs + 1, sizeof(*w->recs), 1024)) {
		w->dropped++;
		return -ENOMEM;
	}
	w->recs[w->nrecs].r = *r;
	w->recs[w->nrecs].seq = w->seq++;
	w->nrecs++;
	return 0;
}

int timeline__thread_name(struct timeline *w, uint32_t tid, const char *name)
{
	char *copy;

	if (!name || !*name)
		return 0;       /* an empty name would hide the track's tid */
	copy = strdup(name);
	if (!copy || gs_grow(&w->names, &w->names_cap, w->nnames + 1, sizeof(*w->names), 1024)) {
		free(copy);
		return -ENOMEM;
	}
	w->names[w->nnames].tid = tid;
	w->names[w->nnames].name = copy;
	w->nnames++;
	return 0;
}
