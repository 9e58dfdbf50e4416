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
#include "tracer.h"   /* gilscope.h's types first: the skeleton uses them */
#include "gil.skel.h"
#include "errmsg.h"
#include "hist_stats.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>

#define MAX_CPUS 1024

struct tracer {
	struct gil_bpf *skel;
	struct tracer_opts opts;
	struct bpf_link *links[PT_MAX_PROBES * 2 + 2 + MAX_CPUS];
	int nlinks;
	int perf_fds[MAX_CPUS];
	int nperf;
	struct ring_buffer *rb;
	int stats_fd;           /* BPF_ENABLE_STATS: run counts while open */
	struct gs_result acc;   /* exited threads harvested so far */
	int ncpus;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* the clock of bpf_ktime_get_ns() */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int on_rb(void *ctx, void *data, size_t size)
{
	struct tracer *tr = ctx;

	if (size >= sizeof(struct gs_trace_rec))
		tr->opts.on_trace(data, tr->opts.trace_ctx);
	return 0;
}

int tracer__load(const struct py_target *pt, const struct tracer_opts *opts,
		 struct tracer **out, char *err, size_t errlen)
{
	struct tracer *tr = calloc(1, sizeof(*tr));
	int e;

	if (!tr)
		return -ENOMEM;
	tr->opts = *opts;
	tr->stats_fd = -1;
	tr->ncpus = libbpf_num_possible_cpus();
	tr->skel = gil_bpf__open();
	if (!tr->skel) {
		e = -errno;
		free(tr);
		return gs_fail(err, errlen, e, "cannot open the BPF object: %s", strerror(-e));
	}
	tr->skel->rodata->targ_tgid = (__u32)pt->pid;
	for (int i = 0; i < pt->nforced; i++) {
		tr->skel->rodata->forced_lo[i] = pt->forced_lo[i];
		tr->skel->rodata->forced_hi[i] = pt->forced_hi[i];
	}
	if ((opts->stacks || opts->sample_hz) && pt->can_walk) {
		tr->skel->rodata->with_stacks = opts->stacks;
		memcpy((void *)&tr->skel->rodata->pyoff, &pt->pyoff, sizeof(pt->pyoff));
		tr->skel->rodata->max_depth = opts->max_depth > 0 && opts->max_depth <= GS_MAX_FRAMES
						      ? opts->max_depth : GS_MAX_FRAMES;
	}
	tr->skel->rodata->with_trace = opts->on_trace != NULL;
	tr->skel->rodata->gil_cond_addr = pt->gil_cond_addr;
	tr->skel->rodata->gil_switch_cond_addr = pt->gil_switch_cond_addr;
	tr->skel->rodata->drop_req_addr = pt->drop_req_addr;
	tr->skel->rodata->drop_req_ptr_addr = pt->drop_req_ptr_addr;
	tr->skel->rodata->drop_req_off = pt->drop_req_off;
	/* 3.12+ sub-interpreters may own a GIL: the call-site probes see its
	 * address and report it apart. */
	if (pt->minor >= 12 && pt->gil_addr && pt->gil_switch_cond_addr && !pt->keyed) {
		tr->skel->rodata->gil_addr = pt->gil_addr;
		tr->skel->rodata->gil_cond_off = GS_GIL_COND_OFF;
		tr->skel->rodata->gil_switch_cond_off = GS_GIL_SWITCH_COND_OFF;
	} else {
		bpf_map__set_max_entries(tr->skel->maps.subgils, 1);
	}
	/* Programs this target's probes do not use are not loaded: the
	 * verifier's time is most of a load (it delays --children). */
	{
		bool used[PROBE_COND_WAIT + 1] = {};

		for (int i = 0; i < pt->nprobes; i++)
			if (pt->probes[i].role <= PROBE_COND_WAIT)
				used[pt->probes[i].role] = true;
		bpf_program__set_autoload(tr->skel->progs.take_gil_enter, used[PROBE_TAKE] && !pt->call_sites);
		bpf_program__set_autoload(tr->skel->progs.take_gil_exit, used[PROBE_TAKE] && !pt->call_sites);
		bpf_program__set_autoload(tr->skel->progs.take_gil_acquired, used[PROBE_ACQUIRED]);
		bpf_program__set_autoload(tr->skel->progs.take_gil_contended, used[PROBE_CONTENDED]);
		bpf_program__set_autoload(tr->skel->progs.drop_gil_enter, used[PROBE_DROP]);
		bpf_program__set_autoload(tr->skel->progs.gil_cond_call, used[PROBE_COND_SIGNAL] || used[PROBE_COND_WAIT]);
		bpf_program__set_autoload(tr->skel->progs.on_sample, opts->sample_hz > 0 && pt->can_walk);
	}
	/* Maps only the enabled outputs use stay minimal. */
	if (!opts->on_trace)
		bpf_map__set_max_entries(tr->skel->maps.trace, 4096);
	if (!opts->stacks && !opts->sample_hz) {
		bpf_map__set_max_entries(tr->skel->maps.stacks, 1);
		bpf_map__set_max_entries(tr->skel->maps.codes, 1);
		bpf_map__set_max_entries(tr->skel->maps.stack_counts, 1);
	}
	e = gil_bpf__load(tr->skel);
	if (e) {
		gil_bpf__destroy(tr->skel);
		free(tr);
		return gs_fail(err, errlen, e,
			    "cannot load the BPF programs (%s); run with -v for the verifier log",
			    strerror(-e));
	}
	if (opts->bpf_stats && (tr->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME)) < 0) {
		e = tr->stats_fd;
		tracer__free(tr);
		return gs_fail(err, errlen, e, "cannot enable BPF run statistics: %s", strerror(-e));
	}
	if (opts->on_trace) {
		tr->rb = ring_buffer__new(bpf_map__fd(tr->skel->maps.trace), on_rb, tr, NULL);
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
	int n = tr->rb ? ring_buffer__poll(tr->rb, timeout_ms) : 0;

	return n < 0 ? n : 0;
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
	int n = libbpf_num_possible_cpus();

	for (int cpu = 0; cpu < n && cpu < MAX_CPUS; cpu++) {
		int fd = (int)syscall(SYS_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		struct bpf_link *l;

		if (fd < 0) {
			if (errno == ENODEV)   /* CPU offline */
				continue;
			return gs_fail(err, errlen, -errno, "cannot open a sampling event on CPU %d: %s", cpu,
				    strerror(errno));
		}
		tr->perf_fds[tr->nperf++] = fd;
		l = bpf_program__attach_perf_event(tr->skel->progs.on_sample, fd);
		if (!l)
			return gs_fail(err, errlen, -errno, "cannot attach the sampler on CPU %d: %s", cpu,
				    strerror(errno));
		tr->links[tr->nlinks++] = l;
	}
	return 0;
}

static int add_link(struct tracer *tr, struct bpf_link *l)
{
	if (!l)
		return -errno;
	tr->links[tr->nlinks++] = l;
	return 0;
}

int tracer__attach(struct tracer *tr, const struct py_target *pt, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	struct bpf_program *prog;
	int e;

	/* The window opens as the first probe goes in. */
	tr->skel->bss->init_ts = now_ns();
	tr->acc.t0 = tr->skel->bss->init_ts;

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
		default:
			prog = tr->skel->progs.gil_cond_call;
			break;
		}
		uo.retprobe = false;
		uo.bpf_cookie = p->role == PROBE_COND_SIGNAL ? 1 : p->role == PROBE_COND_WAIT ? 2
												: (__u64)p->tstate_arg;
		e = add_link(tr, bpf_program__attach_uprobe_opts(prog, pt->pid, pt->open_path,
								 p->offset, &uo));
		if (!e && p->role == PROBE_TAKE) {
			uo.retprobe = true;
			e = add_link(tr, bpf_program__attach_uprobe_opts(tr->skel->progs.take_gil_exit,
									 pt->pid, pt->open_path,
									 p->offset, &uo));
			uo.retprobe = false;
		}
		if (e)
			return gs_fail(err, errlen, e, "cannot attach a uprobe to %s in %s: %s",
				    p->symbol, p->object, strerror(-e));
	}
	/* Tracepoints last, so that every thread a tracepoint creates is
	 * already covered by the GIL probes. */
	if ((e = add_link(tr, bpf_program__attach(tr->skel->progs.sched_switch))) ||
	    (e = add_link(tr, bpf_program__attach(tr->skel->progs.sched_process_exit))))
		return gs_fail(err, errlen, e, "cannot attach the scheduler tracepoints: %s", strerror(-e));
	if (tr->opts.sample_hz > 0 && pt->can_walk)
		return attach_sampling(tr, err, errlen);
	return 0;
}

uint64_t tracer__t0(const struct tracer *tr)
{
	return tr->acc.t0;
}

static void seed_tstate(uint64_t key, uint64_t tstate, void *ctx)
{
	struct tracer *tr = ctx;

	bpf_map_update_elem(bpf_map__fd(tr->skel->maps.seed_tstates), &key, &tstate, BPF_ANY);
}

int tracer__start(struct tracer *tr, const struct py_target *pt,
		  const struct gil_snapshot *snap, char *err, size_t errlen)
{
	struct bpf_link *link;
	char buf[64];
	int fd, e = 0;

	if (snap && snap->locked == 1) {
		tr->skel->bss->init_holder_tid = snap->holder_tid;
		tr->skel->bss->init_holder_fsbase = snap->holder_pthread;
	} else if (snap && snap->locked == -1 && pt->minor == 6) {
		/* 3.6 creates the GIL only when a second thread starts:
		 * until then the main thread runs Python alone, as if it
		 * held it. */
		tr->skel->bss->init_holder_tid = (__u32)pt->pid;
		tr->skel->bss->init_implicit = 1;
	}
	tr->acc.init_locked = snap ? snap->locked : -1;
	if (pt->can_walk && (tr->opts.stacks || tr->opts.sample_hz))
		py_target__threads(pt, seed_tstate, tr);
	link = bpf_program__attach_iter(tr->skel->progs.init_threads, NULL);
	if (!link)
		return gs_fail(err, errlen, -errno, "cannot create the task iterator: %s", strerror(errno));
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		e = -errno;
	} else {
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
	}
	bpf_link__destroy(link);
	if (e)
		return gs_fail(err, errlen, e, "cannot run the task iterator: %s", strerror(-e));
	return 0;
}

static struct thread_rec *rec_add(struct gs_result *r)
{
	if (r->nthreads == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct thread_rec *v = realloc(r->threads, cap * sizeof(*v));

		if (!v)
			return NULL;
		r->threads = v;
		r->cap = cap;
	}
	memset(&r->threads[r->nthreads], 0, sizeof(r->threads[0]));
	return &r->threads[r->nthreads++];
}

/* The per-thread wait histograms, read in one pass of the sparse
 * (tid, slot) map and sorted by thread. */
struct thist_entry {
	struct gs_thist_key k;
	uint64_t count;
};

struct thist_dump {
	struct thist_entry *v;
	size_t n;
};

static int thist_cmp(const void *a, const void *b)
{
	const struct thist_entry *x = a, *y = b;

	if (x->k.tid != y->k.tid)
		return x->k.tid < y->k.tid ? -1 : 1;
	return x->k.bucket < y->k.bucket ? -1 : x->k.bucket > y->k.bucket;
}

static void thist_load(struct tracer *tr, struct thist_dump *d)
{
	int fd = bpf_map__fd(tr->skel->maps.thist);
	struct gs_thist_key k, next, *prev = NULL;
	size_t cap = 0;

	d->v = NULL;
	d->n = 0;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (d->n == cap) {
			struct thist_entry *v = realloc(d->v, (cap = cap ? cap * 2 : 256) * sizeof(*v));

			if (!v)
				break;
			d->v = v;
		}
		d->v[d->n].k = k;
		if (bpf_map_lookup_elem(fd, &k, &d->v[d->n].count) == 0)
			d->n++;
	}
	qsort(d->v, d->n, sizeof(*d->v), thist_cmp);
}

/* p99 of thread tid's waits; with remove, its entries leave the map. */
static double thist_p99(struct tracer *tr, const struct thist_dump *d, uint32_t tid, bool remove)
{
	static uint64_t slots[GS_HIST_SLOTS];
	size_t lo = 0, hi = d->n;

	while (lo < hi) { /* first entry of tid */
		size_t mid = (lo + hi) / 2;

		if (d->v[mid].k.tid < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	memset(slots, 0, sizeof(slots));
	for (size_t i = lo; i < d->n && d->v[i].k.tid == tid; i++) {
		if (d->v[i].k.bucket < GS_HIST_SLOTS)
			slots[d->v[i].k.bucket] += d->v[i].count;
		if (remove)
			bpf_map_delete_elem(bpf_map__fd(tr->skel->maps.thist), &d->v[i].k);
	}
	return hist_quantile(slots, 0.99);
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

/* Move exited threads from the BPF maps to tr->acc. */
int tracer__harvest(struct tracer *tr)
{
	int fd = bpf_map__fd(tr->skel->maps.threads);
	uint32_t key, next, *prev = NULL, *gone = NULL;
	size_t ngone = 0, cap = 0;
	struct thist_dump th = {};
	struct gs_thread st;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &st) || !st.exited)
			continue;
		if (ngone == cap) {
			uint32_t *v = realloc(gone, (cap = cap ? cap * 2 : 16) * sizeof(*v));

			if (!v)
				break;
			gone = v;
		}
		gone[ngone++] = key;
	}
	if (ngone)
		thist_load(tr, &th);
	for (size_t i = 0; i < ngone; i++) {
		struct thread_rec *r;

		if (bpf_map_lookup_elem(fd, &gone[i], &st) || !(r = rec_add(&tr->acc)))
			continue;
		r->tid = gone[i];
		r->st = st;
		r->exited = true;
		memcpy(r->name, st.comm, sizeof(r->name));
		r->name[sizeof(r->name) - 1] = 0;
		r->wait_p99_ns = thist_p99(tr, &th, gone[i], true);
		bpf_map_delete_elem(fd, &gone[i]);
	}
	free(th.v);
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

/* Copy one hash map of (u64 key, value) into an array of structs
 * {u64 key; value} of esize bytes each (padding included). */
static void *dump_u64_map(int fd, size_t esize, size_t *n)
{
	uint64_t key, next, *prev = NULL;
	size_t cap = 0;
	char *v = NULL;

	*n = 0;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (*n == cap) {
			char *nv = realloc(v, (cap = cap ? cap * 2 : 256) * esize);

			if (!nv)
				break;
			v = nv;
		}
		memcpy(v + *n * esize, &key, 8);
		if (bpf_map_lookup_elem(fd, &key, v + *n * esize + 8) == 0)
			(*n)++;
	}
	qsort(v, *n, esize, cmp_u64_first);
	return v;
}

static void read_stacks(struct tracer *tr, struct gs_result *res)
{
	struct gil_bpf *s = tr->skel;
	struct gs_stack_key k, next, *prev = NULL;
	size_t cap = 0;
	int fd;

	if (!s->rodata->pyoff.minor)
		return;
	res->py_minor = (int)s->rodata->pyoff.minor;
	res->stacks = dump_u64_map(bpf_map__fd(s->maps.stacks), sizeof(struct stack_entry), &res->nstacks);
	res->codes = dump_u64_map(bpf_map__fd(s->maps.codes), sizeof(struct code_entry), &res->ncodes);
	fd = bpf_map__fd(s->maps.stack_counts);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (res->ncounts == cap) {
			struct stack_count *v = realloc(res->counts, (cap = cap ? cap * 2 : 256) * sizeof(*v));

			if (!v)
				break;
			res->counts = v;
		}
		res->counts[res->ncounts].k = k;
		if (bpf_map_lookup_elem(fd, &k, &res->counts[res->ncounts].weight) == 0)
			res->ncounts++;
	}
}

static struct subgil_rec *subgil_find(struct gs_result *res, uint64_t addr)
{
	for (size_t i = 0; i < res->nsubgils; i++)
		if (res->subgils[i].addr == addr)
			return &res->subgils[i];
	return NULL;
}

/* Sub-interpreters' own GILs, with the holds still open at t1. */
static void read_subgils(struct tracer *tr, struct gs_result *res)
{
	int fd = bpf_map__fd(tr->skel->maps.subgils);
	uint64_t key, next, *prev = NULL;
	struct subgil_rec *v;

	res->gil_addr = tr->skel->rodata->gil_addr;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (!(v = realloc(res->subgils, (res->nsubgils + 1) * sizeof(*v))))
			return;
		res->subgils = v;
		v = &res->subgils[res->nsubgils];
		memset(v, 0, sizeof(*v));
		v->addr = key;
		if (bpf_map_lookup_elem(fd, &key, &v->g) == 0)
			res->nsubgils++;
	}
	for (size_t i = 0; i < res->nthreads; i++) {
		const struct gs_thread *t = &res->threads[i].st;

		if (!res->threads[i].exited && t->gil_addr && t->gil == GS_GIL_HOLDING &&
		    (v = subgil_find(res, t->gil_addr)) && res->t1 > t->gil_since)
			v->inflight_hold_ns += res->t1 - t->gil_since;
	}
}

int tracer__stop(struct tracer *tr, const struct py_target *pt, struct gs_result *res)
{
	struct gil_bpf *s = tr->skel;
	uint64_t *vals = calloc(tr->ncpus, sizeof(uint64_t));
	struct gs_cpu *cvals = calloc(tr->ncpus, sizeof(struct gs_cpu));
	uint32_t key, next, *prev = NULL;
	struct thist_dump th = {};
	struct gs_thread st;
	int fd;

	if (!vals || !cvals) {
		free(vals);
		free(cvals);
		return -ENOMEM;
	}
	/* Close the window in one step: every program checks the flag, so
	 * nothing changes the maps while they are read. Detaching waits for
	 * the kernel (~0.1 s per uprobe here): tracer__free does it later. */
	s->bss->stopped = 1;
	__sync_synchronize();
	tr->acc.t1 = now_ns();
	if (tr->rb)
		ring_buffer__consume(tr->rb);
	tracer__harvest(tr);

	*res = tr->acc;
	memset(&tr->acc, 0, sizeof(tr->acc));
	res->ncpus = tr->ncpus;
	res->cpu = calloc(tr->ncpus, sizeof(struct gs_cpu));
	res->interval_us = -1;

	fd = bpf_map__fd(s->maps.counters);
	for (uint32_t i = 0; i < GS_NR_COUNTERS; i++)
		sum_percpu(fd, i, vals, tr->ncpus, &res->counters[i]);
	fd = bpf_map__fd(s->maps.hists);
	for (uint32_t k = 0; k < GS_NR_HISTS; k++)
		for (uint32_t i = 0; i < GS_HIST_SLOTS; i++)
			sum_percpu(fd, k * GS_HIST_SLOTS + i, vals, tr->ncpus, &res->hist[k][i]);
	key = 0;
	if (res->cpu && bpf_map_lookup_elem(bpf_map__fd(s->maps.cpus), &key, cvals) == 0)
		for (int c = 0; c < tr->ncpus; c++)
			res->cpu[c] = cvals[c];

	/* Live threads: close their open interval at t1. */
	thist_load(tr, &th);
	fd = bpf_map__fd(s->maps.threads);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct thread_rec *r;
		uint64_t d;
		int ts;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &st) || !(r = rec_add(res)))
			continue;
		d = res->t1 > st.since ? res->t1 - st.since : 0;
		ts = (st.gil == GS_GIL_HOLDING ? GS_HELD_ON :
		      st.gil == GS_GIL_WAITING ? GS_WAIT_ON : GS_NOGIL_ON) + (st.oncpu ? 0 : 1);
		if (st.implicit && !st.oncpu && !st.runnable_off)
			ts = GS_NOGIL_OFF;
		st.ns[ts] += d;
		if (ts == GS_NOGIL_OFF && st.runnable_off)
			st.runq_ns += d;
		if (st.oncpu && res->cpu && st.cpu < (uint32_t)tr->ncpus) {
			if (st.gil == GS_GIL_HOLDING)
				res->cpu[st.cpu].with_gil_ns += d;
			else
				res->cpu[st.cpu].without_gil_ns += d;
		}
		if (st.gil == GS_GIL_HOLDING && st.gil_addr)
			st.sub_held_ns += d;
		else if (st.gil == GS_GIL_HOLDING)
			res->inflight_hold_ns += res->t1 - st.gil_since;
		if (st.gil == GS_GIL_WAITING && st.contended && !st.gil_addr)
			res->inflight_cwait_ns += res->t1 - st.gil_since;
		r->tid = key;
		r->st = st;
		r->exited = st.exited;
		memcpy(r->name, st.comm, sizeof(r->name));
		read_task_comm(pt->pid, key, r->name, sizeof(r->name));
		r->name[sizeof(r->name) - 1] = 0;
		r->wait_p99_ns = thist_p99(tr, &th, key, false);
	}
	free(th.v);
	read_subgils(tr, res);
	if (s->bss->nwaiters > 0 && res->t1 > s->bss->contend_start)
		res->counters[GS_C_CONTENDED_NS] += res->t1 - s->bss->contend_start;
	res->init_holder = s->bss->init_holder_tid;

	read_stacks(tr, res);
	{
		const struct bpf_program *progs[GS_NR_PROGS] = {
			s->progs.take_gil_enter, s->progs.take_gil_exit, s->progs.take_gil_acquired,
			s->progs.take_gil_contended, s->progs.drop_gil_enter, s->progs.gil_cond_call,
			s->progs.sched_switch, s->progs.sched_process_exit, s->progs.on_sample,
		};

		for (int i = 0; i < GS_NR_PROGS; i++) {
			prog_stat(progs[i], &res->progs[i]);
			res->prog_misses += res->progs[i].misses;
		}
		res->prog_stats = tr->stats_fd >= 0;
	}
	free(vals);
	free(cvals);
	return 0;
}

void tracer__free(struct tracer *tr)
{
	if (!tr)
		return;
	for (int i = tr->nlinks - 1; i >= 0; i--)
		bpf_link__destroy(tr->links[i]);
	for (int i = 0; i < tr->nperf; i++)
		close(tr->perf_fds[i]);
	ring_buffer__free(tr->rb);
	if (tr->stats_fd >= 0)
		close(tr->stats_fd);
	gil_bpf__destroy(tr->skel);
	gs_result__free(&tr->acc);
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
