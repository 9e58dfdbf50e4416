// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "inspect/rootfs.h"
#include "inspect/nstid.h"

int nstid_map__load(pid_t pid, struct nstid_map *m)
{
	char path[64];
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return -errno;
	while ((de = readdir(d)) && m->n < NSTID_MAX) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);
		int ns;

		if (*end || tid <= 0)
			continue;
		ns = rootfs__ns_pid(pid, (pid_t)tid);
		if (ns <= 0)
			continue;       /* exited meanwhile */
		if (gs_grow(&m->v, &cap, m->n + 1, sizeof(*m->v), 64)) {
			closedir(d);
			nstid_map__free(m);
			return -ENOMEM;
		}
		m->v[m->n++] = (struct nstid_pair){ .host = (uint32_t)tid, .ns = (uint32_t)ns };
	}
	closedir(d);
	return 0;
}

uint32_t nstid_map__host(const struct nstid_map *m, uint32_t ns)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].ns == ns)
			return m->v[i].host;
	return 0;
}

void nstid_map__free(struct nstid_map *m)
{
	free(m->v);
	m->v = NULL;
	m->n = 0;
}
