// SPDX-License-Identifier: MIT
/* The human-readable report. */
#include <stdio.h>
#include <string.h>
#include "model/family.h"
#include "model/stacks.h"
#include "render/text.h"

/* Human duration from microseconds, fixed width 9. */
static const char *dur(char *buf, size_t len, double us)
{
	if (us < 1)
		snprintf(buf, len, "%6.0f ns", us * 1e3);
	else if (us < 1e3)
		snprintf(buf, len, "%6.2f us", us);
	else if (us < 1e6)
		snprintf(buf, len, "%6.2f ms", us / 1e3);
	else
		snprintf(buf, len, "%6.2f s ", us / 1e6);
	return buf;
}

static void dist_row(FILE *f, const char *name, const struct dist_stats *d)
{
	char b[6][24];

	fprintf(f, "  %-8s %9llu %9s %9s %9s %9s %9s %9s\n", name, (unsigned long long)d->count,
		dur(b[0], 24, d->total_s * 1e6), dur(b[1], 24, d->mean_us), dur(b[2], 24, d->p50_us),
		dur(b[3], 24, d->p90_us), dur(b[4], 24, d->p99_us), dur(b[5], 24, d->max_us));
}

/* The observer's share: what the probes took from the traced threads. */
static void print_check(const struct selfcheck *c, FILE *f)
{
	if (!c->applies) {
		fprintf(f, "\nSELF-CHECK: not applicable (no GIL to count switches of)\n");
		return;
	}
	fprintf(f, "\nSELF-CHECK: GIL switches counted by the interpreter ");
	if (c->have_interp)
		fprintf(f, "%llu (at %s)", (unsigned long long)c->interp, c->interp_at);
	else
		fprintf(f, "unknown");
	if (c->light)
		fprintf(f, ", hand-offs to a waiter timed by gilscope %llu (--light: at most as many): %s\n",
			(unsigned long long)c->gilscope, c->ok ? "consistent" : "NOT TRUSTWORTHY");
	else
		fprintf(f, ", by gilscope %llu: %s\n", (unsigned long long)c->gilscope,
			c->ok ? "they agree" : "NOT TRUSTWORTHY");
}

/* --light: what is exact, what is estimated, and from what. */
static void print_light(const struct light_figs *l, FILE *f)
{
	fprintf(f, "\nLIGHT MODE (no uprobe: a GIL taken and released with nobody waiting costs nothing)\n"
		   "  exact, from %llu futex calls on the GIL: waits, hand-offs, forced releases, and the\n"
		   "    holds between two hand-offs (the hold table); %llu releases with a waiter\n",
		(unsigned long long)l->futex_calls, (unsigned long long)l->contended_releases);
	fprintf(f, "  estimated: on-CPU held vs native time, from %llu CPU-sampling ticks at %d Hz (%llu found\n"
		   "    the thread holding the GIL); off-CPU time held or not, read at every switch-out\n",
		(unsigned long long)l->ticks, l->hz, (unsigned long long)l->ticks_held);
	fprintf(f, "  not seen: releases with nobody waiting (not in the counts above); %llu holds ended\n"
		   "    unmarked, timed to the next read of the GIL (%.3f s, in held %%, not in the table)\n",
		(unsigned long long)l->unseen_holds, l->unseen_hold_s);
	fprintf(f, "  %llu reads of the GIL's state (%llu locked, %llu not a GIL); %llu woken waiters found it\n"
		   "    taken again; %llu threads taken for the holder waited again; %llu releases seen after\n"
		   "    their waiter took the GIL (hand-offs of no length); %llu waiters never blocked (waits\n"
		   "    of no length, in the GIL's counts, not in a thread's)\n",
		(unsigned long long)l->reads, (unsigned long long)l->reads_locked, (unsigned long long)l->reads_bad,
		(unsigned long long)l->stolen, (unsigned long long)l->rewaits, (unsigned long long)l->early_takes,
		(unsigned long long)l->quick_waits);
}

static void print_cost(const struct gs_report *r, FILE *f)
{
	if (r->light.on) {
		print_light(&r->light, f);
		fprintf(f, "\nTRACING COST: %llu probe hits (no uprobe); the futex calls and reads above run in\n"
			   "  the kernel on paths the target takes anyway\n",
			(unsigned long long)r->probe_hits);
		return;
	}
	fprintf(f, "\nTRACING COST: %llu probe hits (%.0f/s, %.2f per GIL acquisition)",
		(unsigned long long)r->probe_hits, r->probe_hits_per_s, r->hits_per_acquire);
	if (r->cost_cpu_pct >= 0)
		fprintf(f, " at >= %.2f us each (a uprobe trap on this machine, timed at start):\n"
			   "  >= %.2f%% of one CPU taken from the traced threads, plus gilscope's BPF programs\n",
			r->trap_ns / 1e3, r->cost_cpu_pct);
	else
		fprintf(f, ";\n  the price of a trap could not be timed on this machine\n");
}

#define TOP_STACKS 5
/* what is worth a line or a mention */
#define TEXT_PROC_CPU_MIN_PCT 5.0   /* a process's share of a CPU, --children */
#define TEXT_RUNQ_MIN_SHARE   0.01  /* run-queue time, of the window */

static void print_top_stacks(const struct stack_report *sr, FILE *f)
{
	char b[24];

	fprintf(f, "\nWHERE (heaviest Python stacks per view, leaf first; --folded/--flamegraph have them all)\n");
	for (int v = 0; v < GS_NR_VIEWS; v++) {
		const struct view_stacks *vs = &sr->views[v];
		struct top_stack top[TOP_STACKS];
		size_t n = stack_report__top(sr, v, top, TOP_STACKS);
		bool us = strcmp(vs->unit, "us") == 0;

		if (us)
			fprintf(f, "  %-5s %s: %s\n", vs->name, vs->title, dur(b, sizeof(b), (double)vs->total));
		else
			fprintf(f, "  %-5s %s: %llu samples\n", vs->name, vs->title, (unsigned long long)vs->total);
		for (size_t i = 0; i < n; i++) {
			const struct sym_stack *s = top[i].s;

			fprintf(f, "    %5.1f%% ", 100 * top[i].share);
			if (us)
				fprintf(f, "%s ", dur(b, sizeof(b), (double)s->weight));
			else
				fprintf(f, "%6llu    ", (unsigned long long)s->weight);
			for (size_t d = s->depth, k = 0; d > 2 && k < 4; d--, k++)
				fprintf(f, "%s%s", k ? " <- " : "", s->frames[d - 1]);
			fprintf(f, "%s  [%s]\n", s->depth > 6 ? " <- ..." : "", s->frames[1]);
		}
	}
}

/* Only when a limit narrows the machine: affinity, cpuset, a quota. */
static void print_limits(const struct limits_figs *l, FILE *f)
{
	if (!l->known)
		return;
	if (l->cpus_pinned > 0 && l->cpus_pinned < l->cpus_online) {
		fprintf(f, "  limits: may run on %d of %d CPUs (affinity %s", l->cpus_pinned, l->cpus_online,
			l->cpus_allowed_list);
		if (l->cpuset_cpus > 0)
			fprintf(f, ", cpuset %s", l->cpuset_list);
		if (l->thread_cpus_min != l->thread_cpus_max)
			fprintf(f, "; its threads %d-%d CPUs each", l->thread_cpus_min, l->thread_cpus_max);
		fprintf(f, ")\n");
	}
	if (l->quota_cpus > 0) {
		fprintf(f, "  limits: CPU quota %.2f CPUs (cgroup %s)", l->quota_cpus, l->cgroup);
		if (l->throttle_known)
			fprintf(f, ": throttled in %llu of %llu periods (%.0f%%), %.3f s", (unsigned long long)l->throttled_periods,
				(unsigned long long)l->periods, 100 * l->throttled_share, l->throttled_s);
		fprintf(f, "\n");
	}
}

static void proc_row(FILE *f, const struct gs_report *r, pid_t parent)
{
	char b[2][24];

	fprintf(f, "  %-8d %-8d %-15s %7.2f %6.1f%% %6.1f%% %8llu %9s %8llu %9s %6.2f  %s\n", r->pt->pid, parent,
		r->pt->comm, r->window_s, r->held_pct, r->contended_pct, (unsigned long long)r->hold.count,
		dur(b[0], 24, r->hold.p50_us), (unsigned long long)r->wait.count, dur(b[1], 24, r->wait.p99_us),
		r->parallelism, r->verdict.kind);
}

/* The PREDICTION line under the verdict: what its advice would bring. */
static void print_prediction(const struct prediction *p, FILE *f)
{
	if (!strcmp(p->advice, "switch interval"))
		fprintf(f, "  PREDICTION: sys.setswitchinterval(%g) instead of %g: the waiting thread's wait per "
			   "acquisition %.2f-%.2f ms instead of %.2f ms (%s)\n", p->interval_us / 1e6,
			p->interval_now_us / 1e6, p->wait_low_us / 1e3, p->wait_high_us / 1e3, p->wait_now_us / 1e3,
			p->assumptions);
	else if (p->threads > 0)
		fprintf(f, "  PREDICTION: the same work in %d threads instead of %d: %.2fx-%.2fx as fast (%s)\n",
			p->threads, p->threads_now, p->low, p->high, p->assumptions);
	else
		fprintf(f, "  PREDICTION: the same work in %d %s: %.1fx-%.1fx as fast (%s)\n", p->workers, p->advice,
			p->low, p->high, p->assumptions);
}

/* --children: one line per process, then the tree as a whole. */
static void print_family(const struct gs_report *root, FILE *f)
{
	const struct family_report *fr = root->family;

	fprintf(f, fr->host_wide ? "\nPROCESSES (every CPython process on the host, -a; --json has each one's full report)\n"
				 : "\nPROCESSES (the target and its traced descendants; --json has each one's full report)\n");
	fprintf(f, "  %-8s %-8s %-15s %7s %7s %7s %8s %9s %8s %9s %6s  %s\n", "pid", "parent", "name", "window",
		"held", "contend", "holds", "hold p50", "waits", "wait p99", "cores", "verdict");
	for (size_t i = 0; i <= fr->nkids; i++)
		proc_row(f, family_report__proc(fr, i), i ? fr->kids[i - 1].parent : 0);
	for (size_t i = 0; i < fr->nskip; i++)
		fprintf(f, "  %-8d %-8d %-15s not traced: %s\n", fr->skip[i].pid, fr->skip[i].parent, fr->skip[i].comm,
			fr->skip[i].reason);
	fprintf(f, "\nALL PROCESSES, CPUS (share of the target's %.2f s window)\n", fr->window_s);
	fprintf(f, "  %-5s %8s %10s %12s   %s\n", "cpu", "busy", "with GIL", "without GIL", "processes (>= 5%)");
	for (int c = 0; c < fr->ncpus; c++) {
		fprintf(f, "  %-5d %7.1f%% %9.1f%% %11.1f%%  ", c, fr->cpu[c].busy_pct, fr->cpu[c].with_gil_pct,
			fr->cpu[c].without_gil_pct);
		for (size_t i = 0; i <= fr->nkids; i++) {
			double share = fr->proc_cpu_pct[i * fr->ncpus + c];

			if (share >= TEXT_PROC_CPU_MIN_PCT)
				fprintf(f, " %d:%.0f%%", family_report__proc(fr, i)->pt->pid, share);
		}
		fprintf(f, "\n");
	}
	fprintf(f, "  %d process(es) traced, on-CPU %.3f s (%.3f s with a GIL, %.3f s without): parallelism %.2f\n",
		fr->processes, fr->on_cpu_s, fr->with_gil_s, fr->without_gil_s, fr->parallelism);
	fprintf(f, "  tracing cost: %llu probe hits in all", (unsigned long long)fr->probe_hits);
	if (fr->cost_cpu_pct >= 0)
		fprintf(f, ", >= %.2f%% of one CPU taken from the traced processes' threads", fr->cost_cpu_pct);
	fprintf(f, "\n");
	if (fr->lost || fr->preexec_dropped)
		fprintf(f, "  %llu process(es) lost (tree map or event buffer full); %llu empty image(s) replaced by exec "
			   "right after fork not shown\n",
			(unsigned long long)fr->lost, (unsigned long long)fr->preexec_dropped);
	fprintf(f, "\nVERDICT (all processes): %s\n  %s\n", fr->verdict.kind, fr->verdict.text);
}

void gs_report__print_text(const struct gs_report *r, FILE *f)
{
	const struct py_target *pt = r->pt;
	double win = r->window_s;
	char b1[24], b2[24], b3[24], b4[24];

	if (!r->check.ok) {
		fprintf(f, "WARNING: gilscope's figures for PID %d are NOT trustworthy:\n", pt->pid);
		for (int i = 0; i < r->check.nproblems; i++)
			fprintf(f, "  - %s\n", r->check.problems[i]);
		fprintf(f, "  (exit status 3; see SELF-CHECK at the end)\n\n");
	}
	fprintf(f, "gilscope: PID %d (%s), CPython %s, window %.2f s\n", pt->pid, pt->comm, pt->version, win);
	if (pt->ns_pid > 0 && pt->ns_pid != pt->pid)
		fprintf(f, "  in its own PID namespace as PID %d (a container)\n", pt->ns_pid);
	if (r->light.on) {
		fprintf(f, "  runtime %s, mode: --light (no uprobe; the GIL at 0x%llx)\n", pt->runtime_obj,
			(unsigned long long)pt->gil_addr);
	} else {
		fprintf(f, "  runtime %s, probes:", pt->runtime_obj);
		for (int i = 0; i < pt->nprobes; i++)
			if (py_target__probe_attached(pt, i))
				fprintf(f, " %s", pt->probes[i].symbol);
		fprintf(f, " (strategy: %s)\n", pt->strategy);
	}
	if (r->light_refused)
		fprintf(f, "  --light was asked for, but cannot trace it (%s): traced with uprobes\n", r->light_refused);
	if (r->exit_signal > 0)
		fprintf(f, "  command killed by signal %d (%s)\n", r->exit_signal, strsignal(r->exit_signal));
	else if (r->exit_code >= 0)
		fprintf(f, "  command exited with status %d\n", r->exit_code);

	fprintf(f, "\nGIL\n");
	fprintf(f, "  held %.1f%% of the window, contended %.1f%% (>= 1 thread waiting), %.2f waiters on average\n",
		r->held_pct, r->contended_pct, r->avg_waiters);
	if (r->switch_interval_us >= 0)
		fprintf(f, "  switch interval %.3f ms\n", r->switch_interval_us / 1e3);
	fprintf(f, "  %-8s %9s %9s %9s %9s %9s %9s %9s\n", "", "count", "total", "mean", "p50", "p90", "p99", "max");
	dist_row(f, "holds", &r->hold);
	dist_row(f, "waits", &r->wait);
	dist_row(f, "handoffs", &r->handoff);
	if (r->partial_holds)
		fprintf(f, "  + %llu hold(s) cut by the window edges, %.3f s (in held %%, not in the table)\n",
			(unsigned long long)r->partial_holds, r->partial_hold_s);
	fprintf(f, "  releases: %llu forced (%.0f%%, a waiter's switch request), %llu voluntary (I/O, sleep, C code)\n",
		(unsigned long long)r->forced, 100 * r->forced_share, (unsigned long long)r->voluntary);
	if (r->handoff.count)
		fprintf(f, "  handoffs: %llu releases left threads waiting (%.0f%%); the GIL then stayed free until the "
			   "next\n  acquisition, %.1f%% of the window in all (a woken waiter's way back to a CPU)\n",
			(unsigned long long)r->handoff.count, 100 * r->handoff_share, r->handoff_pct);

	if (r->ngils > 1) {
		fprintf(f, "\nGILS (the main interpreter's, then each sub-interpreter's own)\n");
		fprintf(f, "  %-16s %6s %7s %9s %9s %9s %7s %9s %9s\n", "address", "", "held", "holds", "hold p50",
			"hold p99", "waits", "wait p50", "wait p99");
		for (int i = 0; i < r->ngils; i++) {
			const struct gil_stats *g = &r->gils[i];
			char b[4][24];

			fprintf(f, "  0x%-14llx %6s %6.1f%% %9llu %9s %9s %7llu %9s %9s\n", (unsigned long long)g->addr,
				g->main ? "main" : "sub", g->held_pct, (unsigned long long)g->hold.count,
				dur(b[0], 24, g->hold.p50_us), dur(b[1], 24, g->hold.p99_us),
				(unsigned long long)g->wait.count, dur(b[2], 24, g->wait.p50_us),
				dur(b[3], 24, g->wait.p99_us));
		}
	}

	fprintf(f, "\nTHREADS (seconds of the %.2f s window)\n", win);
	fprintf(f, "  %-8s %-15s %8s %8s %8s %8s %8s %8s %10s %10s %8s %10s %10s\n", "tid", "name", "held",
		"held-off", "native", "wait", "off-cpu", "holds", "hold mean", "hold max", "waits", "wait p99",
		"wait max");
	for (size_t i = 0; i < r->nthreads; i++) {
		const struct thread_figs *t = &r->threads[i];

		char tid[16];

		if (t->t->merged)
			snprintf(tid, sizeof(tid), "-");
		else
			snprintf(tid, sizeof(tid), "%u", t->t->tid);
		fprintf(f, "  %-8s %-15s %8.3f %8.3f %8.3f %8.3f %8.3f %8llu %10s %10s %8llu %10s %10s%s\n", tid,
			t->t->name, t->held_s, t->held_offcpu_s, t->native_s, t->wait_s, t->offcpu_s,
			(unsigned long long)t->t->st.holds, dur(b3, 24, t->hold_mean_us), dur(b4, 24, t->hold_max_us),
			(unsigned long long)t->t->st.waits, dur(b1, 24, t->wait_p99_us), dur(b2, 24, t->wait_max_us),
			t->t->exited ? "  (exited)" : "");
	}
	fprintf(f, "  held: on-CPU with the GIL; held-off: holding it but off-CPU; native: on-CPU without it;\n"
		   "  wait: waiting for it; off-cpu: blocked or sleeping without it\n");

	fprintf(f, "\nCPUS (share of the window each CPU ran this process)\n");
	fprintf(f, "  %-5s %8s %10s %12s\n", "cpu", "busy", "with GIL", "without GIL");
	for (int c = 0; c < r->ncpus; c++)
		fprintf(f, "  %-5d %7.1f%% %9.1f%% %11.1f%%%s\n", c, r->cpu[c].busy_pct, r->cpu[c].with_gil_pct,
			r->cpu[c].without_gil_pct, r->cpu[c].allowed == CPU_NOT_ALLOWED ? "  (not allowed)" : "");
	fprintf(f, "  on-CPU %.3f s (%.3f s with the GIL, %.3f s without): parallelism %.2f\n", r->on_cpu_s,
		r->with_gil_s, r->without_gil_s, r->parallelism);
	if (r->runq_s > TEXT_RUNQ_MIN_SHARE * win)
		fprintf(f, "  runnable but waiting for a CPU (without the GIL): %.3f s of thread time\n", r->runq_s);
	print_limits(&r->limits, f);

	if (r->stacks)
		print_top_stacks(r->stacks, f);

	fprintf(f, "\nVERDICT: %s\n  %s\n", r->verdict.kind, r->verdict.text);
	if (r->prediction.have)
		print_prediction(&r->prediction, f);

	print_cost(r, f);
	print_check(&r->check, f);

	fprintf(f, "\nLOST: %llu event(s)", (unsigned long long)r->lost_events);
	for (int i = 0, n = 0; i < r->nlost; i++)
		if (r->lost[i].n && r->lost[i].is_loss)
			fprintf(f, "%s %llu %s", n++ ? ";" : ":", (unsigned long long)r->lost[i].n, r->lost[i].what);
	fprintf(f, "\n");
	for (int i = 0, n = 0; i < r->nlost; i++)
		if (r->lost[i].n && !r->lost[i].is_loss)
			fprintf(f, "%s %llu %s", n++ ? ";" : "NOTES (counted, nothing lost):", (unsigned long long)r->lost[i].n,
				r->lost[i].what);
	for (int i = 0; i < r->nlost; i++)
		if (r->lost[i].n && !r->lost[i].is_loss) {
			fprintf(f, "\n");
			break;
		}
	if (r->family)
		print_family(r, f);
}
