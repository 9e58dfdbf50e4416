// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/process.h"

/* Thread names for stack frames: "name", or "name (pid N)" with --children. */
struct names {
	const struct gs_result *res;
	pid_t pid;
	bool with_pid;
	char buf[64];
};

static const char *thread_name(uint32_t tid, void *ctx)
{
	struct names *n = ctx;
	const char *name = "thread";

	for (size_t i = 0; i < n->res->nthreads; i++)
		if (n->res->threads[i].tid == tid)
			name = n->res->threads[i].name;
	if (!n->with_pid)
		return name;
	snprintf(n->buf, sizeof(n->buf), "%s (pid %d)", name, (int)n->pid);
	return n->buf;
}

int proc_model__build(struct proc_model *p, const struct py_target *pt, const struct gs_result *res,
		      const struct launch_status *ls, bool with_stacks, bool with_pid)
{
	struct names n = { .res = res, .pid = pt->pid, .with_pid = with_pid };

	memset(p, 0, sizeof(*p));
	if (with_stacks && stack_report__build(&p->sr, res, thread_name, &n) == 0) {
		p->has_sr = true;
		p->rep.stacks = &p->sr;
	}
	return gs_report__build(&p->rep, pt, res, ls);
}

void proc_model__free(struct proc_model *p)
{
	if (p->has_sr)
		stack_report__free(&p->sr);
	gs_report__free(&p->rep);
	p->has_sr = false;
}

int family_model__build(struct family_model *f, struct proc_model *procs, size_t n)
{
	memset(f, 0, sizeof(*f));
	/* the family report reads the children's reports by value */
	f->kids = calloc(n > 1 ? n - 1 : 1, sizeof(*f->kids));
	if (!f->kids)
		return -ENOMEM;
	for (size_t i = 1; i < n; i++)
		f->kids[i - 1] = procs[i].rep;
	if (family_report__build(&f->rep, &procs[0].rep, f->kids, n - 1))
		return -ENOMEM;
	procs[0].rep.family = &f->rep;
	return 0;
}

void family_model__free(struct family_model *f, struct proc_model *procs)
{
	if (procs && procs[0].rep.family == &f->rep)
		procs[0].rep.family = NULL;
	family_report__free(&f->rep);
	free(f->kids);
	f->kids = NULL;
}
