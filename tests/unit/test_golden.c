// SPDX-License-Identifier: MIT
/* Every writer over fixed models, compared byte for byte with the
 * committed files in tests/unit/golden/: the text and JSON reports, the
 * folded stacks, the flame graph and the Chrome trace. The models are
 * built the way a recording builds them (raw result -> figures, stacks,
 * family -> outputs), from raw figures written out here, so a change in
 * any stage after tracing that moves a byte of any output fails here.
 *
 * GOLDEN_UPDATE=1 writes the files anew (then review the diff). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "model/figures.h"
#include "model/stacks.h"
#include "render/output.h"
#include "render/chrome_trace.h"
#include "trace/children.h"

#ifndef GOLDEN_DIR
#define GOLDEN_DIR "tests/unit/golden"
#endif

#define MS 1000000ull
#define T0 (1000ull * 1000 * MS)   /* the window opens at 1000 s */

/* ------------------------------------------------------------ raw models */

static void target(struct py_target *pt, pid_t pid, const char *comm, int minor, bool take_call_sites)
{
	memset(pt, 0, sizeof(*pt));
	pt->pid = pid;
	pt->ns_pid = pid == 4242 ? 7 : pid;
	snprintf(pt->comm, sizeof(pt->comm), "%s", comm);
	snprintf(pt->exe, sizeof(pt->exe), "/usr/bin/python3.%d", minor);
	snprintf(pt->runtime_obj, sizeof(pt->runtime_obj), "/usr/lib/x86_64-linux-gnu/libpython3.%d.so.1.0", minor);
	pt->major = 3;
	pt->minor = minor;
	pt->micro = 4;
	snprintf(pt->version, sizeof(pt->version), "3.%d.4", minor);
	pt->strategy = take_call_sites ? "symbols+call sites" : "symbols";
	pt->call_sites = take_call_sites;
	pt->switchnum_addr = 0x7f0000001000ull;
	static const struct { const char *sym; enum probe_role role; uint64_t off; } pr[] = {
		{ "take_gil", PROBE_TAKE, 0x1a2b30 },
		{ "drop_gil", PROBE_DROP, 0x1a3000 },
		{ "take_gil+0x1c5", PROBE_ACQUIRED, 0x1a2cf5 },
		{ "take_gil+0x120", PROBE_CONTENDED, 0x1a2c50 },
	};
	for (int i = 0; i < (take_call_sites ? 4 : 2); i++) {
		struct gil_probe *p = &pt->probes[pt->nprobes++];

		snprintf(p->object, sizeof(p->object), "%s", pt->runtime_obj);
		snprintf(p->symbol, sizeof(p->symbol), "%s", pr[i].sym);
		p->offset = pr[i].off;
		p->role = pr[i].role;
	}
}

static struct thread_rec *thread(struct gs_result *r, uint32_t tid, const char *name, const uint64_t ns[GS_NR_TSTATES],
				 uint64_t holds, uint64_t hold_ns, uint64_t waits, bool exited)
{
	struct thread_rec *t;

	r->threads = realloc(r->threads, (r->nthreads + 1) * sizeof(*r->threads));
	t = &r->threads[r->nthreads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	snprintf(t->name, sizeof(t->name), "%s", name);
	memcpy(t->st.ns, ns, sizeof(t->st.ns));
	t->st.holds = holds;
	t->st.hold_ns = hold_ns;
	t->st.hold_max_ns = holds ? hold_ns / holds * 3 / 2 : 0;
	t->st.waits = waits;
	t->st.wait_max_ns = waits ? 9 * MS + tid : 0;
	t->st.runq_ns = ns[GS_NOGIL_OFF] / 7;
	t->wait_p99_ns = waits ? 8.5e6 + tid : 0;
	t->exited = exited;
	return t;
}

/* Histogram slots: n events around a duration (slot of ns, spread). */
static void hist_fill(uint64_t *slots, uint64_t ns, uint64_t n)
{
	unsigned int s = 0;

	while (s + 1 < GS_HIST_SLOTS && gs_hist_slot_lo(s + 1) <= ns)
		s++;
	slots[s] += n - n / 4 - n / 10;
	if (s > 0)
		slots[s - 1] += n / 4;
	if (s + 2 < GS_HIST_SLOTS)
		slots[s + 2] += n / 10;
}

/* A stack: frames (code addresses, leaf first) with a weight per view. */
static void stack(struct gs_result *r, uint64_t id, uint32_t tid, int view, uint64_t weight,
		  const uint64_t *codes, int depth)
{
	struct stack_entry *se = NULL;

	for (size_t i = 0; i < r->nstacks; i++)
		if (r->stacks[i].id == id)
			se = &r->stacks[i];
	if (!se) {
		r->stacks = realloc(r->stacks, (r->nstacks + 1) * sizeof(*r->stacks));
		se = &r->stacks[r->nstacks++];
		memset(se, 0, sizeof(*se));
		se->id = id;
		se->st.depth = depth;
		for (int d = 0; d < depth; d++)
			se->st.frames[d] = codes[d];
	}
	r->counts = realloc(r->counts, (r->ncounts + 1) * sizeof(*r->counts));
	r->counts[r->ncounts++] = (struct stack_count){ .k = { .stack = id, .tid = tid, .view = view },
							 .weight = weight };
}

static void code(struct gs_result *r, uint64_t addr, const char *name, const char *file, int line)
{
	struct code_entry *c;

	r->codes = realloc(r->codes, (r->ncodes + 1) * sizeof(*r->codes));
	c = &r->codes[r->ncodes++];
	memset(c, 0, sizeof(*c));
	c->addr = addr;
	c->c.firstlineno = line;
	c->c.name_kind = c->c.file_kind = 1;
	c->c.name_len = (uint16_t)strlen(name);
	c->c.file_len = (uint16_t)strlen(file);
	memcpy(c->c.name, name, c->c.name_len);
	memcpy(c->c.file, file, c->c.file_len);
}

static int cmp_stack(const void *a, const void *b)
{
	const struct stack_entry *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_code(const void *a, const void *b)
{
	const struct code_entry *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void result_base(struct gs_result *r, double win_s, int minor)
{
	memset(r, 0, sizeof(*r));
	r->t0 = T0;
	r->t1 = T0 + (uint64_t)(win_s * 1e9);
	r->ncpus = 2;
	r->cpu = calloc(2, sizeof(*r->cpu));
	r->trap_ns = 4900;
	r->interval_us = 5000;
	r->py_minor = minor;
	r->gil_addr = 0x7f00000a0000ull;
	r->seed_locked = 1;
	r->progs[0] = (struct prog_stat){ "take_gil_entry", 1200, 950000, 0, 412 };
	r->progs[1] = (struct prog_stat){ "drop_gil_entry", 1190, 610000, 0, 377 };
	r->progs[2] = (struct prog_stat){ "sched_switch", 5400, 2100000, 3, 655 };
	r->prog_stats = true;
}

/* Two CPU-bound threads and a waiter on one GIL: GIL-bound, with every
 * stack view, a sub-interpreter GIL, counted losses and notes, launched
 * and ended with status 0. */
static void gil_bound(struct gs_result *r)
{
	uint64_t *c = r->counters;
	const uint64_t a[GS_NR_TSTATES] = { [GS_HELD_ON] = 1480 * MS, [GS_HELD_OFF] = 12 * MS, [GS_WAIT_OFF] = 1490 * MS,
					    [GS_WAIT_ON] = 3 * MS, [GS_NOGIL_ON] = 11 * MS, [GS_NOGIL_OFF] = 4 * MS };
	const uint64_t b[GS_NR_TSTATES] = { [GS_HELD_ON] = 1465 * MS, [GS_HELD_OFF] = 9 * MS, [GS_WAIT_OFF] = 1505 * MS,
					    [GS_WAIT_ON] = 2 * MS, [GS_NOGIL_ON] = 14 * MS, [GS_NOGIL_OFF] = 5 * MS };
	const uint64_t m[GS_NR_TSTATES] = { [GS_HELD_ON] = 21 * MS, [GS_WAIT_OFF] = 40 * MS,
					    [GS_NOGIL_OFF] = 2939 * MS };
	const uint64_t e[GS_NR_TSTATES] = { [GS_HELD_ON] = 2 * MS, [GS_NOGIL_ON] = 1 * MS, [GS_NOGIL_OFF] = 300 * MS };
	const uint64_t main_stack[] = { 0x5000, 0x5100, 0x5200 };
	const uint64_t work[] = { 0x6000 | (14ull << 48), 0x6100, 0x5100, 0x5200 };
	const uint64_t waitf[] = { 0x6200, 0x6100, 0x5100, 0x5200 };
	const uint64_t native[] = { 0x6300, 0x6100, 0x5100, 0x5200, 0x9999 };

	result_base(r, 3.0, 12);
	thread(r, 4242, "MainThread", m, 3, 21 * MS, 2, false);
	thread(r, 4243, "hog-1", a, 297, 1478 * MS, 296, false);
	thread(r, 4244, "hog-2", b, 293, 1460 * MS, 294, false);
	thread(r, 4250, "short", e, 1, 2 * MS, 0, true);
	r->cpu[0] = (struct gs_cpu){ 1490 * MS, 20 * MS };
	r->cpu[1] = (struct gs_cpu){ 1478 * MS, 9 * MS };
	c[GS_C_FORCED] = 580;
	c[GS_C_VOLUNTARY] = 14;
	c[GS_C_HOLD_NS] = 2961 * MS;
	c[GS_C_WAIT_NS] = 2990 * MS;
	c[GS_C_CONTENDED_NS] = 2940 * MS;
	c[GS_C_HANDOFF_NS] = 41 * MS;
	c[GS_C_PARTIAL_HOLDS] = 1;
	c[GS_C_PARTIAL_HOLD_NS] = 3 * MS;
	c[GS_C_ACQUIRES] = 594;
	c[GS_C_PROBE_HITS] = 2410;
	c[GS_C_SAMPLES] = 1190;
	c[GS_C_STACK_ERR] = 4;
	c[GS_C_TRACE_LOST] = 2;
	c[GS_C_OTHER_GIL] = 30;
	c[GS_C_SWITCH_IN_ON] = 1;
	r->inflight_hold_ns = 2 * MS;
	r->inflight_cwait_ns = 1 * MS;
	r->handoff_max_ns = 310000;
	hist_fill(r->hist[GS_HIST_HOLD], 5 * MS, 594);
	hist_fill(r->hist[GS_HIST_WAIT], 5 * MS + 100000, 592);
	hist_fill(r->hist[GS_HIST_HANDOFF], 60000, 580);
	r->subgils = calloc(1, sizeof(*r->subgils));
	r->nsubgils = 1;
	r->subgils[0].addr = 0x7f00000b0000ull;
	r->subgils[0].g.holds = 30;
	r->subgils[0].g.hold_ns = 60 * MS;
	r->subgils[0].g.hold_max_ns = 4 * MS;
	r->subgils[0].g.forced = 2;
	r->subgils[0].g.voluntary = 28;
	hist_fill((uint64_t *)r->subgils[0].g.hist[GS_HIST_HOLD], 2 * MS, 30);
	r->threads[0].st.sub_held_ns = 0;
	code(r, 0x5000, "<module>", "/srv/app.py", 1);
	code(r, 0x5100, "main", "/srv/app.py", 40);
	code(r, 0x5200, "run", "/srv/app.py", 30);
	code(r, 0x6000, "Hasher.spin", "/srv/lib/hash\"ing.py", 10);
	code(r, 0x6100, "worker", "/srv/app.py", 20);
	code(r, 0x6200, "wait_for_gil", "/srv/app.py", 25);
	code(r, 0x6300, "native_zlib", "/srv/app.py", 27);
	qsort(r->codes, r->ncodes, sizeof(*r->codes), cmp_code);
	stack(r, 11, 4243, GS_VIEW_GIL, 590, work, 4);
	stack(r, 11, 4244, GS_VIEW_GIL, 585, work, 4);
	stack(r, 12, 4242, GS_VIEW_GIL, 4, main_stack, 3);
	stack(r, 13, 4243, GS_VIEW_WAIT, 1488000, waitf, 4);
	stack(r, 13, 4244, GS_VIEW_WAIT, 1502000, waitf, 4);
	stack(r, 14, 4243, GS_VIEW_NOGIL, 5, native, 5);
	stack(r, 11, 4243, GS_VIEW_BLAME, 1470000, work, 4);
	stack(r, 11, 4244, GS_VIEW_BLAME, 1455000, work, 4);
	stack(r, 12, 4242, GS_VIEW_BLAME, 3000, main_stack, 3);
	qsort(r->stacks, r->nstacks, sizeof(*r->stacks), cmp_stack);
	/* allowed two CPUs of four: named, but the GIL is the limit, and
	 * processes on those two would be the way out */
	r->lim_start = (struct cpu_limits){ .valid = true, .cpus_online = 4, .cpus_allowed = 2, .thread_cpus_min = 1,
					    .thread_cpus_max = 2, .cpus_allowed_list = "0-1", .quota_cpus = -1,
					    .cpuset_cpus = 4, .cpuset_list = "0-3" };
	r->lim_end = r->lim_start;
	/* the interpreter counted what gilscope saw */
	r->sc = (struct selfcheck_raw){ .have_bpf = true, .bpf_holder = 4243, .first_tstate = 0xa0, .changes = 575,
					.sn_first = 1001, .sn_last = 1576, .seen = 594, .have_start = true,
					.have_end = true, .sn_start = 1000, .holder_start = 0xb0, .sn_end_a = 1576,
					.sn_end_b = 1577, .locked_a = 1, .locked_b = 1, .holder_tid_a = 4243,
					.holder_tid_b = 4243, .holder_tid_known = true };
}

/* An I/O-bound process whose counts contradict the interpreter's: the
 * report must say so at its top. */
static void untrusted(struct gs_result *r)
{
	const uint64_t io[GS_NR_TSTATES] = { [GS_HELD_ON] = 80 * MS, [GS_NOGIL_ON] = 30 * MS,
					     [GS_NOGIL_OFF] = 1890 * MS, [GS_WAIT_OFF] = 2 * MS };

	result_base(r, 2.0, 14);
	r->interval_us = -1;
	r->trap_ns = -1;
	r->prog_stats = false;
	thread(r, 900, "MainThread", io, 410, 78 * MS, 3, false);
	thread(r, 901, "reader", io, 405, 79 * MS, 2, false);
	r->cpu[0] = (struct gs_cpu){ 150 * MS, 55 * MS };
	r->cpu[1] = (struct gs_cpu){ 10 * MS, 5 * MS };
	r->counters[GS_C_VOLUNTARY] = 815;
	r->counters[GS_C_HOLD_NS] = 157 * MS;
	r->counters[GS_C_WAIT_NS] = 4 * MS;
	r->counters[GS_C_CONTENDED_NS] = 4 * MS;
	r->counters[GS_C_ACQUIRES] = 815;
	r->counters[GS_C_PROBE_HITS] = 3300;
	r->counters[GS_C_LOST_THREADS_FULL] = 1;
	hist_fill(r->hist[GS_HIST_HOLD], 190000, 815);
	hist_fill(r->hist[GS_HIST_WAIT], 1 * MS, 5);
	/* a container's quota of half a CPU, throttling it */
	r->lim_start = (struct cpu_limits){ .valid = true, .cpus_online = 2, .cpus_allowed = 2, .thread_cpus_min = 2,
					    .thread_cpus_max = 2, .cpus_allowed_list = "0-1", .quota_cpus = 0.5,
					    .cgroup = "/docker/4f2a", .nr_periods = 1000, .nr_throttled = 100,
					    .throttled_us = 5000000, .cpuset_cpus = -1 };
	r->lim_end = r->lim_start;
	r->lim_end.nr_periods += 20;
	r->lim_end.nr_throttled += 9;
	r->lim_end.throttled_us += 410000;
	r->sc = (struct selfcheck_raw){ .have_bpf = true, .first_tstate = 0xa0, .changes = 300, .seen = 815,
					.have_start = true, .have_end = true, .sn_start = 50, .holder_start = 0xa0,
					.sn_end_a = 850, .sn_end_b = 850, .holder_tid_known = true };
}

/* A pool: a parent that waits and two busy children. */
static void child(struct gs_result *r, uint32_t pid, uint64_t busy_ns, int cpu)
{
	const uint64_t w[GS_NR_TSTATES] = { [GS_HELD_ON] = busy_ns, [GS_NOGIL_ON] = 20 * MS,
					    [GS_NOGIL_OFF] = 2000 * MS - busy_ns - 20 * MS };

	result_base(r, 1.9, 12);
	r->t0 += 50 * MS;
	r->t1 = r->t0 + 1900 * MS;
	thread(r, pid, "MainThread", w, 40, busy_ns - MS, 0, false);
	r->cpu[cpu] = (struct gs_cpu){ busy_ns, 20 * MS };
	r->counters[GS_C_VOLUNTARY] = 40;
	r->counters[GS_C_HOLD_NS] = busy_ns - MS;
	r->counters[GS_C_ACQUIRES] = 40;
	r->counters[GS_C_PROBE_HITS] = 90;
	hist_fill(r->hist[GS_HIST_HOLD], 45 * MS, 40);
	r->sc = (struct selfcheck_raw){ .have_bpf = true, .seen = 40, .have_start = true, .have_end = true };
	code(r, 0x7000, "square", "/srv/pool.py", 3);
	code(r, 0x7100, "worker", "/usr/lib/python3.12/multiprocessing/pool.py", 114);
	stack(r, 21, pid, GS_VIEW_GIL, busy_ns / (5 * MS), (const uint64_t[]){ 0x7000 | (3ull << 48), 0x7100 }, 2);
}

static void parent(struct gs_result *r)
{
	const uint64_t w[GS_NR_TSTATES] = { [GS_HELD_ON] = 5 * MS, [GS_NOGIL_OFF] = 1995 * MS };

	result_base(r, 2.0, 12);
	thread(r, 7000, "MainThread", w, 12, 5 * MS, 0, false);
	r->cpu[0] = (struct gs_cpu){ 5 * MS, 0 };
	r->counters[GS_C_VOLUNTARY] = 12;
	r->counters[GS_C_HOLD_NS] = 5 * MS;
	r->counters[GS_C_ACQUIRES] = 12;
	r->counters[GS_C_PROBE_HITS] = 30;
	hist_fill(r->hist[GS_HIST_HOLD], 400000, 12);
	r->sc = (struct selfcheck_raw){ .have_bpf = true, .seen = 12, .have_start = true, .have_end = true };
}

/* ------------------------------------------------------------- compare */

static bool update;


/* The output written to tmp, against GOLDEN_DIR/name. */
static void golden(const char *tmp, const char *name)
{
	char path[512];
	size_t n1 = 0, n2 = 0, at = 0;
	char *got = check_slurp(tmp, &n1), *want;

	snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
	CHECK_MSG(got != NULL, "%s was not written", tmp);
	if (!got)
		return;
	if (update) {
		FILE *f = fopen(path, "wb");

		CHECK_MSG(f && fwrite(got, 1, n1, f) == n1 && fclose(f) == 0, "cannot write %s", path);
		printf("  wrote %s (%zu bytes)\n", path, n1);
		free(got);
		return;
	}
	want = check_slurp(path, &n2);
	CHECK_MSG(want != NULL, "%s missing (GOLDEN_UPDATE=1 writes it)", path);
	if (want) {
		while (at < n1 && at < n2 && got[at] == want[at])
			at++;
		CHECK_MSG(n1 == n2 && at == n1, "%s differs from %s at byte %zu (%zu vs %zu bytes): got \"%.60s\"",
			  tmp, path, at, n1, n2, at < n1 ? got + at : "");
	}
	free(got);
	free(want);
}

int main(void)
{
	char dir[] = "/tmp/gs-golden.XXXXXX", p[6][600];
	struct py_target pt[4];
	struct gs_result res[4];
	struct proc_model pm[4];
	struct launch_status ls = { .launched = true, .exited = true, .exit_code = 0 };
	struct timeline *tw;
	struct output_files of;
	FILE *text;

	update = getenv("GOLDEN_UPDATE") && *getenv("GOLDEN_UPDATE") == '1';
	CHECK(mkdtemp(dir) != NULL);
	for (int i = 0; i < 6; i++)
		snprintf(p[i], sizeof(p[i]), "%s/%d", dir, i);

	/* 1: GIL-bound, launched, every output */
	target(&pt[0], 4242, "python3.12", 12, true);
	gil_bound(&res[0]);
	CHECK(proc_model__build(&pm[0], &pt[0], &res[0], &ls, true, false) == 0);
	tw = timeline__new(4242, "python3.12", res[0].t0);
	for (int k = 0; k < 40; k++) {
		struct gs_trace_rec tr = { .ts = T0 + k * 5 * MS + (k % 3) * 1000, .tid = 4243 + k % 2,
					   .kind = k % 5 == 4 ? GS_TR_FORCED : GS_TR_STATE,
					   .state = k % 2 ? GS_HELD_ON : GS_WAIT_OFF, .cpu = k % 2, .waiters = 1,
					   .tgid = 4242 };

		timeline__add(tw, &tr);
	}
	pm[0].tw = tw;
	of = (struct output_files){ .json = p[1], .folded = p[2], .flamegraph = p[3], .trace = p[4] };
	CHECK((text = fopen(p[0], "w")) != NULL);
	CHECK(output__write(&of, text, pm, 1) == 0);
	fclose(text);
	golden(p[0], "gil_bound.txt");
	golden(p[1], "gil_bound.json");
	golden(p[2], "gil_bound.folded");
	golden(p[3], "gil_bound.svg");
	golden(p[4], "gil_bound.trace.json");
	timeline__free(tw);
	proc_model__free(&pm[0]);

	/* 2: the self-check fails */
	target(&pt[0], 900, "server", 14, false);
	untrusted(&res[1]);
	CHECK(proc_model__build(&pm[0], &pt[0], &res[1], NULL, false, false) == 0);
	of = (struct output_files){ .json = p[1] };
	CHECK((text = fopen(p[0], "w")) != NULL);
	CHECK(output__write(&of, text, pm, 1) == 0);
	fclose(text);
	CHECK(!pm[0].rep.check.ok);
	golden(p[0], "untrusted.txt");
	golden(p[1], "untrusted.json");
	proc_model__free(&pm[0]);

	/* 3: --children: a parent, two busy children, one not traced */
	target(&pt[1], 7000, "python3.12", 12, true);
	target(&pt[2], 7001, "python3.12", 12, true);
	target(&pt[3], 7002, "python3.12", 12, true);
	parent(&res[2]);
	gs_result__free(&res[0]);	/* case 1's, reused */
	child(&res[0], 7001, 1800 * MS, 0);
	child(&res[3], 7002, 1750 * MS, 1);
	CHECK(proc_model__build(&pm[0], &pt[1], &res[2], NULL, true, true) == 0);
	CHECK(proc_model__build(&pm[1], &pt[2], &res[0], NULL, true, true) == 0);
	CHECK(proc_model__build(&pm[2], &pt[3], &res[3], NULL, true, true) == 0);
	pm[1].rep.parent = pm[2].rep.parent = 7000;
	{
		struct child_skip skip = { .pid = 7003, .parent = 7000, .comm = "sh", .reason = "not CPython" };
		struct family_model fm;

		CHECK(family_model__build(&fm, pm, 3) == 0);
		fm.rep.skip = &skip;
		fm.rep.nskip = 1;
		fm.rep.lost = 1;
		fm.rep.preexec_dropped = 2;
		of = (struct output_files){ .json = p[1], .folded = p[2], .flamegraph = p[3] };
		CHECK((text = fopen(p[0], "w")) != NULL);
		CHECK(output__write(&of, text, pm, 3) == 0);
		fclose(text);
		family_model__free(&fm, pm);
	}
	golden(p[0], "children.txt");
	golden(p[1], "children.json");
	golden(p[2], "children.folded");
	golden(p[3], "children.svg");
	for (int i = 0; i < 3; i++)
		proc_model__free(&pm[i]);

	/* 4: a free-threaded build in a container, killed by a signal */
	target(&pt[0], 4242, "python3.13t", 13, false);
	pt[0].free_threaded = true;
	pt[0].switchnum_addr = 0;
	gs_result__free(&res[1]);
	untrusted(&res[1]);
	res[1].threads[0].ns_tid = 7;
	res[1].threads[1].ns_tid = 8;
	ls = (struct launch_status){ .launched = true, .exited = true, .exit_code = -1, .exit_signal = 9 };
	CHECK(proc_model__build(&pm[0], &pt[0], &res[1], &ls, false, false) == 0);
	of = (struct output_files){ .json = p[1] };
	CHECK((text = fopen(p[0], "w")) != NULL);
	CHECK(output__write(&of, text, pm, 1) == 0);
	fclose(text);
	golden(p[0], "killed.txt");
	golden(p[1], "killed.json");
	proc_model__free(&pm[0]);
	for (int i = 0; i < 4; i++)
		gs_result__free(&res[i]);
	for (int i = 0; i < 6; i++)
		unlink(p[i]);
	rmdir(dir);
	return check_summary("golden");
}
