// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "reaper.h"
#include "session.h"

bool gs_verbose;

void gs_note(const char *fmt, ...)
{
	va_list ap;

	if (!gs_verbose)
		return;
	fputs("gilscope: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void explain_target(const struct py_target *pt)
{
	gs_note("PID %d: CPython %s, runtime %s (bias 0x%llx)", pt->pid, pt->version, pt->runtime_obj,
	     (unsigned long long)pt->bias);
	for (int i = 0; i < pt->nprobes; i++) {
		static const char *const why[] = {
			"entry: wait starts; its return: GIL taken (found by name in the symbol table)",
			"entry: GIL released (found by name in the symbol table)",
			"call to pthread_cond_signal(switch_cond): GIL taken (found by decoding take_gil)",
			"call to pthread_cond_timedwait(cond): GIL busy, wait starts (found by decoding take_gil)",
			"call to pthread_cond_signal: a hold starts (switch_cond) or ends (cond), by the GIL's address",
			"call to pthread_cond_timedwait: a wait starts when it is the GIL's cond",
		};

		if (pt->call_sites && pt->probes[i].role == PROBE_TAKE)
			continue;
		gs_note("  probe %s at file offset 0x%llx: %s", pt->probes[i].symbol,
		     (unsigned long long)pt->probes[i].offset, why[pt->probes[i].role]);
	}
	gs_note("  strategy %s: %s", pt->strategy, pt->strategy_why);
	if (!pt->call_sites && !pt->keyed)
		gs_note("  take_gil's call sites were not found (or GILSCOPE_NO_CALL_SITES is set): using a uretprobe");
	if (pt->keyed)
		gs_note("  GIL at cond=0x%llx switch_cond=0x%llx; drop request %s", (unsigned long long)pt->gil_cond_addr,
		     (unsigned long long)pt->gil_switch_cond_addr,
		     pt->drop_req_addr || pt->drop_req_ptr_addr ? "flag read at each release"
							    : "unknown for this version: releases count as voluntary");
	gs_note("  %d code range(s) mark a release as forced (the eval loop's drop-request path)", pt->nforced);
}

/* Inspect, load, attach and seed: everything before the window opens. */
static void on_trace(const struct gs_trace_rec *r, void *ctx)
{
	struct session *s = ctx;

	if (s->tw)
		trace_writer__add(s->tw, r);
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int session__begin(struct session *s, pid_t pid)
{
	struct tracer_opts topts = {};
	struct gil_snapshot snap;
	bool want_stacks;
	int e;

	uint64_t t[4];

	s->interval_us = -1;
	t[0] = mono_us();
	e = py_target__inspect(pid, &s->pt, s->err, sizeof(s->err));
	t[1] = mono_us();
	if (e) {
		s->exit_code = e == -EACCES || e == -EPERM ? EXIT_SYSTEM : EXIT_TARGET;
		return e;
	}
	explain_target(&s->pt);
	want_stacks = s->cfg->stacks;
	if ((want_stacks || s->cfg->trace) && !s->pt.can_walk)
		fprintf(stderr, "gilscope: PID %d: no Python stack layout for CPython %s: stacks are left out\n",
			s->pt.pid, s->pt.version);
	topts.stacks = want_stacks;
	topts.sample_hz = want_stacks ? (s->cfg->hz ? s->cfg->hz : 199) : 0;
	topts.max_depth = s->cfg->max_depth;
	topts.bpf_stats = s->cfg->bpf_stats;
	if (s->cfg->trace) {
		topts.on_trace = on_trace;
		topts.trace_ctx = s;
	}
	e = tracer__load(&s->pt, &topts, &s->tr, s->err, sizeof(s->err));
	t[2] = mono_us();
	if (e ||
	    (e = tracer__attach(s->tr, &s->pt, s->err, sizeof(s->err)))) {
		s->exit_code = EXIT_SYSTEM;
		py_target__release(&s->pt);
		return e;
	}
	/* The trace's time 0 is the window's start. */
	if (s->cfg->trace && !(s->tw = trace_writer__new(s->pt.pid, s->pt.comm, tracer__t0(s->tr)))) {
		s->exit_code = EXIT_SYSTEM;
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -ENOMEM;
	}
	/* Read the GIL after the probes are live: a switch in between is
	 * then seen by the probes, and the seed defers to them. */
	if (py_target__read_gil(&s->pt, &snap) != 0)
		snap.locked = -2;
	if (snap.locked >= 0)
		s->interval_us = (int)snap.interval_us;
	gs_note("GIL at attach: locked=%d holder tstate=0x%llx tid=%u pthread=0x%llx", snap.locked,
	     (unsigned long long)snap.holder_tstate, snap.holder_tid, (unsigned long long)snap.holder_pthread);
	t[3] = mono_us();
	e = tracer__start(s->tr, &s->pt, snap.locked >= -1 ? &snap : NULL, s->err, sizeof(s->err));
	gs_note("PID %d: inspected in %.1f ms, BPF loaded in %.1f ms, attached in %.1f ms, seeded in %.1f ms", pid,
		(t[1] - t[0]) / 1e3, (t[2] - t[1]) / 1e3, (t[3] - t[2]) / 1e3, (mono_us() - t[3]) / 1e3);
	if (e)
		s->exit_code = EXIT_SYSTEM;
	py_target__release(&s->pt);   /* the probes hold the file now */
	s->live = !e;
	return e;
}

/* Once a second: move exited threads out of the maps, read the switch
 * interval. */
void session__tick(struct session *s)
{
	struct gil_snapshot snap;

	if (!s->live)
		return;
	if (py_target__read_gil(&s->pt, &snap) == 0 && snap.locked >= 0)
		s->interval_us = (int)snap.interval_us;
	tracer__harvest(s->tr);
}

/* Deliver pending --trace records. */
void session__drain(struct session *s, int timeout_ms)
{
	if (s->live && s->tw)
		tracer__poll(s->tr, timeout_ms);
}

int session__end(struct session *s)
{
	int e;

	if (!s->live)
		return 0;
	s->live = false;
	e = tracer__stop(s->tr, &s->pt, &s->res);
	reaper__free(s->tr);          /* read: detach and free in the background */
	s->tr = NULL;
	s->done = !e;
	s->res.interval_us = s->interval_us;
	return e;
}

void session__free(struct session *s)
{
	tracer__free(s->tr);
	s->tr = NULL;
	trace_writer__free(s->tw);
	s->tw = NULL;
	gs_result__free(&s->res);
	py_target__release(&s->pt);
}

