// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "render/folded.h"

/* One folded line without its weight; ';' separates frames, so names
 * keep none. */
static char *folded_line(const struct sym_stack *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	for (size_t d = 0; d < s->depth; d++) {
		for (const char *c = s->frames[d]; *c; c++)
			fputc(*c == ';' ? ':' : *c, m);
		if (d + 1 < s->depth)
			fputc(';', m);
	}
	fclose(m);
	return buf;
}

struct folded {
	char *line;
	uint64_t weight;
};

static int cmp_folded(const void *a, const void *b)
{
	return strcmp(((const struct folded *)a)->line, ((const struct folded *)b)->line);
}

int stack_report__write_folded(const struct stack_report *sr, FILE *f)
{
	for (int v = 0; v < GS_NR_VIEWS; v++) {
		const struct view_stacks *vs = &sr->views[v];
		struct folded *lines = calloc(vs->n ? vs->n : 1, sizeof(*lines));
		size_t n = 0;

		if (!lines)
			return -ENOMEM;
		for (size_t i = 0; i < vs->n; i++)
			if ((lines[n].line = folded_line(&vs->stacks[i])))
				lines[n++].weight = vs->stacks[i].weight;
		/* Stacks that differ only below line granularity (another
		 * instruction of the same line) print as one line. */
		qsort(lines, n, sizeof(*lines), cmp_folded);
		for (size_t i = 0; i < n; i++) {
			uint64_t w = lines[i].weight;

			while (i + 1 < n && strcmp(lines[i].line, lines[i + 1].line) == 0)
				w += lines[++i].weight;
			fprintf(f, "%s %llu\n", lines[i].line, (unsigned long long)w);
		}
		for (size_t i = 0; i < n; i++)
			free(lines[i].line);
		free(lines);
	}
	return ferror(f) ? -EIO : 0;
}
