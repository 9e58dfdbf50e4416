// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "common.h"
#include "render/chrome_trace.h"
#include "render/flamegraph.h"
#include "render/folded.h"
#include "render/json_report.h"
#include "render/pprof.h"
#include "render/text.h"
#include "render/output.h"

static int cannot_write(const char *path, int err)
{
	if (err)
		fprintf(stderr, "gilscope: cannot write %s: %s\n", path, strerror(err));
	else
		fprintf(stderr, "gilscope: cannot write %s\n", path);
	return EXIT_TARGET;
}

/* --trace for a child: FILE with ".PID" before its extension. */
static void child_path(char *buf, size_t len, const char *path, pid_t pid)
{
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');

	if (dot && (!slash || dot > slash + 1))
		snprintf(buf, len, "%.*s.%d%s", (int)(dot - path), path, (int)pid, dot);
	else
		snprintf(buf, len, "%s.%d", path, (int)pid);
}

/* The file output__open opened for path, or path opened now. */
static FILE *open_out(FILE **pre, const char *path)
{
	FILE *f = *pre;

	*pre = NULL;
	return f ? f : fopen(path, "w");
}

static int write_trace(const struct proc_model *p, const char *path, FILE **pre)
{
	const struct gs_result *res = p->rep.res;
	FILE *f;
	int e;

	for (size_t i = 0; i < res->nthreads; i++) {
		char name[48];

		snprintf(name, sizeof(name), "%s [%u]", res->threads[i].name, res->threads[i].tid);
		timeline__thread_name(p->tw, res->threads[i].tid, name);
	}
	if (!(f = open_out(pre, path)))
		return cannot_write(path, errno);
	e = chrome_trace__write(p->tw, f, res->t1, res->counters[GS_C_TRACE_LOST]);
	if (fclose(f) || e)
		return cannot_write(path, 0);
	return EXIT_OK;
}

static int write_folded(const char *path, FILE **pre, const struct proc_model *procs, size_t n)
{
	FILE *f = open_out(pre, path);
	int e = 0;

	if (!f)
		return cannot_write(path, errno);
	for (size_t i = 0; i < n && !e; i++)
		if (procs[i].has_sr)
			e = stack_report__write_folded(&procs[i].sr, f);
	if (fclose(f) || e)
		return cannot_write(path, 0);
	return EXIT_OK;
}

/* One pprof profile of every process; its time is the target's window,
 * the monotonic clock's t0 as Unix time. */
static int write_pprof(const char *path, FILE **pre, const struct proc_model *procs, size_t n)
{
	const struct gs_result *res = procs[0].rep.res;
	struct pprof_proc *pp = calloc(n, sizeof(*pp));
	struct timespec rt;
	int64_t start = 0;
	size_t k = 0;
	FILE *f;
	int e;

	if (!pp)
		return cannot_write(path, ENOMEM);
	for (size_t i = 0; i < n; i++)
		if (procs[i].has_sr)
			pp[k++] = (struct pprof_proc){ &procs[i].sr, procs[i].rep.pt->pid };
	if (!clock_gettime(CLOCK_REALTIME, &rt))
		start = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec - (int64_t)(gs_mono_ns() - res->t0);
	if (!(f = open_out(pre, path)))
		e = -errno;
	else {
		e = pprof__write(f, pp, k, start, (int64_t)(res->t1 - res->t0));
		if (fclose(f))
			e = e ? e : -EIO;
	}
	free(pp);
	return e ? cannot_write(path, -e) : EXIT_OK;
}

/* One SVG: each view holds the stacks of every process. */
static int write_flamegraph(const char *path, FILE **pre, const struct proc_model *procs, size_t n)
{
	const struct py_target *root = procs[0].rep.pt;
	struct fg_view views[GS_NR_VIEWS];
	struct sym_stack *all[GS_NR_VIEWS] = {};
	char title[160];
	FILE *f;
	int e = 0;

	for (int v = 0; v < GS_NR_VIEWS; v++) {
		size_t total = 0, k = 0;

		for (size_t i = 0; i < n; i++)
			total += procs[i].has_sr ? procs[i].sr.views[v].n : 0;
		all[v] = calloc(total ? total : 1, sizeof(*all[v]));
		for (size_t i = 0; i < n && all[v]; i++)
			if (procs[i].has_sr && procs[i].sr.views[v].n) {
				memcpy(&all[v][k], procs[i].sr.views[v].stacks,
				       procs[i].sr.views[v].n * sizeof(*all[v]));
				k += procs[i].sr.views[v].n;
			}
		views[v] = (struct fg_view){ procs[0].sr.views[v].name, procs[0].sr.views[v].title,
					     procs[0].sr.views[v].unit, all[v], all[v] ? k : 0 };
	}
	if (n > 1)
		snprintf(title, sizeof(title), "gilscope: PID %d (%s) and %zu descendant(s), CPython %s",
			 root->pid, root->comm, n - 1, root->version);
	else
		snprintf(title, sizeof(title), "gilscope: PID %d (%s), CPython %s", root->pid, root->comm,
			 root->version);
	if (!(f = open_out(pre, path)))
		e = -errno;
	else {
		e = flamegraph__write_svg(f, title, views, GS_NR_VIEWS);
		if (fclose(f))
			e = e ? e : -EIO;
	}
	for (int v = 0; v < GS_NR_VIEWS; v++)
		free(all[v]);
	return e ? cannot_write(path, -e) : EXIT_OK;
}

static int write_reports(const struct gs_report *rep, const char *json, FILE **pre, FILE *text)
{
	FILE *jf = NULL;
	int e = 0;

	if (json && !strcmp(json, "-")) {
		text = stderr;
		jf = stdout;
	} else if (json) {
		jf = open_out(pre, json);
		if (!jf)
			return cannot_write(json, errno);
	}
	gs_report__print_text(rep, text);
	fflush(text);
	if (jf) {
		e = gs_report__print_json(rep, jf);
		if (jf != stdout && fclose(jf) != 0)
			e = -errno;
		if (e)
			return cannot_write(json, -e);
	}
	return EXIT_OK;
}

int output__write(struct output_files *o, FILE *text, struct proc_model *procs, size_t n)
{
	int e;

	o->written = true;
	e = write_reports(&procs[0].rep, o->json, &o->json_f, text);
	if (!e && o->folded)
		e = write_folded(o->folded, &o->folded_f, procs, n);
	if (!e && o->flamegraph)
		e = write_flamegraph(o->flamegraph, &o->flamegraph_f, procs, n);
	if (!e && o->pprof)
		e = write_pprof(o->pprof, &o->pprof_f, procs, n);
	for (size_t i = 0; !e && o->trace && i < n; i++) {
		char path[4096];

		if (!procs[i].tw)
			continue;
		if (i)
			child_path(path, sizeof(path), o->trace, procs[i].rep.pt->pid);
		e = write_trace(&procs[i], i ? path : o->trace, i ? &(FILE *){ NULL } : &o->trace_f);
	}
	output__abandon(o);         /* any file a failure left unwritten */
	return e;
}

static void paths(const struct output_files *o, const char *v[OUTPUT_FILES])
{
	v[0] = o->json && strcmp(o->json, "-") ? o->json : NULL;
	v[1] = o->folded;
	v[2] = o->flamegraph;
	v[3] = o->trace;
	v[4] = o->pprof;
}

static void files(struct output_files *o, FILE **v[OUTPUT_FILES])
{
	v[0] = &o->json_f;
	v[1] = &o->folded_f;
	v[2] = &o->flamegraph_f;
	v[3] = &o->trace_f;
	v[4] = &o->pprof_f;
}

int output__open(struct output_files *o)
{
	const char *path[OUTPUT_FILES];
	FILE **f[OUTPUT_FILES];

	paths(o, path);
	files(o, f);
	for (int i = 0; i < OUTPUT_FILES; i++) {
		if (!path[i])
			continue;
		/* created now, or there already (then only truncated) */
		o->made[i] = access(path[i], F_OK) != 0;
		if (!(*f[i] = fopen(path[i], "w"))) {
			int err = errno;

			output__abandon(o);
			return cannot_write(path[i], err);
		}
	}
	if (o->trace) {
		/* descendants' timelines: FILE.PID beside FILE */
		char dir[4096];
		const char *slash = strrchr(o->trace, '/');

		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - o->trace) + 1 : 1, slash ? o->trace : ".");
		if (access(dir, W_OK | X_OK) != 0) {
			int err = errno;

			output__abandon(o);
			return cannot_write(dir, err);
		}
	}
	return EXIT_OK;
}

void output__abandon(struct output_files *o)
{
	const char *path[OUTPUT_FILES];
	FILE **f[OUTPUT_FILES];

	paths(o, path);
	files(o, f);
	for (int i = 0; i < OUTPUT_FILES; i++) {
		if (!*f[i])
			continue;
		fclose(*f[i]);
		*f[i] = NULL;
		if (o->made[i] && !o->written)
			unlink(path[i]);
	}
}
