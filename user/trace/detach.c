// SPDX-License-Identifier: MIT
#include <pthread.h>
#include <stdlib.h>
#include "trace/detach.h"

struct job {
	pthread_t th;
	void (*fn)(void *);
	void *arg;
	struct job *next;
};

static struct job *jobs;

static void *run(void *p)
{
	struct job *j = p;

	j->fn(j->arg);
	return NULL;
}

void reaper__run(void (*fn)(void *), void *arg)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j) {
		fn(arg);
		return;
	}
	j->fn = fn;
	j->arg = arg;
	if (pthread_create(&j->th, NULL, run, j)) {
		free(j);
		fn(arg);
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
