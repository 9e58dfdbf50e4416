// SPDX-License-Identifier: MIT
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "inspect/libc.h"
#include "inspect/rootfs.h"
#include "trace/session.h"

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
			"call in the drop-request path: the thread's next release is forced",
		};

		const struct gil_probe *p = &pt->probes[i];

		if (pt->call_sites && p->role == PROBE_TAKE)
			continue;
		gs_note("  probe %s at file offset 0x%llx: %s", p->symbol, (unsigned long long)p->offset,
			p->role == PROBE_CONTENDED && p->cookie ?
			"the padding nop before take_gil's wait loop, run once a wait: GIL busy, wait starts "
			"(found by decoding take_gil; its pthread_cond_timedwait call runs every round)" : why[p->role]);
	}
	gs_note("  strategy %s: %s", pt->strategy, pt->strategy_why);
	if (!pt->call_sites && !pt->keyed)
		gs_note("  take_gil's call sites %s: using a uretprobe",
			pt->indirect_sites ? "call through the GOT (-fno-plt), where a probe is single-stepped "
					     "(~10 us a hit)"
					   : "were not found (or GILSCOPE_NO_CALL_SITES is set)");
	if (pt->gil_note[0])
		gs_note("  %s", pt->gil_note);
	if (pt->keyed)
		gs_note("  GIL at cond=0x%llx switch_cond=0x%llx", (unsigned long long)pt->gil_cond_addr,
			(unsigned long long)pt->gil_switch_cond_addr);
	if (pt->drop_req_tstate_off)
		gs_note("  a release is forced when the drop request (bit 0 of the holder's eval_breaker, tstate+%u) "
			"is set as it happens", pt->drop_req_tstate_off);
	else if (pt->keyed)
		gs_note("  drop request: %s", pt->drop_req_addr || pt->drop_req_ptr_addr
						   ? "flag read at each release"
						   : "unknown for this version: releases count as voluntary");
	else
		gs_note("  %d code range(s) mark a release as forced (the eval loop's drop-request path)%s", pt->nforced,
			pt->forced_sites ? ": probed at their calls to drop_gil" : ": by drop_gil's return address");
	gs_note("  self-check: the GIL's last_holder at 0x%llx, switch_number at 0x%llx",
		(unsigned long long)pt->holder_addr, (unsigned long long)pt->switchnum_addr);
}

/* A failure to attach or seed because the target just exited is the
 * target's doing, not this system's: say so (exit 1). */
static int system_or_gone(struct session *s, int e)
{
	if (kill(s->pt.pid, 0) == 0 || errno != ESRCH) {
		s->exit_code = EXIT_SYSTEM;
		return e;
	}
	s->exit_code = EXIT_TARGET;
	snprintf(s->err, sizeof(s->err), "PID %d (%s) exited while gilscope was attaching to it", s->pt.pid,
		 s->pt.comm);
	return -ESRCH;
}

/* Inspect, load (the first session), attach and seed: everything before
 * the window opens. */
int session__begin(struct session *s, pid_t pid)
{
	const struct session_cfg *cfg = s->cfg;
	struct gil_snapshot snap;
	uint64_t t[4];
	int e;

	s->interval_us = -1;
	s->slot = -1;
	t[0] = (gs_mono_ns() / 1000);
	e = py_target__inspect(pid, &s->pt, s->err, sizeof(s->err));
	t[1] = (gs_mono_ns() / 1000);
	if (e) {
		s->exit_code = e == -EACCES || e == -EPERM ? EXIT_SYSTEM : EXIT_TARGET;
		return e;
	}
	explain_target(&s->pt);
	if ((cfg->stacks || cfg->trace) && !s->pt.can_walk)
		fprintf(stderr, "gilscope: PID %d: no Python stack layout for CPython %s: stacks are left out\n",
			s->pt.pid, s->pt.version);
	{
		char why[200];
		const char *no = cfg->light ? libc__light_refusal(&s->pt, libc__of(s->pt.pid), why, sizeof(why))
					    : NULL;

		if (no && !*cfg->tr) {
			/* the recording's first process: it is traced exactly */
			fprintf(stderr, "gilscope: PID %d: --light cannot trace it: %s; tracing it with uprobes instead\n",
				s->pt.pid, no);
			snprintf(s->light_refused, sizeof(s->light_refused), "%s", no);
			s->light = false;
		} else if (no && tracer__light(*cfg->tr)) {
			s->exit_code = EXIT_TARGET;
			snprintf(s->err, sizeof(s->err), "--light cannot trace PID %d (%s): %s", s->pt.pid, s->pt.comm, no);
			py_target__release(&s->pt);
			return -ENOTSUP;
		} else {
			s->light = *cfg->tr ? tracer__light(*cfg->tr) : cfg->light;
		}
	}
	if (!*cfg->tr) {
		struct tracer_opts topts = {
			.stacks = cfg->stacks,
			.light = s->light,
			.sample_hz = s->light ? (cfg->hz ? cfg->hz : GS_LIGHT_HZ) :
				     cfg->stacks ? (cfg->hz ? cfg->hz : 199) : 0,
			.max_depth = cfg->max_depth,
			.bpf_stats = cfg->bpf_stats,
			.multi = cfg->children,
			.live = cfg->live,
			.on_trace = cfg->trace ? cfg->on_trace : NULL,
			.trace_ctx = cfg->trace_ctx,
		};

		e = tracer__load(&s->pt, &topts, cfg->tr, s->err, sizeof(s->err));
	}
	t[2] = (gs_mono_ns() / 1000);
	if (e || (e = tracer__add(*cfg->tr, &s->pt, &s->slot, s->err, sizeof(s->err)))) {
		e = system_or_gone(s, e);
		py_target__release(&s->pt);
		return e;
	}
	/* The trace's time 0 is the window's start. */
	if (cfg->trace && !(s->tw = timeline__new(s->pt.pid, s->pt.comm, tracer__t0(*cfg->tr, s->slot)))) {
		s->exit_code = EXIT_SYSTEM;
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -ENOMEM;
	}
	/* Read the GIL after the probes are live: a switch in between is
	 * then seen by the probes, and the seed defers to them. */
	if (py_target__read_gil(&s->pt, &snap) != 0)
		snap.locked = -2;
	if (snap.holder_tid)
		snap.holder_tid = py_target__host_tid(&s->pt, snap.holder_tid);
	if (snap.locked >= 0)
		s->interval_us = (int)snap.interval_us;
	if (snap.locked >= -1 && snap.have_switch_number) {
		s->sc_start.have_start = true;
		s->sc_start.sn_start = snap.switch_number;
		s->sc_start.holder_start = snap.holder_tstate;
	} else if (snap.locked == -1 && s->pt.switchnum_addr) {
		/* the runtime has not created its GIL yet: nothing has
		 * switched, and it has no holder */
		s->sc_start.have_start = true;
	}
	gs_note("PID %d: GIL at attach: locked=%d holder tstate=0x%llx tid=%u pthread=0x%llx", pid, snap.locked,
		(unsigned long long)snap.holder_tstate, snap.holder_tid, (unsigned long long)snap.holder_pthread);
	t[3] = (gs_mono_ns() / 1000);
	e = tracer__seed(*cfg->tr, s->slot, &s->pt, snap.locked >= -1 ? &snap : NULL, s->err, sizeof(s->err));
	gs_note("PID %d: inspected in %.1f ms, BPF loaded in %.1f ms, attached in %.1f ms, seeded in %.1f ms", pid,
		(t[1] - t[0]) / 1e3, (t[2] - t[1]) / 1e3, (t[3] - t[2]) / 1e3, ((gs_mono_ns() / 1000) - t[3]) / 1e3);
	cpu_limits__read(s->pt.pid, &s->lim_start);
	py_target__release(&s->pt);   /* the probes hold the file now */
	s->live = true;               /* a slot is taken: end it even on error */
	if (e)
		e = system_or_gone(s, e);
	return e;
}

/* Once a second: read the switch interval. */
void session__tick(struct session *s)
{
	struct gil_snapshot snap;

	if (s->live && py_target__read_gil(&s->pt, &snap) == 0 && snap.locked >= 0)
		s->interval_us = (int)snap.interval_us;
}

int session__end(struct session *s)
{
	int e;

	if (!s->live)
		return 0;
	s->live = false;
	/* The interpreter's GIL just before and just after BPF stops
	 * counting (the self-check). */
	struct gil_snapshot a, b;
	struct cpu_limits lim;
	bool ra = !s->execd && py_target__read_gil(&s->pt, &a) == 0 && a.have_switch_number;
	bool rl = !s->execd && cpu_limits__read(s->pt.pid, &lim) == 0;

	e = tracer__end(*s->cfg->tr, s->slot, &s->pt, &s->res);
	s->done = !e;
	s->res.interval_us = s->interval_us;
	if (e)
		return e;
	snprintf(s->res.light_refused, sizeof(s->res.light_refused), "%s", s->light_refused);
	s->res.lim_start = s->lim_start;
	if (rl)
		s->res.lim_end = lim;
	{
		struct selfcheck_raw *sc = &s->res.sc;
		bool rb = ra && py_target__read_gil(&s->pt, &b) == 0 && b.have_switch_number;

		sc->have_start = s->sc_start.have_start;
		sc->sn_start = s->sc_start.sn_start;
		sc->holder_start = s->sc_start.holder_start;
		sc->holder_tid_known = s->pt.minor >= 11;
		if (ra) {
			/* without the second read (the target ended meanwhile)
			 * the first one closes the window; the holder check needs
			 * both */
			sc->have_end = true;
			sc->sn_end_a = a.switch_number;
			sc->sn_end_b = rb ? b.switch_number : a.switch_number;
			sc->locked_a = a.locked;
			sc->locked_b = rb ? b.locked : -2;
			sc->holder_tid_a = a.holder_tid ? py_target__host_tid(&s->pt, a.holder_tid) : 0;
			sc->holder_tid_b = rb && b.holder_tid ? py_target__host_tid(&s->pt, b.holder_tid) : 0;
		}
	}
	/* each thread's TID as the target numbers it (containers) */
	for (size_t i = 0; i < s->res.nthreads; i++) {
		struct thread_rec *t = &s->res.threads[i];
		int ns = t->exited ? -1 : rootfs__ns_pid(s->pt.pid, (pid_t)t->tid);

		t->ns_tid = ns > 0 ? ns : 0;
	}
	return 0;
}

void session__free(struct session *s)
{
	timeline__free(s->tw);
	s->tw = NULL;
	gs_result__free(&s->res);
	py_target__release(&s->pt);
}
