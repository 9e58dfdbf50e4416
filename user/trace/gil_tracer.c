// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "trace/gil_tracer.h"   /* gil.h's and pyoffsets.h's types first: the skeleton uses them */
#include "gil.skel.h"
#include "common.h"
#include "model/hist_stats.h"
#include "model/threads.h"
#include "trace/detach.h"
#include "trace/tracefs.h"
#include "trace/trapcost.h"

#include <linux/perf_event.h>
#include <sys/mman.h>
#include <sys/syscall.h>

/* The program lists of bpf/gil.h name every program of the skeleton
 * (each name must be one of its fields, and their number its count). */
#define PROG_IN_SKEL(name) + (sizeof(((struct gil_bpf *)0)->progs.name) > 0)
_Static_assert((0 GS_REPORTED_PROGS(PROG_IN_SKEL) GS_UNREPORTED_PROGS(PROG_IN_SKEL)) *
		       sizeof(struct bpf_program *) == sizeof(((struct gil_bpf *)0)->progs),
	       "a program of gil.bpf.c is missing from GS_REPORTED_PROGS/GS_UNREPORTED_PROGS (bpf/gil.h)");
#undef PROG_IN_SKEL

#define MAX_CPUS 1024
#define MAX_SLOT_LINKS (PT_MAX_PROBES * 2)

/* One traced process. */
struct slot {
	bool used;
	pid_t pid;
	struct bpf_link *links[MAX_SLOT_LINKS];  /* its uprobes */
	int nlinks;
	struct gs_result acc;   /* t0, and exited threads harvested so far */
};

struct tracer {
	struct gil_bpf *skel;
	struct tracer_opts opts;
	bool multi;             /* --children: proc_slots names the processes */
	int nslots;
	int next_slot;          /* slots are handed out round-robin */
	struct slot slots[GS_MAX_PROCS];
	struct bpf_link *glinks[4 + MAX_CPUS];   /* tracepoints, sampling */
	int nglinks;
	bool sched_on;          /* glinks hold the scheduler tracepoints */
	bool futex_on;          /* ... and --light's futex ones */
	int perf_fds[MAX_CPUS];
	int nperf;
	struct ring_buffer *rb;
	int stats_fd;           /* BPF_ENABLE_STATS: run counts while open */
	int ncpus;
	double trap_ns;         /* tracer__time_trap; -1 not timed */
	struct live_cache *lc;  /* tracer__sample's read of every map */
	const uint64_t *hists_mm; /* live: the hists array, mapped read-only */
	size_t hists_mm_len;
	const struct gs_snap *snap_mm; /* live: snap_threads, mapped read-only */
	size_t snap_mm_len;
	struct bpf_link *exec_link;    /* live: count_execs */
};

/* One read of the maps for every slot (live views): whole arrays in a
 * few batch calls, the live threads' copies sorted by slot. */
struct live_cache {
	uint64_t t1;
	uint64_t *counters;      /* [nslots * GS_NR_COUNTERS * ncpus] */
	uint64_t *hists;         /* [GS_HIST_ENTRIES(nslots)] */
	struct gs_cpu *cpu;      /* [nslots * ncpus] */
	struct gs_proc *procs;   /* [nslots] */
	struct gs_run *runs;     /* [ncpus] */
	const struct gs_snap *threads; /* live threads: [nthreads], in the mapping */
	size_t nthreads;
	uint32_t *order;         /* their indexes, by slot: slot s's are */
	size_t first[GS_MAX_PROCS + 1]; /* order[first[s] .. first[s+1]) */
};

static int on_rb(void *ctx, void *data, size_t size)
{
	struct tracer *tr = ctx;

	if (size >= sizeof(struct gs_trace_rec))
		tr->opts.on_trace(data, tr->opts.trace_ctx);
	return 0;
}

/* Sub-interpreters with their own GIL exist from 3.12: the call-site
 * probes see which GIL an event is about, and the address-keyed ones check
 * a condition variable against the runtime's interpreter list (BPF). */
static bool tracks_subgils(const struct py_target *pt)
{
	return pt->minor >= 12 && pt->gil_addr && pt->gil_switch_cond_addr &&
	       ((pt->call_sites && !pt->keyed) || (pt->keyed && pt->interp_list_addr));
}

int tracer__load(const struct py_target *pt, const struct tracer_opts *opts,
		 struct tracer **out, char *err, size_t errlen)
{
	struct tracer *tr = calloc(1, sizeof(*tr));
	struct gil_bpf *s;
	int e;

	if (!tr)
		return -ENOMEM;
	tr->opts = *opts;
	tr->stats_fd = -1;
	tr->trap_ns = -1;
	tr->ncpus = libbpf_num_possible_cpus();
	tr->multi = opts->multi;
	tr->nslots = opts->multi ? GS_MAX_PROCS : 1;
	tr->skel = s = gil_bpf__open();
	if (!s) {
		e = -errno;
		free(tr);
		return gs_fail(err, errlen, e, "cannot open the BPF object: %s", strerror(-e));
	}
	s->rodata->targ_tgid = opts->multi ? 0 : (__u32)pt->pid;
	/* --light samples to read the GIL, not to walk stacks */
	if ((opts->stacks || (opts->sample_hz && !opts->light)) && pt->can_walk) {
		s->rodata->targ_stacks = opts->stacks;
		memcpy((void *)&s->rodata->targ_pyoff, &pt->pyoff, sizeof(pt->pyoff));
		s->rodata->targ_pyoff.code_type = 0;      /* per process: gs_proc.code_type */
		s->rodata->targ_max_depth = opts->max_depth > 0 && opts->max_depth <= GS_MAX_FRAMES
					       ? opts->max_depth : GS_MAX_FRAMES;
	}
	s->rodata->targ_trace = opts->on_trace != NULL;
	s->rodata->targ_light = opts->light;
	s->rodata->targ_walk_samples = opts->stacks && pt->can_walk;
	bpf_map__set_max_entries(s->maps.procs, tr->nslots);
	bpf_map__set_max_entries(s->maps.proc_slots, tr->nslots);
	bpf_map__set_max_entries(s->maps.counters, GS_COUNTER_ENTRIES(tr->nslots));
	bpf_map__set_max_entries(s->maps.cpu_time, tr->nslots);
	bpf_map__set_max_entries(s->maps.hists, GS_HIST_ENTRIES(tr->nslots));
	if (opts->multi)   /* 30 KiB per process: per CPU only for one process */
		bpf_map__set_type(s->maps.hists, BPF_MAP_TYPE_ARRAY);
	if (!opts->multi && !tracks_subgils(pt))
		bpf_map__set_max_entries(s->maps.subgils, 1);
	/* Programs no probe of the target uses are not loaded: the verifier's
	 * time is most of a load. Descendants (--children) may run another
	 * build: every GIL program is loaded then. */
	if (opts->light) {
		/* no uprobe at all */
		bpf_program__set_autoload(s->progs.take_gil_enter, false);
		bpf_program__set_autoload(s->progs.take_gil_exit, false);
		bpf_program__set_autoload(s->progs.take_gil_acquired, false);
		bpf_program__set_autoload(s->progs.take_gil_contended, false);
		bpf_program__set_autoload(s->progs.drop_gil_enter, false);
		bpf_program__set_autoload(s->progs.gil_cond_call, false);
		bpf_program__set_autoload(s->progs.drop_gil_forced, false);
	} else if (!opts->multi) {
		bool used[PROBE_FORCED + 1] = {};

		for (int i = 0; i < pt->nprobes; i++)
			if (pt->probes[i].role <= PROBE_FORCED)
				used[pt->probes[i].role] = true;
		bpf_program__set_autoload(s->progs.take_gil_enter, used[PROBE_TAKE] && !pt->call_sites);
		bpf_program__set_autoload(s->progs.take_gil_exit, used[PROBE_TAKE] && !pt->call_sites);
		bpf_program__set_autoload(s->progs.take_gil_acquired, used[PROBE_ACQUIRED]);
		bpf_program__set_autoload(s->progs.take_gil_contended, used[PROBE_CONTENDED]);
		bpf_program__set_autoload(s->progs.drop_gil_enter, used[PROBE_DROP]);
		bpf_program__set_autoload(s->progs.gil_cond_call, used[PROBE_COND_SIGNAL] || used[PROBE_COND_WAIT]);
		bpf_program__set_autoload(s->progs.drop_gil_forced, used[PROBE_FORCED]);
	}
	bpf_program__set_autoload(s->progs.on_sample, opts->sample_hz > 0 && (pt->can_walk || opts->light));
	bpf_program__set_autoload(s->progs.light_futex_enter, opts->light);
	bpf_program__set_autoload(s->progs.light_futex_exit, opts->light);
	if (!opts->light)
		bpf_map__set_max_entries(s->maps.light_tstates, 1);
	bpf_program__set_autoload(s->progs.snap_live_threads, opts->live);
	bpf_program__set_autoload(s->progs.count_execs, opts->live);
	if (opts->live) {
		bpf_map__set_max_entries(s->maps.snap_threads, GS_SNAP_THREADS);
		/* read every interval: mapped, not copied element by element */
		bpf_map__set_map_flags(s->maps.snap_threads, bpf_map__map_flags(s->maps.snap_threads) | BPF_F_MMAPABLE);
		if (opts->multi)
			bpf_map__set_map_flags(s->maps.hists, bpf_map__map_flags(s->maps.hists) | BPF_F_MMAPABLE);
	}
	/* Maps only the enabled outputs use stay minimal. */
	if (!opts->on_trace)
		bpf_map__set_max_entries(s->maps.trace, 4096);
	if (!opts->stacks && (!opts->sample_hz || opts->light)) {
		bpf_map__set_max_entries(s->maps.stacks, 1);
		bpf_map__set_max_entries(s->maps.codes, 1);
		bpf_map__set_max_entries(s->maps.stack_counts, 1);
	}
	e = gil_bpf__load(s);
	if (e) {
		gil_bpf__destroy(s);
		free(tr);
		return gs_fail(err, errlen, e,
			    "cannot load the BPF programs (%s); run with -v for the verifier log",
			    strerror(-e));
	}
	if (opts->live && opts->multi) {
		size_t pg = (size_t)sysconf(_SC_PAGESIZE);
		size_t len = ((size_t)GS_HIST_ENTRIES(tr->nslots) * sizeof(uint64_t) + pg - 1) / pg * pg;
		size_t slen = ((size_t)GS_SNAP_THREADS * sizeof(struct gs_snap) + pg - 1) / pg * pg;
		void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, bpf_map__fd(s->maps.hists), 0);
		void *sm = mmap(NULL, slen, PROT_READ, MAP_SHARED, bpf_map__fd(s->maps.snap_threads), 0);

		if (m != MAP_FAILED) {
			tr->hists_mm = m;
			tr->hists_mm_len = len;
		}
		if (sm == MAP_FAILED) {
			e = -errno;
			tracer__free(tr);
			return gs_fail(err, errlen, e, "cannot map the live threads' table: %s", strerror(-e));
		}
		tr->snap_mm = sm;
		tr->snap_mm_len = slen;
	}
	/* without it, discovery looks at every executable once a second */
	if (opts->live)
		tr->exec_link = bpf_program__attach(s->progs.count_execs);
	if (opts->bpf_stats && (tr->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME)) < 0) {
		e = tr->stats_fd;
		tracer__free(tr);
		return gs_fail(err, errlen, e, "cannot enable BPF run statistics: %s", strerror(-e));
	}
	if (opts->on_trace) {
		tr->rb = ring_buffer__new(bpf_map__fd(s->maps.trace), on_rb, tr, NULL);
		if (!tr->rb) {
			e = -errno;
			tracer__free(tr);
			return gs_fail(err, errlen, e, "cannot open the trace ring buffer: %s", strerror(-e));
		}
	}
	*out = tr;
	return 0;
}

int tracer__poll(struct tracer *tr, int timeout_ms)
{
	int n;

	if (!tr->rb)
		return 0;
	/* woken only once a batch is pending (bpf/gil.bpf.c, emit): what the
	 * time-out leaves is read too */
	n = ring_buffer__poll(tr->rb, timeout_ms);
	if (n >= 0)
		n = ring_buffer__consume(tr->rb);
	return n < 0 ? n : 0;
}

/* Undo a failed attach_sampling: its events go, so the next process's
 * attach tries again (never half the CPUs sampled). */
static int sampling_undo(struct tracer *tr, int nglinks, int e)
{
	while (tr->nglinks > nglinks)
		bpf_link__destroy(tr->glinks[--tr->nglinks]);
	while (tr->nperf > 0)
		close(tr->perf_fds[--tr->nperf]);
	return e;
}

/* One CPU-clock sampling event per CPU; the program keeps the target's
 * threads only (an event per thread would miss threads started later). */
static int attach_sampling(struct tracer *tr, char *err, size_t errlen)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(a),
		.freq = 1,
		.sample_freq = (unsigned)tr->opts.sample_hz,
	};
	int n = libbpf_num_possible_cpus(), nglinks = tr->nglinks;

	for (int cpu = 0; cpu < n && cpu < MAX_CPUS; cpu++) {
		int fd = (int)syscall(SYS_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		struct bpf_link *l;

		if (fd < 0) {
			if (errno == ENODEV)   /* CPU offline */
				continue;
			return sampling_undo(tr, nglinks, gs_fail(err, errlen, -errno,
					     "cannot open a sampling event on CPU %d: %s", cpu, strerror(errno)));
		}
		tr->perf_fds[tr->nperf++] = fd;
		l = bpf_program__attach_perf_event(tr->skel->progs.on_sample, fd);
		if (!l)
			return sampling_undo(tr, nglinks, gs_fail(err, errlen, -errno,
					     "cannot attach the sampler on CPU %d: %s", cpu, strerror(errno)));
		tr->glinks[tr->nglinks++] = l;
	}
	return 0;
}

/* Two programs attached together, or neither (a failed attach is tried
 * again by the next process's, never left half done). */
static int attach_pair(struct tracer *tr, struct bpf_program *pa, struct bpf_program *pb, const char *what,
		       char *err, size_t errlen)
{
	struct bpf_link *a, *b;
	int e;

	if (!(a = bpf_program__attach(pa)))
		return gs_fail(err, errlen, -errno, "cannot attach %s: %s", what, strerror(errno));
	if (!(b = bpf_program__attach(pb))) {
		e = -errno;
		bpf_link__destroy(a);
		return gs_fail(err, errlen, e, "cannot attach %s: %s", what, strerror(-e));
	}
	tr->glinks[tr->nglinks++] = a;
	tr->glinks[tr->nglinks++] = b;
	return 0;
}

/* The scheduler tracepoints: once per object, for every process it
 * traces; with --light the futex syscall tracepoints too. */
static int attach_sched(struct tracer *tr, char *err, size_t errlen)
{
	int e;

	if (!tr->sched_on) {
		if ((e = attach_pair(tr, tr->skel->progs.sched_switch, tr->skel->progs.sched_process_exit,
				     "the scheduler tracepoints", err, errlen)))
			return e;
		tr->sched_on = true;
	}
	if (!tr->opts.light || tr->futex_on)
		return 0;
	/* --light: the futex calls (every process's: filtered in BPF). Their
	 * tracepoints are found in tracefs, which a fresh host may not have
	 * mounted. */
	if ((e = tracefs__ensure(err, errlen)) ||
	    (e = attach_pair(tr, tr->skel->progs.light_futex_enter, tr->skel->progs.light_futex_exit,
			     "to the futex syscall tracepoints", err, errlen)))
		return e;
	tr->futex_on = true;
	return 0;
}

static int slot_link(struct slot *sl, struct bpf_link *l)
{
	if (!l)
		return -errno;
	if (sl->nlinks >= MAX_SLOT_LINKS) {
		bpf_link__destroy(l);
		return -E2BIG;
	}
	sl->links[sl->nlinks++] = l;
	return 0;
}

static bool fault_match(const char *list, const char *name)
{
	char w[128];

	while (list && *list) {
		size_t n = strcspn(list, ",");

		if (n && n < sizeof(w)) {
			memcpy(w, list, n);
			w[n] = 0;
			if (strstr(name, w))
				return true;
		}
		list += n + (list[n] == ',');
	}
	return false;
}

static int attach_uprobes(struct tracer *tr, struct slot *sl, const struct py_target *pt,
			  char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	struct bpf_program *prog;
	const char *fault = getenv("GILSCOPE_FAULT_SKIP_PROBE");
	int e;

	for (int i = 0; i < pt->nprobes; i++) {
		const struct gil_probe *p = &pt->probes[i];

		switch (p->role) {
		case PROBE_TAKE:
			/* call-site mode needs neither entry nor return */
			if (pt->call_sites)
				continue;
			prog = tr->skel->progs.take_gil_enter;
			break;
		case PROBE_DROP:
			prog = tr->skel->progs.drop_gil_enter;
			break;
		case PROBE_ACQUIRED:
			prog = tr->skel->progs.take_gil_acquired;
			break;
		case PROBE_CONTENDED:
			prog = tr->skel->progs.take_gil_contended;
			break;
		case PROBE_FORCED:
			prog = tr->skel->progs.drop_gil_forced;
			break;
		default:
			prog = tr->skel->progs.gil_cond_call;
			break;
		}
		/* Fault injection for the self-check's own test: leave out
		 * the probes whose name contains one of these comma-separated
		 * words (README: testing). */
		if (fault_match(fault, p->symbol)) {
			fprintf(stderr, "gilscope: GILSCOPE_FAULT_SKIP_PROBE: probe %s left out\n", p->symbol);
			continue;
		}
		uo.retprobe = false;
		uo.bpf_cookie = p->role == PROBE_COND_SIGNAL ? 1 : p->role == PROBE_COND_WAIT ? 2 :
				p->role == PROBE_CONTENDED ? p->cookie : (__u64)p->tstate_arg;
		e = slot_link(sl, bpf_program__attach_uprobe_opts(prog, pt->pid, pt->open_path, p->offset, &uo));
		if (!e && p->role == PROBE_TAKE) {
			uo.retprobe = true;
			e = slot_link(sl, bpf_program__attach_uprobe_opts(tr->skel->progs.take_gil_exit, pt->pid,
									  pt->open_path, p->offset, &uo));
			uo.retprobe = false;
		}
		if (e)
			return gs_fail(err, errlen, e, "cannot attach a uprobe to %s in %s: %s",
				    p->symbol, p->object, strerror(-e));
	}
	return 0;
}

static void proc_config(struct tracer *tr, const struct py_target *pt, struct gs_proc *c)
{
	memset(c, 0, sizeof(*c));
	c->tgid = (__u32)pt->pid;
	for (int i = 0; i < pt->nforced && i < GS_MAX_FORCED_RANGES; i++) {
		c->forced_lo[i] = pt->forced_lo[i];
		c->forced_hi[i] = pt->forced_hi[i];
	}
	c->forced_by_site = pt->forced_sites;
	c->gil_addr = pt->gil_addr;
	c->gil_cond_addr = pt->gil_cond_addr;
	c->gil_switch_cond_addr = pt->gil_switch_cond_addr;
	c->drop_req_addr = pt->drop_req_addr;
	c->drop_req_ptr_addr = pt->drop_req_ptr_addr;
	c->drop_req_off = pt->drop_req_off;
	c->drop_req_tstate_off = pt->drop_req_tstate_off;
	c->holder_addr = pt->holder_addr;
	c->switchnum_addr = pt->switchnum_addr;
	if (pt->keyed) {
		c->interp_head_addr = pt->interp_list_addr;
		c->interp_next_off = pt->interp_next_off;
		c->interp_gil_off = pt->interp_gil_ptr_off;
	}
	c->track_subgils = tracks_subgils(pt);
	/* One stack layout per object: a descendant running another
	 * version gets no stacks. */
	c->can_walk = pt->can_walk && tr->skel->rodata->targ_pyoff.minor == pt->pyoff.minor;
	c->code_type = pt->pyoff.code_type;
}

int tracer__add(struct tracer *tr, const struct py_target *pt, int *slot, char *err, size_t errlen)
{
	struct gs_proc cfg;
	struct slot *sl = NULL;
	__u32 k, tgid = (__u32)pt->pid;
	int e, i;

	for (i = 0; i < tr->nslots; i++) {
		k = (__u32)((tr->next_slot + i) % tr->nslots);
		if (!tr->slots[k].used) {
			sl = &tr->slots[k];
			break;
		}
	}
	if (!sl)
		return gs_fail(err, errlen, -ENOSPC, "%d processes are traced already", tr->nslots);
	tr->next_slot = (int)k + 1;
	memset(sl, 0, sizeof(*sl));
	sl->used = true;
	sl->pid = pt->pid;
	proc_config(tr, pt, &cfg);
	/* The window opens as the first probe goes in. */
	cfg.t0 = gs_mono_ns();
	sl->acc.t0 = cfg.t0;
	/* The scheduler tracepoints go in first: a thread first seen by a
	 * uprobe before the seed iterator has run was off-CPU until its
	 * switch-in noted since the window opened (or on-CPU throughout). */
	if ((e = bpf_map_update_elem(bpf_map__fd(tr->skel->maps.procs), &k, &cfg, BPF_ANY)) ||
	    (tr->multi && (e = bpf_map_update_elem(bpf_map__fd(tr->skel->maps.proc_slots), &tgid, &k, BPF_ANY))) ||
	    (e = attach_sched(tr, err, errlen)) ||
	    (!tr->opts.light && (e = attach_uprobes(tr, sl, pt, err, errlen))) ||
	    (tr->opts.sample_hz > 0 && (pt->can_walk || tr->opts.light) && !tr->nperf &&
	     (e = attach_sampling(tr, err, errlen)))) {
		if (!err[0])
			gs_fail(err, errlen, e, "cannot set up the BPF maps: %s", strerror(-e));
		if (tr->multi)
			bpf_map_delete_elem(bpf_map__fd(tr->skel->maps.proc_slots), &tgid);
		for (int j = sl->nlinks - 1; j >= 0; j--)
			bpf_link__destroy(sl->links[j]);
		sl->nlinks = 0;   /* destroyed: tracer__free must not again */
		sl->used = false;
		return e;
	}
	*slot = (int)k;
	return 0;
}

uint64_t tracer__t0(const struct tracer *tr, int slot)
{
	return tr->slots[slot].acc.t0;
}

static void seed_tstate(uint64_t key, uint64_t tstate, void *ctx)
{
	struct tracer *tr = ctx;

	bpf_map_update_elem(bpf_map__fd(tr->skel->maps.seed_tstates), &key, &tstate, BPF_ANY);
}

static void clear_map_u64(int fd)
{
	uint64_t key, next;

	while (bpf_map_get_next_key(fd, NULL, &next) == 0) {
		key = next;
		if (bpf_map_delete_elem(fd, &key))
			break;
	}
}

/* One pass of a task iterator program over every task, or (pid > 0)
 * over one process's threads only. */
static int run_task_iter_of(struct bpf_program *prog, pid_t pid)
{
	union bpf_iter_link_info linfo = {};
	LIBBPF_OPTS(bpf_iter_attach_opts, io, .link_info = &linfo, .link_info_len = sizeof(linfo));
	struct bpf_link *link;
	char buf[64];
	int fd, e = 0;

	linfo.task.pid = pid > 0 ? (__u32)pid : 0;
	link = bpf_program__attach_iter(prog, pid > 0 ? &io : NULL);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		e = -errno;
	} else {
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
	}
	bpf_link__destroy(link);
	return e;
}

static int run_task_iter(struct bpf_program *prog)
{
	return run_task_iter_of(prog, 0);
}

int tracer__seed(struct tracer *tr, int slot, const struct py_target *pt,
		 const struct gil_snapshot *snap, char *err, size_t errlen)
{
	struct gil_bpf *s = tr->skel;
	int e;

	s->bss->seed_slot = (__u32)slot;
	s->bss->seed_holder_tid = 0;
	s->bss->seed_holder_fsbase = 0;
	s->bss->seed_implicit = 0;
	if (snap && snap->locked == 1) {
		s->bss->seed_holder_tid = snap->holder_tid;
		s->bss->seed_holder_fsbase = snap->holder_pthread;
	} else if (snap && snap->locked == -1 && pt->minor == 6) {
		/* 3.6 creates the GIL only when a second thread starts:
		 * until then the main thread runs Python alone, as if it
		 * held it. */
		s->bss->seed_holder_tid = (__u32)pt->pid;
		s->bss->seed_implicit = 1;
	}
	tr->slots[slot].acc.seed_locked = snap ? snap->locked : -1;
	tr->slots[slot].acc.seed_holder = s->bss->seed_holder_tid;
	clear_map_u64(bpf_map__fd(s->maps.seed_tstates));
	if ((pt->can_walk && (tr->opts.stacks || tr->opts.sample_hz)) || tr->opts.light)
		py_target__threads(pt, seed_tstate, tr);
	e = run_task_iter(s->progs.seed_threads);
	if (e)
		return gs_fail(err, errlen, e, "cannot run the task iterator: %s", strerror(-e));
	return 0;
}

static void read_task_comm(pid_t pid, uint32_t tid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%u/comm", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

/* Move exited threads from the BPF maps to their process's slot. */
int tracer__harvest(struct tracer *tr)
{
	int fd = bpf_map__fd(tr->skel->maps.closed_threads);
	uint32_t key, next, *prev = NULL, *gone = NULL;
	size_t ngone = 0, cap = 0;
	struct gs_thread st;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &st) || !st.exited)
			continue;
		if (gs_grow(&gone, &cap, ngone + 1, sizeof(*gone), 16))
			break;
		gone[ngone++] = key;
	}
	for (size_t i = 0; i < ngone; i++) {
		if (bpf_map_lookup_elem(fd, &gone[i], &st) || st.slot >= (uint32_t)tr->nslots ||
		    !tr->slots[st.slot].used || !threads__add_exited(&tr->slots[st.slot].acc, gone[i], &st,
					   gone[i] == (uint32_t)tr->slots[st.slot].pid))
			continue;
		bpf_map_delete_elem(fd, &gone[i]);
	}
	free(gone);
	return (int)ngone;
}

static void sum_percpu(int fd, uint32_t key, uint64_t *vals, int ncpus, uint64_t *sum)
{
	*sum = 0;
	if (bpf_map_lookup_elem(fd, &key, vals) == 0)
		for (int c = 0; c < ncpus; c++)
			*sum += vals[c];
}

static void prog_stat(const struct bpf_program *p, struct prog_stat *st)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_program__fd(p) < 0)     /* not loaded: unused by this target */
		return;
	st->name = bpf_program__name(p);
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		return;
	st->runs = info.run_cnt;
	st->run_ns = info.run_time_ns;
	st->misses = info.recursion_misses;
	st->insns = info.xlated_prog_len / 8;
}

static int cmp_u64_first(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void *dump_u64_map(int fd, size_t esize, size_t *n)
{
	uint64_t key, next, *prev = NULL;
	size_t cap = 0;
	char *v = NULL;

	*n = 0;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (gs_grow(&v, &cap, *n + 1, esize, 256))
			break;
		memcpy(v + *n * esize, &key, 8);
		if (bpf_map_lookup_elem(fd, &key, v + *n * esize + 8) == 0)
			(*n)++;
	}
	if (*n)
		qsort(v, *n, esize, cmp_u64_first);
	return v;
}

static bool has_tid(const struct gs_result *res, uint32_t tid)
{
	for (size_t i = 0; i < res->nthreads; i++)
		if (res->threads[i].tid == tid)
			return true;
	return false;
}

/* The slot's stacks: its weights (by its threads), its code objects (keys
 * carry the slot above the address), and the stack table they refer to. */
static void read_stacks(struct tracer *tr, int slot, struct gs_result *res)
{
	struct gil_bpf *s = tr->skel;
	struct gs_stack_key k, next, *prev = NULL;
	size_t cap = 0, n = 0;
	int fd;

	if (!s->rodata->targ_pyoff.minor)
		return;
	res->py_minor = (int)s->rodata->targ_pyoff.minor;
	res->stacks = dump_u64_map(bpf_map__fd(s->maps.stacks), sizeof(struct stack_entry), &res->nstacks);
	res->codes = dump_u64_map(bpf_map__fd(s->maps.codes), sizeof(struct code_entry), &res->ncodes);
	for (size_t i = 0; i < res->ncodes; i++)
		if (gs_key_slot(res->codes[i].addr) == (uint32_t)slot) {
			if (tr->multi)
				bpf_map_delete_elem(bpf_map__fd(s->maps.codes), &res->codes[i].addr);
			res->codes[n] = res->codes[i];
			res->codes[n++].addr = gs_key_addr(res->codes[i].addr);
		}
	res->ncodes = n;
	fd = bpf_map__fd(s->maps.stack_counts);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (!has_tid(res, k.tid))
			continue;
		if (gs_grow(&res->counts, &cap, res->ncounts + 1, sizeof(*res->counts), 256))
			break;
		res->counts[res->ncounts].k = k;
		if (bpf_map_lookup_elem(fd, &k, &res->counts[res->ncounts].weight) == 0)
			res->ncounts++;
	}
	for (size_t i = 0; tr->multi && i < res->ncounts; i++)
		bpf_map_delete_elem(fd, &res->counts[i].k);
}

static struct subgil_rec *subgil_find(struct gs_result *res, uint64_t addr)
{
	for (size_t i = 0; i < res->nsubgils; i++)
		if (res->subgils[i].addr == addr)
			return &res->subgils[i];
	return NULL;
}

/* The slot's sub-interpreter GILs, with the holds still open at t1. */
static void read_subgils(struct tracer *tr, int slot, struct gs_result *res)
{
	int fd = bpf_map__fd(tr->skel->maps.subgils);
	uint64_t key, next, *prev = NULL;
	struct subgil_rec *v;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (gs_key_slot(key) != (uint32_t)slot)
			continue;
		if (!(v = realloc(res->subgils, (res->nsubgils + 1) * sizeof(*v))))
			return;
		res->subgils = v;
		v = &res->subgils[res->nsubgils];
		memset(v, 0, sizeof(*v));
		v->addr = gs_key_addr(key);
		if (bpf_map_lookup_elem(fd, &key, &v->g) == 0)
			res->nsubgils++;
	}
	for (size_t i = 0; tr->multi && i < res->nsubgils; i++) {
		key = gs_slot_key((uint32_t)slot, res->subgils[i].addr);
		bpf_map_delete_elem(fd, &key);
	}
	for (size_t i = 0; i < res->nthreads; i++) {
		const struct gs_thread *t = &res->threads[i].st;

		if (!res->threads[i].exited && t->gil_addr && t->gil == GS_GIL_HOLDING &&
		    (v = subgil_find(res, t->gil_addr)) && res->t1 > t->gil_since)
			v->inflight_hold_ns += res->t1 - t->gil_since;
	}
}

/* Add [st->since, until) to the state the thread is in, as account() does
 * in BPF. */
static void close_interval(const struct tracer *tr, struct gs_result *res, struct gs_thread *st,
			   uint64_t until)
{
	uint64_t d = until > st->since ? until - st->since : 0;
	int ts = (st->gil == GS_GIL_HOLDING ? GS_HELD_ON :
		  st->gil == GS_GIL_WAITING ? GS_WAIT_ON : GS_NOGIL_ON) + (st->oncpu ? 0 : 1);

	if (st->implicit && !st->oncpu && !st->runnable_off)
		ts = GS_NOGIL_OFF;
	st->ns[ts] += d;
	if (ts == GS_NOGIL_OFF && st->runnable_off)
		st->runq_ns += d;
	if (st->oncpu && res->cpu && st->cpu < (uint32_t)tr->ncpus) {
		if (st->gil == GS_GIL_HOLDING)
			res->cpu[st->cpu].with_gil_ns += d;
		else
			res->cpu[st->cpu].without_gil_ns += d;
	}
	if (st->gil == GS_GIL_HOLDING && st->gil_addr)
		st->sub_held_ns += d;
	if (until > st->since)
		st->since = until;
}

/* Each CPU's last switch-in note (struct gs_run), or NULL. */
static struct gs_run *read_run_notes(const struct tracer *tr)
{
	struct gs_run *v = calloc((size_t)tr->ncpus, sizeof(*v));
	uint32_t zero = 0;

	if (v && bpf_map_lookup_elem(bpf_map__fd(tr->skel->maps.last_switch_in), &zero, v)) {
		free(v);
		return NULL;
	}
	return v;
}

/* A thread switched in since its last event is on-CPU from that switch-in
 * (BPF only notes switch-ins; see struct gs_run). */
static void apply_run_note(const struct tracer *tr, struct gs_result *res, const struct gs_run *runs,
			   uint32_t tid, struct gs_thread *st)
{
	for (int c = 0; runs && !st->oncpu && c < tr->ncpus; c++) {
		if (runs[c].tid != tid || runs[c].ts <= st->since || runs[c].ts > res->t1)
			continue;
		close_interval(tr, res, st, runs[c].ts);
		st->oncpu = 1;
		st->runnable_off = 0;
		st->cpu = (uint32_t)c;
	}
}

/* A slot's live threads (dump_threads copied them to closed_threads as the
 * window closed): close their open interval at t1. */
static void read_live_threads(struct tracer *tr, int slot, const struct py_target *pt, struct gs_result *res)
{
	int fd = bpf_map__fd(tr->skel->maps.closed_threads);
	uint32_t key, next, *prev = NULL;
	struct gs_run *runs = read_run_notes(tr);
	struct gs_thread st;
	size_t first = res->nthreads;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct thread_rec *r;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &st) || st.slot != (uint32_t)slot || !(r = threads__add(res)))
			continue;
		apply_run_note(tr, res, runs, key, &st);
		close_interval(tr, res, &st, res->t1);
		if (st.gil == GS_GIL_HOLDING && !st.gil_addr)
			res->inflight_hold_ns += res->t1 - st.gil_since;
		if (st.gil == GS_GIL_WAITING && st.contended && !st.gil_addr)
			res->inflight_cwait_ns += res->t1 - st.gil_since;
		r->tid = key;
		r->st = st;
		r->exited = st.exited;
		memcpy(r->name, st.comm, sizeof(r->name));
		read_task_comm(pt->pid, key, r->name, sizeof(r->name));
		r->name[sizeof(r->name) - 1] = 0;
		r->wait_p99_ns = hist_thread_quantile(st.whist, 0.99, st.wait_max_ns);
	}
	free(runs);
	/* --children: the slot's threads leave the map (the slot is reused) */
	for (size_t i = first; tr->multi && i < res->nthreads; i++)
		bpf_map_delete_elem(fd, &res->threads[i].tid);
}

/* Zero a slot's counters, histograms and CPU times for its next process
 * (--children: histograms are a shared array then). */
static void reset_slot(struct tracer *tr, int slot)
{
	struct gil_bpf *s = tr->skel;
	/* per-CPU values: the largest is struct gs_cpu */
	struct gs_cpu *zeros = calloc(tr->ncpus, sizeof(*zeros));
	__u64 zero = 0;
	__u32 k;

	if (!zeros)
		return;
	for (uint32_t i = 0; i < GS_NR_COUNTERS; i++) {
		k = gs_counter_idx((__u32)slot, i);
		bpf_map_update_elem(bpf_map__fd(s->maps.counters), &k, zeros, BPF_ANY);
	}
	for (uint32_t kd = 0; kd < GS_NR_HISTS; kd++)
		for (uint32_t i = 0; i < GS_HIST_SLOTS; i++) {
			k = gs_hist_idx((__u32)slot, kd) + i;
			bpf_map_update_elem(bpf_map__fd(s->maps.hists), &k, &zero, BPF_ANY);
		}
	k = (__u32)slot;
	bpf_map_update_elem(bpf_map__fd(s->maps.cpu_time), &k, zeros, BPF_ANY);
	free(zeros);
}


/* Elements [start, start + n) of an array map, in batches; values of a
 * per-CPU map are ncpus each. 0 or -errno. */
static int read_array(int fd, uint32_t start, uint32_t n, size_t vsize, void *out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	uint32_t *keys = calloc(n ? n : 1, sizeof(*keys));
	uint32_t done = 0, token = start ? start - 1 : 0;
	int e = 0;

	if (!keys)
		return -ENOMEM;
	while (done < n) {
		uint32_t cnt = n - done;

		/* the token is the last key read: the batch goes on after it */
		e = bpf_map_lookup_batch(fd, (start || done) ? &token : NULL, &token, keys + done,
					 (char *)out + (size_t)done * vsize, &cnt, &bo);
		done += cnt;
		if (e) {
			e = -errno;
			if (e == -ENOENT)   /* the end */
				e = 0;
			break;
		}
	}
	/* a kernel without batch support: one lookup each */
	if (e == -EINVAL || e == -ENOTSUP || e == -EOPNOTSUPP) {
		e = 0;
		for (uint32_t k = 0; k < n && !e; k++) {
			uint32_t key = start + k;

			if (bpf_map_lookup_elem(fd, &key, (char *)out + (size_t)k * vsize))
				e = -errno;
		}
	}
	free(keys);
	return e;
}

static void live_cache__free(struct live_cache *c)
{
	if (!c)
		return;
	free(c->counters);
	free(c->hists);
	free(c->cpu);
	free(c->procs);
	free(c->runs);
	free(c->order);
	free(c);
}

int tracer__sample(struct tracer *tr)
{
	struct gil_bpf *s = tr->skel;
	struct live_cache *c = calloc(1, sizeof(*c));
	size_t ns = (size_t)tr->nslots, nc = (size_t)tr->ncpus;
	int e;

	live_cache__free(tr->lc);
	tr->lc = NULL;
	if (!c)
		return -ENOMEM;
	tracer__harvest(tr);
	/* one run over the threads of every traced process */
	s->bss->snap_n = 0;
	s->bss->snap_slots = 0;
	for (int i = 0; i < tr->nslots && i < 64; i++)
		if (tr->slots[i].used)
			s->bss->snap_slots |= 1ull << i;
	{
		LIBBPF_OPTS(bpf_test_run_opts, ro);

		if (bpf_prog_test_run_opts(bpf_program__fd(s->progs.snap_live_threads), &ro)) {
			e = -errno;
			goto out;
		}
	}
	__sync_synchronize();
	c->threads = tr->snap_mm;
	c->nthreads = s->bss->snap_n < GS_SNAP_THREADS ? s->bss->snap_n : GS_SNAP_THREADS;
	c->t1 = gs_mono_ns();
	c->counters = calloc(ns * GS_NR_COUNTERS * nc, sizeof(uint64_t));
	c->hists = tr->hists_mm ? NULL : calloc(GS_HIST_ENTRIES(ns), sizeof(uint64_t));
	c->cpu = calloc(ns * nc, sizeof(struct gs_cpu));
	c->procs = calloc(ns, sizeof(struct gs_proc));
	c->runs = calloc(nc, sizeof(struct gs_run));
	e = -ENOMEM;
	if (!c->counters || (!c->hists && !tr->hists_mm) || !c->cpu || !c->procs || !c->runs)
		goto out;
	/* the slots in use only, [lo, hi]: a slot's counters and
	 * histograms are contiguous, and each map is read in one batch */
	{
		int lo = -1, hi = -1;

		for (int i = 0; i < tr->nslots; i++)
			if (tr->slots[i].used) {
				if (lo < 0)
					lo = i;
				hi = i;
			}
		if (lo >= 0) {
			uint32_t a = (uint32_t)lo, n = (uint32_t)(hi - lo + 1);

			if ((e = read_array(bpf_map__fd(s->maps.counters), gs_counter_idx(a, 0), n * GS_NR_COUNTERS,
					    nc * sizeof(uint64_t), c->counters + (size_t)gs_counter_idx(a, 0) * nc)) ||
			    (!tr->hists_mm &&
			     (e = read_array(bpf_map__fd(s->maps.hists), gs_hist_idx(a, 0),
					     n * GS_NR_HISTS * GS_HIST_SLOTS, sizeof(uint64_t),
					     c->hists + gs_hist_idx(a, 0)))) ||
			    (e = read_array(bpf_map__fd(s->maps.cpu_time), a, n, nc * sizeof(struct gs_cpu),
					    c->cpu + (size_t)a * nc)) ||
			    (e = read_array(bpf_map__fd(s->maps.procs), a, n, sizeof(struct gs_proc), c->procs + a)))
				goto out;
		}
	}
	{
		uint32_t zero = 0;

		if (bpf_map_lookup_elem(bpf_map__fd(s->maps.last_switch_in), &zero, c->runs))
			memset(c->runs, 0, nc * sizeof(struct gs_run));
	}
	/* by slot (a counting sort), so that each slot reads only its own */
	e = -ENOMEM;
	if (!(c->order = calloc(c->nthreads ? c->nthreads : 1, sizeof(*c->order))))
		goto out;
	{
		size_t pos[GS_MAX_PROCS + 1] = {};

		for (size_t i = 0; i < c->nthreads; i++)
			if (c->threads[i].st.slot < (uint32_t)ns)
				c->first[c->threads[i].st.slot + 1]++;
		for (size_t k = 1; k <= ns; k++)
			c->first[k] += c->first[k - 1];
		memcpy(pos, c->first, sizeof(pos));
		for (size_t i = 0; i < c->nthreads; i++)
			if (c->threads[i].st.slot < (uint32_t)ns)
				c->order[pos[c->threads[i].st.slot]++] = (uint32_t)i;
		/* each slot's by TID, the order of its rows (threads__sort):
		 * an insertion sort, as a thread list is mostly in TID order */
		for (size_t k = 0; k < ns; k++)
			for (size_t i = c->first[k] + 1; i < c->first[k + 1]; i++) {
				uint32_t x = c->order[i];
				size_t j = i;

				for (; j > c->first[k] && c->threads[c->order[j - 1]].tid > c->threads[x].tid; j--)
					c->order[j] = c->order[j - 1];
				c->order[j] = x;
			}
	}
	e = 0;
out:
	if (e) {
		live_cache__free(c);
		return e;
	}
	tr->lc = c;
	return 0;
}

int tracer__execs(const struct tracer *tr, uint64_t *n)
{
	if (!tr || !tr->exec_link)
		return -ENOENT;
	*n = __atomic_load_n(&tr->skel->bss->execs, __ATOMIC_RELAXED);
	return 0;
}

int tracer__snapshot(struct tracer *tr, int slot, struct gs_result *res)
{
	const struct live_cache *c = tr->lc;
	const struct slot *sl = &tr->slots[slot];
	size_t nc = (size_t)tr->ncpus;
	const struct gs_proc *proc;
	size_t h0 = offsetof(struct gs_result, hist), h1 = h0 + sizeof(res->hist);

	/* all but the histograms, copied whole below (64 of 46 KB a second) */
	memset(res, 0, h0);
	memset((char *)res + h1, 0, sizeof(*res) - h1);
	if (!c || slot < 0 || slot >= tr->nslots || !sl->used || !tr->multi) {
		memset(res->hist, 0, sizeof(res->hist));
		return -EINVAL;
	}
	res->t0 = sl->acc.t0;
	res->t1 = c->t1;
	res->live = true;
	res->ncpus = tr->ncpus;
	res->interval_us = -1;
	res->trap_ns = tr->trap_ns;
	res->light = tr->opts.light;
	res->light_split = false;       /* a raw snapshot (live_light_split) */
	res->light_hz = tr->opts.light ? tr->opts.sample_hz : 0;
	res->seed_locked = sl->acc.seed_locked;
	res->seed_holder = sl->acc.seed_holder;
	for (uint32_t i = 0; i < GS_NR_COUNTERS; i++)
		for (size_t k = 0; k < nc; k++)
			res->counters[i] += c->counters[(size_t)gs_counter_idx((uint32_t)slot, i) * nc + k];
	for (uint32_t kd = 0; kd < GS_NR_HISTS; kd++)
		memcpy(res->hist[kd], &(tr->hists_mm ? tr->hists_mm : c->hists)[gs_hist_idx((uint32_t)slot, kd)],
		       sizeof(res->hist[kd]));
	if (!(res->cpu = calloc(nc, sizeof(*res->cpu))))
		return -ENOMEM;
	memcpy(res->cpu, &c->cpu[(size_t)slot * nc], nc * sizeof(*res->cpu));
	/* exited threads so far, then the live ones closed at t1 */
	if (gs_grow(&res->threads, &res->cap, sl->acc.nthreads + (c->first[slot + 1] - c->first[slot]),
		    sizeof(*res->threads), 64))
		return -ENOMEM;
	for (size_t i = 0; i < sl->acc.nthreads; i++) {
		struct thread_rec *r = threads__add(res);

		if (!r)
			return -ENOMEM;
		*r = sl->acc.threads[i];
	}
	res->exited_rows = sl->acc.exited_rows;
	res->merged_row = sl->acc.merged_row;
	for (size_t j = c->first[slot]; j < c->first[slot + 1]; j++) {
		size_t i = c->order[j];
		struct gs_thread st = c->threads[i].st;
		uint32_t tid = c->threads[i].tid;
		struct thread_rec *r;

		if (!(r = threads__add(res)))
			return -ENOMEM;
		apply_run_note(tr, res, c->runs, tid, &st);
		close_interval(tr, res, &st, res->t1);
		if (st.gil == GS_GIL_HOLDING && !st.gil_addr && res->t1 > st.gil_since)
			res->inflight_hold_ns += res->t1 - st.gil_since;
		if (st.gil == GS_GIL_WAITING && st.contended && !st.gil_addr && res->t1 > st.gil_since)
			res->inflight_cwait_ns += res->t1 - st.gil_since;
		r->tid = tid;
		r->st = st;
		memcpy(r->name, st.comm, sizeof(r->name));
		r->name[sizeof(r->name) - 1] = 0;
		r->wait_p99_ns = 0;   /* not shown live (a 120-slot walk per thread) */
	}
	threads__sort(res);
	res->gil_addr = 0;
	proc = &c->procs[slot];
	if (proc->tgid == (uint32_t)sl->pid) {
		if (proc->nwaiters > 0 && res->t1 > proc->contend_start)
			res->counters[GS_C_CONTENDED_NS] += res->t1 - proc->contend_start;
		if (proc->free_since && res->t1 > proc->free_since)
			res->counters[GS_C_HANDOFF_NS] += res->t1 - proc->free_since;
		res->handoff_max_ns = proc->handoff_max_ns;
	}
	return 0;
}

struct detach_job {
	struct bpf_link *links[MAX_SLOT_LINKS];
	int n;
};

static void detach_links(void *arg)
{
	struct detach_job *j = arg;

	for (int i = j->n - 1; i >= 0; i--)
		bpf_link__destroy(j->links[i]);
	free(j);
}

int tracer__end(struct tracer *tr, int slot, const struct py_target *pt, struct gs_result *res)
{
	struct gil_bpf *s = tr->skel;
	struct slot *sl = &tr->slots[slot];
	uint64_t *vals = calloc(tr->ncpus, sizeof(uint64_t));
	struct gs_cpu *cvals = calloc(tr->ncpus, sizeof(struct gs_cpu));
	struct gs_proc proc = {};
	struct detach_job *job;
	__u32 tgid = (__u32)sl->pid, k;
	int fd, e;

	if (!vals || !cvals) {
		free(vals);
		free(cvals);
		return -ENOMEM;
	}
	/* Close the window in one step: every program checks the flag (or
	 * the process's entry), so nothing changes its maps while they are
	 * read. Detaching waits for the kernel (~0.1 s per uprobe here): it
	 * is done in the background. */
	if (tr->multi)
		bpf_map_delete_elem(bpf_map__fd(s->maps.proc_slots), &tgid);
	else
		s->bss->stopped = 1;
	__sync_synchronize();
	sl->acc.t1 = gs_mono_ns();
	/* live threads' state, from their tasks into the closed_threads hash */
	s->bss->dump_slot = (__u32)slot;
	if ((e = run_task_iter(s->progs.dump_threads)))
		fprintf(stderr, "gilscope: PID %d: cannot read the live threads' state (task iterator: %s): "
			"the report has only the threads that exited\n", sl->pid, strerror(-e));
	if (tr->rb)
		ring_buffer__consume(tr->rb);
	tracer__harvest(tr);

	*res = sl->acc;
	memset(&sl->acc, 0, sizeof(sl->acc));
	res->ncpus = tr->ncpus;
	res->cpu = calloc(tr->ncpus, sizeof(struct gs_cpu));
	res->interval_us = -1;

	fd = bpf_map__fd(s->maps.counters);
	for (uint32_t i = 0; i < GS_NR_COUNTERS; i++)
		sum_percpu(fd, gs_counter_idx((__u32)slot, i), vals, tr->ncpus, &res->counters[i]);
	fd = bpf_map__fd(s->maps.hists);
	for (uint32_t kd = 0; kd < GS_NR_HISTS; kd++)
		for (uint32_t i = 0; i < GS_HIST_SLOTS; i++) {
			k = gs_hist_idx((__u32)slot, kd) + i;
			if (tr->multi) {
				if (bpf_map_lookup_elem(fd, &k, &res->hist[kd][i]))
					res->hist[kd][i] = 0;
			} else {
				sum_percpu(fd, k, vals, tr->ncpus, &res->hist[kd][i]);
			}
		}
	k = (__u32)slot;
	if (res->cpu && bpf_map_lookup_elem(bpf_map__fd(s->maps.cpu_time), &k, cvals) == 0)
		for (int c = 0; c < tr->ncpus; c++)
			res->cpu[c] = cvals[c];

	read_live_threads(tr, slot, pt, res);
	threads__sort(res);
	res->gil_addr = pt->gil_addr;
	read_subgils(tr, slot, res);
	if (bpf_map_lookup_elem(bpf_map__fd(s->maps.procs), &k, &proc) == 0) {
		if (proc.nwaiters > 0 && res->t1 > proc.contend_start)
			res->counters[GS_C_CONTENDED_NS] += res->t1 - proc.contend_start;
		/* a hand-off still open: its time so far (not a count) */
		if (proc.free_since && res->t1 > proc.free_since)
			res->counters[GS_C_HANDOFF_NS] += res->t1 - proc.free_since;
		res->handoff_max_ns = proc.handoff_max_ns;
		res->sc.bpf_holder = proc.gil_holder;
		res->sc.first_tstate = proc.sw_first_tstate;
		res->sc.changes = proc.sw_count;
		res->sc.sn_first = proc.sn_first;
		res->sc.sn_last = proc.sn_last;
		res->sc.seen = proc.sn_seen;
		res->sc.unreadable = proc.sn_unreadable;
		res->sc.have_exit = proc.sn_exit_read;
		res->sc.sn_exit = proc.sn_exit;
		res->sc.have_bpf = true;
	}
	read_stacks(tr, slot, res);
	{
#define PROG(name) s->progs.name,
		const struct bpf_program *progs[] = { GS_REPORTED_PROGS(PROG) };
#undef PROG
		_Static_assert(sizeof(progs) / sizeof(progs[0]) == GS_NR_PROGS,
			       "the program table is GS_REPORTED_PROGS (bpf/gil.h)");

		for (int i = 0; i < GS_NR_PROGS; i++) {
			prog_stat(progs[i], &res->progs[i]);
			res->prog_misses += res->progs[i].misses;
		}
		res->prog_stats = tr->stats_fd >= 0;
	}
	res->trap_ns = tr->trap_ns;
	res->light = tr->opts.light;
	res->light_hz = tr->opts.light ? tr->opts.sample_hz : 0;
	if (tr->multi)
		reset_slot(tr, slot);
	/* This process's uprobes go in the background. */
	if (sl->nlinks && (job = calloc(1, sizeof(*job)))) {
		memcpy(job->links, sl->links, sl->nlinks * sizeof(sl->links[0]));
		job->n = sl->nlinks;
		sl->nlinks = 0;
		reaper__run(detach_links, job);
	}
	sl->used = false;
	free(vals);
	free(cvals);
	return 0;
}

void tracer__time_trap(struct tracer *tr)
{
	if (tr)
		tr->trap_ns = trapcost__measure(tr->skel->progs.trap_probe);
}

bool tracer__light(const struct tracer *tr)
{
	return tr->opts.light;
}

void tracer__free(struct tracer *tr)
{
	if (!tr)
		return;
	for (int s = 0; s < tr->nslots; s++) {
		for (int i = tr->slots[s].nlinks - 1; i >= 0; i--)
			bpf_link__destroy(tr->slots[s].links[i]);
		gs_result__free(&tr->slots[s].acc);
	}
	for (int i = tr->nglinks - 1; i >= 0; i--)
		bpf_link__destroy(tr->glinks[i]);
	bpf_link__destroy(tr->exec_link);
	for (int i = 0; i < tr->nperf; i++)
		close(tr->perf_fds[i]);
	ring_buffer__free(tr->rb);
	live_cache__free(tr->lc);
	if (tr->hists_mm)
		munmap((void *)tr->hists_mm, tr->hists_mm_len);
	if (tr->snap_mm)
		munmap((void *)tr->snap_mm, tr->snap_mm_len);
	if (tr->stats_fd >= 0)
		close(tr->stats_fd);
	gil_bpf__destroy(tr->skel);
	free(tr);
}

void gs_result__free(struct gs_result *r)
{
	free(r->threads);
	free(r->cpu);
	free(r->counts);
	free(r->stacks);
	free(r->codes);
	free(r->subgils);
	memset(r, 0, sizeof(*r));
}
