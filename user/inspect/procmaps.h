/* SPDX-License-Identifier: MIT */
/* /proc/PID/maps parsing. */
#ifndef GS_PROCMAPS_H
#define GS_PROCMAPS_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct map_entry {
	uint64_t start, end;   /* [start, end) */
	uint64_t offset;       /* file offset of start */
	uint64_t inode;
	unsigned int dev_major, dev_minor;
	char perms[5];         /* "r-xp" */
	char *path;            /* heap; "" for anonymous; may contain spaces;
				  " (deleted)" suffix kept as is */
};

struct proc_maps {
	struct map_entry *v;
	size_t n;
};

/* Parse maps text from f. 0 or -errno (-EINVAL on a malformed line). */
int proc_maps__parse(FILE *f, struct proc_maps *out);
/* Read /proc/<pid>/maps. -ENOENT no such process, -EACCES, ... */
int proc_maps__load(pid_t pid, struct proc_maps *out);
void proc_maps__free(struct proc_maps *m);

/* Load base of the object mapped from path: start - offset of its first
 * mapping (lowest offset). -ENOENT if path is not mapped. */
int proc_maps__base(const struct proc_maps *m, const char *path, uint64_t *base);

#endif
