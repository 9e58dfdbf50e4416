/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* Python stack walking in BPF, included by gil.bpf.c.
 *
 * From a PyThreadState*, follow the frame chain with the per-version
 * offsets in `targ_pyoff`, pack each frame as (bytecode offset, code
 * object), hash the result, and store each distinct stack once. The first
 * time a stack is stored, every code object in it not seen before is
 * captured (names, file, first line, line table) so that symbolization
 * never needs the target's memory again. Its knobs, targ_pyoff and
 * targ_max_depth, are with the others at the top of gil.bpf.c; what it
 * stores is laid out in pystack.h. */
#ifndef GS_PYSTACK_BPF_H
#define GS_PYSTACK_BPF_H

/* The stack being walked, per CPU. A walk preempted by another on the same
 * CPU (uprobe programs are preemptible) finds `gen` moved on: its frames
 * may be mixed with the other's, and it is dropped. */
struct gs_walk_scratch {
	struct gs_pystack st;
	__u64 gen;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gs_walk_scratch);
} stack_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gs_code);
} code_scratch SEC(".maps");

/* One frame's bytes as read (GS_FRAME_READ, and room for a field at the
 * largest masked offset). On the walker's own stack: uprobe programs are
 * preemptible, and another walk on this CPU would overwrite a per-CPU
 * buffer between the read and its use. */
struct gs_frame_buf {
	__u8 b[GS_FRAME_READ + 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* distinct stacks */
	__type(key, __u64);
	__type(value, struct gs_pystack);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* distinct code objects */
	__type(key, __u64);
	__type(value, struct gs_code);
} codes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* (stack, thread, view) weights */
	__type(key, struct gs_stack_key);
	__type(value, __u64);
} stack_counts SEC(".maps");

static __always_inline __u64 rd_ptr(__u64 addr)
{
	__u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

/* Copy a str object's characters (raw, `kind` bytes each) into dst. */
static __always_inline void rd_str(__u64 obj, char *dst, __u32 cap, __u8 *kind, __u16 *len)
{
	__u32 state = 0;
	__u64 n = 0, data;

	*kind = 0;
	*len = 0;
	if (!obj)
		return;
	bpf_probe_read_user(&n, sizeof(n), (void *)(obj + 16));     /* length */
	bpf_probe_read_user(&state, sizeof(state), (void *)(obj + 32));
	if (!(state & (1 << 5)))                                      /* not compact */
		return;
	*kind = (state >> 2) & 7;
	data = obj + ((state & (1 << 6)) ? targ_pyoff.str_ascii_data : targ_pyoff.str_compact_data);
	n *= *kind;
	if (n > cap)
		n = cap;
	if (n && bpf_probe_read_user(dst, n, (void *)data) == 0)
		*len = n;
}

static __always_inline void capture_code(__u32 slot, __u64 code)
{
	struct gs_code *c, *old;
	__u32 zero = 0;
	__u64 name, file, lt, n = 0, fp;
	__s32 line = 0;
	__u64 key = gs_slot_key(slot, code);   /* per process: spawned ones differ */

	/* A freed code object's memory can hold a new one later (startup
	 * code compiled from strings is freed early): the fingerprint tells
	 * them apart, and the newer one wins. */
	bpf_probe_read_user(&line, sizeof(line), (void *)(code + targ_pyoff.co_firstlineno));
	name = targ_pyoff.co_qualname ? rd_ptr(code + targ_pyoff.co_qualname) : 0;
	if (!name)
		name = rd_ptr(code + targ_pyoff.co_name);
	file = rd_ptr(code + targ_pyoff.co_filename);
	fp = name ^ (file << 1) ^ (__u64)(__u32)line;
	old = bpf_map_lookup_elem(&codes, &key);
	if (old) {
		if (old->fingerprint == fp)
			return;
		count(slot, GS_C_CODE_REUSED, 1);
	}
	c = bpf_map_lookup_elem(&code_scratch, &zero);
	if (!c)
		return;
	c->fingerprint = fp;
	c->firstlineno = line;
	rd_str(name, c->name, GS_NAME_MAX, &c->name_kind, &c->name_len);
	rd_str(file, c->file, GS_FILE_MAX, &c->file_kind, &c->file_len);
	lt = rd_ptr(code + targ_pyoff.co_linetable);          /* a bytes object */
	c->lt_len = 0;
	c->lt_full = 0;
	if (lt) {
		bpf_probe_read_user(&n, sizeof(n), (void *)(lt + 16));
		c->lt_full = n;
		if (n > GS_LT_MAX)
			n = GS_LT_MAX;
		if (n && bpf_probe_read_user(c->linetable, n, (void *)(lt + 32)) == 0)
			c->lt_len = n;
	}
	if (bpf_map_update_elem(&codes, &key, c, BPF_ANY) == -E2BIG)
		count(slot, GS_C_CODES_FULL, 1);
}

/* A field of the frame read into buf, at offset off (from targ_pyoff). */
static __always_inline __u64 fb_u64(const struct gs_frame_buf *f, __u32 off)
{
	return *(const __u64 *)&f->b[off & (GS_FRAME_READ - 1)];
}

static __always_inline __s32 fb_s32(const struct gs_frame_buf *f, __u32 off)
{
	return *(const __s32 *)&f->b[off & (GS_FRAME_READ - 1)];
}

/* Byte offset of the frame's current instruction in its bytecode. */
static __always_inline __u64 frame_offset(const struct gs_frame_buf *f, __u64 code)
{
	__s32 lasti;
	__u64 p;

	if (targ_pyoff.pos_kind == 2) {               /* 3.11+: pointer into the code */
		p = fb_u64(f, targ_pyoff.f_pos) - (code + targ_pyoff.co_code);
		return p < 0xffff ? p : 0xffff;
	}
	lasti = fb_s32(f, targ_pyoff.f_pos);
	if (lasti < 0)
		return 0;
	if (targ_pyoff.pos_kind == 1)                 /* 3.10 counts code units */
		lasti *= 2;
	return lasti < 0xffff ? lasti : 0xffff;
}

struct walk_ctx {
	struct gs_pystack *st;
	__u64 frame;
	__u64 h;
	__u64 code_type;        /* the process's &PyCode_Type, 0 = don't check */
	__u32 depth;
	__u32 slot;
};

/* One step of the frame chain (bpf_loop callback: verified once, however
 * long the chain). Returns 1 to stop. */
static long walk_step(__u32 i, void *arg)
{
	struct walk_ctx *w = arg;
	struct gs_frame_buf fb, *f = &fb;
	__u64 frame = w->frame, code, type, packed;
	__u32 n = targ_pyoff.frame_span;

	/* One read a frame: its fields are all within its first frame_span
	 * bytes (a read per field cost ~4x as much). */
	if (n > GS_FRAME_READ)
		n = GS_FRAME_READ;
	if (!frame || !n || bpf_probe_read_user(f->b, n, (void *)frame))
		return 1;
	w->frame = fb_u64(f, targ_pyoff.f_back);
	code = fb_u64(f, targ_pyoff.f_code) & ~(__u64)targ_pyoff.exec_tag_mask;
	if (targ_pyoff.f_owner != (__u32)~0 && f->b[targ_pyoff.f_owner & (GS_FRAME_READ - 1)] >= targ_pyoff.owner_skip)
		return 0;                       /* C-stack shim / entry frame */
	if (!code)
		return 0;
	if (w->code_type) {                     /* 3.13+: entry frames hold None */
		type = rd_ptr(code + 8);
		if (type != w->code_type)
			return 0;
	}
	if (w->depth >= targ_max_depth || w->depth >= GS_MAX_FRAMES) {
		w->st->truncated = 1;
		return 1;
	}
	packed = (frame_offset(f, code) << 48) | (code & GS_FRAME_CODE_MASK);
	w->st->frames[w->depth & (GS_MAX_FRAMES - 1)] = packed;
	w->h = (w->h ^ packed) * 1099511628211ull;
	w->depth++;
	return 0;
}

static long capture_step(__u32 i, void *arg)
{
	struct walk_ctx *w = arg;

	if (i >= w->depth)
		return 1;
	capture_code(w->slot, w->st->frames[i & (GS_MAX_FRAMES - 1)] & GS_FRAME_CODE_MASK);
	return 0;
}

/* Walk tstate's Python stack; returns its id (0 when there is none). The
 * id covers the process too: each process captures its own code objects. */
static __always_inline __u64 walk_stack(const struct gs_proc *p, __u32 slot, __u64 tstate)
{
	struct walk_ctx w = { .h = 14695981039346656037ull ^ slot, .slot = slot, .code_type = p->code_type };
	struct gs_walk_scratch *ws;
	__u32 zero = 0;
	__u64 h, gen;
	long err;

	if (!tstate || !targ_pyoff.minor || !p->can_walk)
		return 0;
	ws = bpf_map_lookup_elem(&stack_scratch, &zero);
	if (!ws)
		return 0;
	gen = ++ws->gen;
	w.st = &ws->st;
	w.frame = rd_ptr(tstate + targ_pyoff.ts_frame);
	if (targ_pyoff.cframe_current != (__u32)~0 && w.frame)
		w.frame = rd_ptr(w.frame + targ_pyoff.cframe_current);
	w.st->truncated = 0;
	/* Shim frames are skipped, so allow twice the depth in steps. */
	bpf_loop(2 * GS_MAX_FRAMES, walk_step, &w, 0);
	if (!w.depth)
		return 0;
	w.st->depth = w.depth;
	h = w.h ^ w.depth;
	if (w.st->truncated)
		count(slot, GS_C_TRUNCATED, 1);
	/* The id comes from this walk's own reads: a known stack needs
	 * nothing from the shared scratch. A new one is stored from it, and
	 * only if no other walk on this CPU has run since this one began. */
	if (bpf_map_lookup_elem(&stacks, &h))
		return h;
	if (ws->gen != gen)
		goto raced;
	err = bpf_map_update_elem(&stacks, &h, w.st, BPF_NOEXIST);
	if (err == -E2BIG) {
		count(slot, GS_C_STACKS_FULL, 1);
		return 0;
	}
	if (ws->gen != gen) {
		if (!err)
			bpf_map_delete_elem(&stacks, &h);
		goto raced;
	}
	/* First sighting: capture its code objects, from the stored copy (a
	 * walk preempting this one would rewrite the scratch meanwhile). */
	w.st = bpf_map_lookup_elem(&stacks, &h);
	if (w.st)
		bpf_loop(GS_MAX_FRAMES, capture_step, &w, 0);
	return h;
raced:
	count(slot, GS_C_WALK_RACED, 1);
	return 0;
}

static __always_inline void stack_add(__u32 slot, __u64 stack, __u32 tid, __u32 view, __u64 w)
{
	struct gs_stack_key k = { .stack = stack, .tid = tid, .view = view };
	__u64 *c;

	if (!stack || !w)
		return;
	c = bpf_map_lookup_elem(&stack_counts, &k);
	if (!c) {
		int err = bpf_map_update_elem(&stack_counts, &k, &w, BPF_NOEXIST);

		if (err != -EEXIST) {          /* inserted, or the table is full */
			if (err)
				count(slot, GS_C_COUNTS_FULL, 1);
			return;
		}
		c = bpf_map_lookup_elem(&stack_counts, &k); /* another CPU inserted it first */
		if (!c)
			return;
	}
	__sync_fetch_and_add(c, w);
}

#endif
