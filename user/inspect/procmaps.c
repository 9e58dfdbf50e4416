// SPDX-License-Identifier: MIT
/* /proc/PID/maps parsing. A line is
 *   start-end perms offset major:minor inode [padding] path
 * and the path is the rest of the line verbatim: it may contain spaces and
 * ends in " (deleted)" when the file was unlinked. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "inspect/procmaps.h"

/* Parse an unsigned number in base at *p ending at stop, and step over
 * stop. A field ending in a blank may also end the line (the inode of an
 * anonymous mapping); *p then stays at the line end, where any further
 * field fails to parse. */
static int parse_num(char **p, int base, char stop, uint64_t *v)
{
	char *end;

	/* strtoull would accept leading blanks and a sign: not in maps. */
	if (!((**p >= '0' && **p <= '9') || (base == 16 &&
	      ((**p >= 'a' && **p <= 'f') || (**p >= 'A' && **p <= 'F')))))
		return -EINVAL;
	errno = 0;
	*v = strtoull(*p, &end, base);
	if (errno)
		return -EINVAL;
	if (*end == stop)
		end++;
	else if (!(stop == ' ' && (*end == '\n' || *end == '\0')))
		return -EINVAL;
	*p = end;
	return 0;
}

static int parse_line(char *line, struct map_entry *e)
{
	uint64_t maj, min;
	char *p = line;
	size_t len;

	memset(e, 0, sizeof(*e));
	if (parse_num(&p, 16, '-', &e->start) ||
	    parse_num(&p, 16, ' ', &e->end))
		return -EINVAL;
	if (strlen(p) < 5 || p[4] != ' ' || !strchr("r-", p[0]) ||
	    !strchr("w-", p[1]) || !strchr("x-", p[2]) || !strchr("ps", p[3]))
		return -EINVAL;
	memcpy(e->perms, p, 4);
	p += 5;
	if (parse_num(&p, 16, ' ', &e->offset) ||
	    parse_num(&p, 16, ':', &maj) || parse_num(&p, 16, ' ', &min) ||
	    parse_num(&p, 10, ' ', &e->inode))
		return -EINVAL;
	if (e->end < e->start || maj > 0xfff || min > 0xfffff)
		return -EINVAL;
	e->dev_major = (unsigned int)maj;
	e->dev_minor = (unsigned int)min;
	/* The kernel pads to align the path column; anonymous mappings may
	 * end with that padding alone. */
	while (*p == ' ')
		p++;
	len = strlen(p);
	if (len && p[len - 1] == '\n')
		p[--len] = '\0';
	e->path = strdup(p);
	return e->path ? 0 : -ENOMEM;
}

int proc_maps__parse(FILE *f, struct proc_maps *out)
{
	struct proc_maps m = {0};
	size_t cap = 0, linecap = 0;
	char *line = NULL;
	int err = 0;

	while (getline(&line, &linecap, f) > 0) {
		if (line[0] == '\n')
			continue;
		if (gs_grow(&m.v, &cap, m.n + 1, sizeof(*m.v), 64)) {
			err = -ENOMEM;
			goto cleanup;
		}
		err = parse_line(line, &m.v[m.n]);
		if (err)
			goto cleanup;
		m.n++;
	}
	if (ferror(f))
		err = -EIO;

cleanup:
	free(line);
	if (err)
		proc_maps__free(&m);
	else
		*out = m;
	return err;
}

int proc_maps__load(pid_t pid, struct proc_maps *out)
{
	char path[64];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	err = proc_maps__parse(f, out);
	fclose(f);
	return err;
}

void proc_maps__free(struct proc_maps *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

int proc_maps__base(const struct proc_maps *m, const char *path, uint64_t *base)
{
	const struct map_entry *best = NULL;

	for (size_t i = 0; i < m->n; i++) {
		const struct map_entry *e = &m->v[i];

		if (strcmp(e->path, path))
			continue;
		if (!best || e->offset < best->offset)
			best = e;
	}
	if (!best)
		return -ENOENT;
	*base = best->start - best->offset;
	return 0;
}
