// SPDX-License-Identifier: MIT
#include <pthread.h>
#include <stdlib.h>
#include "reaper.h"

struct job {
	pthread_t th;
	struct job *next;
};

static struct job *jobs;

static void *run(void *arg)
{
	tracer__free(arg);
	return NULL;
}

void reaper__free(struct tracer *tr)
{
	struct job *j;

	if (!tr)
		return;
	j = calloc(1, sizeof(*j));
	if (!j || pthread_create(&j->th, NULL, run, tr)) {
		free(j);
		tracer__free(tr);
		return;
	}
	j->next = jobs;
	jobs = j;
}

void reaper__wait(void)
{
	while (jobs) {
		struct job *j = jobs;

		jobs = j->next;
		pthread_join(j->th, NULL);
		free(j);
	}
}
