// SPDX-License-Identifier: MIT
/* Target inspection: find the object that holds the CPython runtime among a
 * process's mappings, name its version, and place the GIL probes. Files are
 * opened through /proc/PID/root so a target in another mount namespace is
 * resolved in its own filesystem view. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "inspect/callsite.h"
#include "inspect/debuginfo.h"
#include "inspect/pyflavor.h"
#include "inspect/rootfs.h"
#include "inspect/elf.h"
#include "common.h"
#include "inspect/procmaps.h"
#include "inspect/nstid.h"
#include "inspect/pyoffsets.h"
#include "inspect/waitloop.h"
#include "inspect/pytarget.h"

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* "libpython3.9.so.1.0", "libpython3.6m.so", "python3.11" -> 3, 9 */
static int version_from_name(const char *path, int *major, int *minor)
{
	const char *s = strstr(base_name(path), "python");

	if (!s || !isdigit((unsigned char)s[6]))
		return -ENOENT;
	s += 6;
	*major = (int)strtol(s, (char **)&s, 10);
	if (*s != '.' || !isdigit((unsigned char)s[1])) {
		*minor = -1;
		return 0;
	}
	*minor = (int)strtol(s + 1, NULL, 10);
	return 0;
}

static bool name_is_or_clone(const char *name, const char *base)
{
	size_t n = strlen(base);

	/* the function itself, its compiler clones and its .cold part: all
	 * of them are code of that function */
	return strncmp(name, base, n) == 0 && (name[n] == 0 || name[n] == '.');
}

struct sym_scan {
	struct py_target *pt;
	struct elf_file *code;   /* the file the code is in, when symbols come
				    from a separate debug file; else NULL */
	int err;
};

static int scan_sym(const struct elf_sym *s, void *ctx)
{
	struct sym_scan *sc = ctx;
	struct py_target *pt = sc->pt;
	int role = -1;

	if (!s->is_func)
		return 0;
	if (gs_sym_is_clone_of(s->name, "take_gil"))
		role = PROBE_TAKE;
	else if (gs_sym_is_clone_of(s->name, "drop_gil"))
		role = PROBE_DROP;
	if (role >= 0 && pt->nprobes < PT_MAX_PROBES) {
		struct gil_probe *p = &pt->probes[pt->nprobes++];

		snprintf(p->object, sizeof(p->object), "%s", pt->runtime_obj);
		snprintf(p->symbol, sizeof(p->symbol), "%s", s->name);
		p->offset = s->offset;
		if (sc->code && elf_file__vaddr_to_offset(sc->code, s->addr, &p->offset))
			pt->nprobes--;   /* not in the binary's code: skip */
		p->role = role;
		p->tstate_arg = py_tstate_arg(pt->minor, s->name);
		p->addr = s->addr;
		p->size = s->size;
		return 0;
	}
	/* 3.13+: what the drop-request path calls to reach drop_gil */
	if (pt->ndrop_via < (int)(sizeof(pt->drop_via) / sizeof(pt->drop_via[0])) &&
	    (name_is_or_clone(s->name, "_PyThreadState_Detach") ||
	     name_is_or_clone(s->name, "_PyEval_ReleaseLock"))) {
		pt->drop_via[pt->ndrop_via++] = s->addr;
		return 0;
	}
	/* Code that drops the GIL only on a drop request: the eval loop
	 * (3.6-3.11, where the pending-calls handler is inlined into it),
	 * the handler itself when it is out of line, and _Py_HandlePending
	 * (3.12+). */
	if (s->size && pt->nforced < GS_MAX_FORCED_RANGES &&
	    (name_is_or_clone(s->name, "_PyEval_EvalFrameDefault") ||
	     name_is_or_clone(s->name, "eval_frame_handle_pending") ||
	     name_is_or_clone(s->name, "_Py_HandlePending"))) {
		pt->forced_lo[pt->nforced] = s->addr + pt->bias;
		pt->forced_hi[pt->nforced] = s->addr + s->size + pt->bias;
		pt->nforced++;
	}
	return 0;
}

/* Is this object the CPython runtime? 3 = CPython 3, 2 = Python 2, 0 = no. */
static int runtime_kind(struct elf_file *ef)
{
	struct elf_sym s;

	if (elf_file__find(ef, "PyEval_SaveThread", &s) != 0)
		return 0;
	if (elf_file__find(ef, "Py_InitModule4_64", &s) == 0 ||
	    elf_file__find(ef, "PyString_FromString", &s) == 0)
		return 2;
	return 3;
}

static int find_runtime(struct py_target *pt, const struct proc_maps *m,
			struct elf_file **out, char *err, size_t errlen)
{
	char path[PATH_MAX + 32], view[PATH_MAX];
	int py2 = 0, pypy = 0, fd;

	/* The executable first (static builds), then anything named like a
	 * Python runtime (libpython3.X.so, python3.X). */
	for (size_t i = 0; i <= m->n; i++) {
		const char *obj = i == 0 ? pt->exe : m->v[i - 1].path;
		struct elf_file *ef;
		int kind;

		if (obj[0] != '/')
			continue;
		if (i > 0 && strstr(base_name(obj), "pypy")) {
			pypy = 1;
			continue;
		}
		if (i > 0 && (!strstr(base_name(obj), "python") ||
			      strcmp(obj, pt->exe) == 0 ||
			      (i > 1 && strcmp(obj, m->v[i - 2].path) == 0)))
			continue;
		/* Resolved inside the target's root (a container's symlinks
		 * cannot point gilscope at host files), then named by its fd
		 * for libelf and the uprobe attach. */
		if (rootfs__target_view(pt->pid, obj, view, sizeof(view)))
			continue;
		fd = rootfs__open(pt->pid, view, O_RDONLY);
		if (fd < 0)
			continue;
		rootfs__fd_path(fd, path, sizeof(path));
		if (elf_file__open(path, &ef)) {
			close(fd);
			continue;
		}
		kind = runtime_kind(ef);
		if (kind == 3) {
			snprintf(pt->runtime_obj, sizeof(pt->runtime_obj), "%s", obj);
			snprintf(pt->runtime_in_root, sizeof(pt->runtime_in_root), "%s", view);
			snprintf(pt->open_path, sizeof(pt->open_path), "%s", path);
			pt->runtime_fd = fd;
			*out = ef;
			return 0;
		}
		py2 |= kind == 2;
		elf_file__close(ef);
		close(fd);
	}
	if (pypy)
		return gs_fail(err, errlen, -EPROTONOSUPPORT,
			    "PID %d (%s) runs PyPy, which gilscope does not support: it traces CPython 3.6-3.15",
			    pt->pid, pt->comm);
	if (py2)
		return gs_fail(err, errlen, -EPROTONOSUPPORT,
			    "PID %d (%s) runs Python 2, which gilscope does not support: it traces CPython 3.6-3.15",
			    pt->pid, pt->comm);
	return gs_fail(err, errlen, -ENOEXEC,
		    "PID %d (%s) is not a CPython process: no Python runtime is mapped in it",
		    pt->pid, pt->comm);
}

static int locate_version(struct py_target *pt, struct elf_file *ef)
{
	struct elf_sym s;
	uint32_t hex;

	pt->micro = -1;
	/* 3.11+ export Py_Version = PY_VERSION_HEX as initialised data. */
	if (elf_file__find(ef, "Py_Version", &s) == 0 &&
	    elf_file__read(ef, s.addr, &hex, sizeof(hex)) == 0 && (hex >> 24) == 3) {
		pt->major = hex >> 24;
		pt->minor = (hex >> 16) & 0xff;
		pt->micro = (hex >> 8) & 0xff;
	} else if (version_from_name(pt->runtime_obj, &pt->major, &pt->minor) != 0 &&
		   version_from_name(pt->exe, &pt->major, &pt->minor) != 0) {
		return -ENOENT;
	}
	if (pt->micro >= 0)
		snprintf(pt->version, sizeof(pt->version), "%d.%d.%d", pt->major, pt->minor, pt->micro);
	else
		snprintf(pt->version, sizeof(pt->version), "%d.%d", pt->major, pt->minor);
	return 0;
}

/* The contended probe at the wait loop's entry instead of its timedwait
 * call, when the code has the shape (user/inspect/waitloop.h): hit once a wait,
 * not every round. The cookie tells BPF where the GIL is. */
static void wait_entry(const struct py_target *pt, struct elf_file *ef, const struct gil_probe *take,
		       uint64_t wait_call, struct gil_probe *out)
{
	struct waitloop wl;
	uint64_t off;

	if (getenv("GILSCOPE_NO_WAIT_ENTRY") || waitloop__locate(ef, take->addr, take->size, wait_call, &wl) ||
	    elf_file__vaddr_to_offset(ef, wl.entry, &off) || wl.disp < INT32_MIN || wl.disp > INT32_MAX)
		return;
	if (pt->minor < 12)             /* one GIL per process */
		out->cookie = GS_WAIT_ENTRY_ONE;
	else if (wl.reg != WL_STATIC)   /* which GIL: the loop reads it through a register */
		out->cookie = GS_WAIT_ENTRY_REG | (uint64_t)wl.reg << 8 |
			      (uint64_t)(uint32_t)(int32_t)(wl.disp - GS_GIL_LOCKED_OFF) << 32;
	else
		return;
	out->offset = off;
	snprintf(out->symbol, sizeof(out->symbol), "%s+0x%llx", take->symbol,
		 (unsigned long long)(wl.entry - take->addr));
}

/* Every take_gil body must call pthread_cond_signal exactly once (the
 * switch_cond hand-off, right after it set locked = 1) and
 * pthread_cond_timedwait exactly once (the wait loop); then those two call
 * sites replace the entry probe and uretprobe: one trap per acquisition
 * instead of a trap plus a return trampoline. Anything else keeps the
 * uretprobe. */
static void locate_call_sites(struct py_target *pt, struct elf_file *ef)
{
	struct gil_probe extra[PT_MAX_PROBES];
	int nextra = 0, ntake = pt->nprobes;

	for (int i = 0; i < ntake; i++) {
		const struct gil_probe *p = &pt->probes[i];
		static const char *const callee[2] = { "pthread_cond_signal", "pthread_cond_timedwait" };

		if (p->role != PROBE_TAKE)
			continue;
		for (int k = 0; k < 2; k++) {
			uint64_t site, off;
			unsigned char op = 0;

			if (callsites__find(pt->open_path, ef, p->addr, p->size, callee[k], &site, 1) != 1 ||
			    elf_file__vaddr_to_offset(ef, site, &off) || nextra >= PT_MAX_PROBES)
				return;
			/* `call *GOT(%rip)` (-fno-plt): the kernel single-steps a
			 * probe there (~10 us a hit, against ~0.7 us for `call
			 * rel32`, which it emulates): entry and return probes
			 * cost less. */
			if (elf_file__read(ef, site, &op, 1) != 0 || op != 0xe8) {
				pt->indirect_sites = true;
				return;
			}
			extra[nextra] = *p;
			extra[nextra].role = k == 0 ? PROBE_ACQUIRED : PROBE_CONTENDED;
			if (k == 1)
				wait_entry(pt, ef, p, site, &extra[nextra]);
			if (!extra[nextra].cookie) {
				snprintf(extra[nextra].symbol, sizeof(extra[nextra].symbol), "%s+0x%llx", p->symbol,
					 (unsigned long long)(site - p->addr));
				extra[nextra].offset = off;
			}
			nextra++;
		}
	}
	if (!nextra || pt->nprobes + nextra > PT_MAX_PROBES)
		return;
	memcpy(&pt->probes[pt->nprobes], extra, nextra * sizeof(extra[0]));
	pt->nprobes += nextra;
	pt->call_sites = true;
	pt->strategy = "symbols+call-sites";
}

/* Entry probes past an endbr64 (see callsites__entry_probe). */
static void place_entry_probes(struct py_target *pt, struct elf_file *ef)
{
	for (int i = 0; i < pt->nprobes; i++) {
		struct gil_probe *p = &pt->probes[i];
		size_t n;
		int skip;

		if (p->role != PROBE_TAKE && p->role != PROBE_DROP)
			continue;
		skip = callsites__entry_probe(ef, p->addr, p->size);
		if (!skip)
			continue;
		p->offset += (uint64_t)skip;
		n = strlen(p->symbol);
		snprintf(p->symbol + n, sizeof(p->symbol) - n, "+0x%x", skip);
	}
}

static bool has_probe(const struct py_target *pt, enum probe_role role, uint64_t off)
{
	for (int i = 0; i < pt->nprobes; i++)
		if (pt->probes[i].role == role && pt->probes[i].offset == off)
			return true;
	return false;
}

/* The calls in the forced ranges (the eval loop's drop-request path) to
 * drop_gil, or in 3.13+ to _PyThreadState_Detach / _PyEval_ReleaseLock,
 * which tail-jump to it: a probe there marks the thread's next release as
 * forced, so drop_gil's entry probe need not read its return address from
 * the user stack (~270 ns per release under an HTTP load). These are the
 * calls whose return address the entry probe would find in the forced
 * ranges, so both ways classify alike. Without any such call (drop_gil
 * inlined into the eval loop), the entry probe keeps reading it. */
static void locate_forced_sites(struct py_target *pt, struct elf_file *ef)
{
	uint64_t targets[PT_MAX_PROBES], sites[8];
	int nt = 0, nadd = 0, n0 = pt->nprobes;

	/* 3.13+ classify every release by the drop-request flag instead */
	if (getenv("GILSCOPE_NO_FORCED_SITES") || pt->minor >= 13)
		return;
	for (int i = 0; i < pt->nprobes; i++)
		if (pt->probes[i].role == PROBE_DROP)
			targets[nt++] = pt->probes[i].addr;
	for (int i = 0; i < pt->ndrop_via && nt < PT_MAX_PROBES; i++)
		targets[nt++] = pt->drop_via[i];
	for (int r = 0; nt && r < pt->nforced; r++) {
		uint64_t lo = pt->forced_lo[r] - pt->bias, size = pt->forced_hi[r] - pt->forced_lo[r];
		int n = callsites__find_local(ef, lo, size, targets, nt, sites, 8);

		if (n < 0 || n > 8)
			goto none;   /* unreadable, or more than a drop path has */
		for (int k = 0; k < n; k++) {
			struct gil_probe *p;
			uint64_t off;

			if (pt->nprobes >= PT_MAX_PROBES || elf_file__vaddr_to_offset(ef, sites[k], &off))
				goto none;
			if (has_probe(pt, PROBE_FORCED, off))
				continue;    /* overlapping ranges (a symbol and its alias) */
			p = &pt->probes[pt->nprobes++];
			memset(p, 0, sizeof(*p));
			snprintf(p->object, sizeof(p->object), "%s", pt->runtime_obj);
			snprintf(p->symbol, sizeof(p->symbol), "forced release call at 0x%llx",
				 (unsigned long long)sites[k]);
			p->offset = off;
			p->role = PROBE_FORCED;
			p->addr = sites[k];
			nadd++;
		}
	}
	if (nadd) {
		pt->forced_sites = true;
		return;
	}
none:
	pt->nprobes = n0;
}

/* No symbols for take_gil/drop_gil (a stripped distribution build): probe
 * every call to pthread_cond_signal and pthread_cond_timedwait in the
 * runtime's code instead. The first argument names the condition
 * variable, so the probe knows what happened from its address alone:
 *   timedwait(&gil->cond)      a thread found the GIL taken (wait starts)
 *   signal(&gil->switch_cond)  take_gil has set locked = 1 (hold starts)
 *   signal(&gil->cond)         drop_gil has set locked = 0 (hold ends)
 * This also sees the copies of drop_gil that LTO inlined into
 * PyEval_SaveThread and I/O functions. A release is forced when the
 * interpreter's drop-request flag is set as it happens. */
/* The main interpreter's GIL struct as a link-time-free address in the
 * target (0 when unknown): 3.13+ from _Py_DebugOffsets, older from the
 * measured table. The live interpreter may say otherwise (a 3.12 patch
 * release with another layout): verify_gil_live() checks. */
static uint64_t main_gil_addr(const struct py_target *pt)
{
	const struct py_layout *l = py_layout__get(pt->minor);

	if (!pt->runtime_addr)
		return 0;
	if (l->locate == GIL_DEBUG_OFFSETS)
		return pt->have_dbg ? pt->runtime_addr + py_debug_offsets__main_gil_off(&pt->dbg) : 0;
	return l->main_gil_off ? pt->runtime_addr + l->main_gil_off : 0;
}

static int keyed_addresses(struct py_target *pt)
{
	const struct py_layout *l = py_layout__get(pt->minor);
	uint64_t gil = main_gil_addr(pt);

	if (!gil)
		return -ENOENT;
	pt->gil_addr = gil;
	pt->gil_cond_addr = gil + GS_GIL_COND_OFF;         /* struct offsets: docs/cpython-layouts.md */
	pt->gil_switch_cond_addr = gil + GS_GIL_SWITCH_COND_OFF;
	if (l->drop_req_rt_off)
		pt->drop_req_addr = pt->runtime_addr + l->drop_req_rt_off;
	if (l->drop_req_interp_ptr_off) {
		pt->drop_req_ptr_addr = pt->runtime_addr + l->drop_req_interp_ptr_off;
		pt->drop_req_off = l->drop_req_interp_off;
	}
	return 0;
}

/* The GIL fields BPF reads in every strategy: the main GIL's last_holder
 * and switch_number (the self-check; 3.13+ also the drop-request flag
 * through the holder), and the interpreter list that tells a
 * sub-interpreter's own GIL apart (3.12+). */
static void locate_gil_fields(struct py_target *pt, struct elf_file *ef)
{
	struct elf_sym sn;
	uint64_t gil;

	if (pt->gil_is_int_fields) {      /* 3.6: static globals */
		pt->holder_addr = pt->gil_holder_addr;
		if (elf_file__find(ef, "gil_switch_number", &sn) == 0)
			pt->switchnum_addr = sn.addr + pt->bias;
		return;
	}
	gil = main_gil_addr(pt);
	if (!gil)
		return;
	pt->holder_addr = gil + GS_GIL_LAST_HOLDER_OFF;
	pt->switchnum_addr = gil + GS_GIL_SWITCH_NUMBER_OFF;
	if (pt->minor >= 13)
		pt->drop_req_tstate_off = TSTATE_EVAL_BREAKER_OFF;
	if (pt->have_dbg) {
		pt->interp_list_addr = pt->runtime_addr + pt->dbg.interpreters_head;
		pt->interp_next_off = (uint32_t)pt->dbg.interp_next;
		pt->interp_gil_ptr_off = (uint32_t)pt->dbg.interp_ceval_gil;
	} else if (pt->minor == 12) {
		const struct py_layout *l = py_layout__get(pt->minor);

		pt->interp_list_addr = pt->runtime_addr + l->interp_head_off;
		pt->interp_next_off = 0;          /* interp->next is its first field */
		pt->interp_gil_ptr_off = l->interp_gil_ptr_off;
	}
}

/* Is addr inside one of the take_gil/drop_gil bodies already probed? */
static bool in_probed_body(const struct py_target *pt, uint64_t addr)
{
	for (int i = 0; i < pt->nprobes; i++)
		if ((pt->probes[i].role == PROBE_TAKE || pt->probes[i].role == PROBE_DROP) &&
		    addr >= pt->probes[i].addr && addr < pt->probes[i].addr + pt->probes[i].size)
			return true;
	return false;
}

/* Probe the calls to the GIL's condition variables in the runtime's code,
 * skipping the bodies already probed by name. ncallees: 2 = signal and
 * timedwait, 1 = signal only (the inlined drop_gil copies). Returns how
 * many sites were added, or -ENOENT. */
static int keyed_sites(struct py_target *pt, struct elf_file *ef, int ncallees)
{
	static const char *const callee[2] = { "pthread_cond_signal", "pthread_cond_timedwait" };
	uint64_t sites[PT_MAX_PROBES];
	int added = 0;

	for (int k = 0; k < ncallees; k++) {
		int n = callsites__find_text(pt->open_path, ef, callee[k], sites, PT_MAX_PROBES);

		if (n < 0 || pt->nprobes + n > PT_MAX_PROBES)
			return -ENOENT;
		for (int i = 0; i < n; i++) {
			struct gil_probe *p = &pt->probes[pt->nprobes];
			uint64_t off;

			if (in_probed_body(pt, sites[i]) || elf_file__vaddr_to_offset(ef, sites[i], &off))
				continue;
			snprintf(p->object, sizeof(p->object), "%s", pt->runtime_obj);
			snprintf(p->symbol, sizeof(p->symbol), "call %s@0x%llx", callee[k],
				 (unsigned long long)sites[i]);
			p->offset = off;
			p->addr = sites[i];
			p->role = k == 0 ? PROBE_COND_SIGNAL : PROBE_COND_WAIT;
			pt->nprobes++;
			added++;
		}
	}
	if (added)
		pt->keyed = true;
	return added;
}

static int locate_keyed(struct py_target *pt, struct elf_file *ef)
{
	int e = keyed_addresses(pt);

	if (e || (e = keyed_sites(pt, ef, 2)) <= 0)
		return -ENOENT;
	pt->strategy = "gil-address call sites";
	snprintf(pt->strategy_why, sizeof(pt->strategy_why),
		 "%s has no take_gil/drop_gil symbols and no debug file was found: every "
		 "pthread_cond_signal/timedwait call is probed, keyed on the GIL's address", pt->runtime_obj);
	return 0;
}

/* Symbols from the binary's separate debug file (build-id or debuglink):
 * take_gil/drop_gil by name, plus the drop_gil copies LTO inlined
 * elsewhere, which no symbol names: every other pthread_cond_signal call,
 * keyed on the GIL's address. */
static bool same_root(pid_t pid)
{
	struct stat a, b;
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/root", pid);
	return stat(p, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The debug file: inside the target's root first (build-id, then
 * .gnu_debuglink with its CRC; every open confined to that root), then on
 * the host by build-id. GILSCOPE_DEBUG_DIR replaces the host's
 * /usr/lib/debug (for a target in our own root it is the only place
 * looked). Opened into dbg; where/how describe it. */
static int find_debug_file(struct py_target *pt, struct elf_file **dbg, char *where, size_t wlen,
			   char *how, size_t hlen)
{
	const char *dir = getenv("GILSCOPE_DEBUG_DIR");
	char path[PATH_MAX + 64], fdp[64], rootp[64];
	int rootfd, fd, e;

	if (same_root(pt->pid)) {
		if (debuginfo__find("", dir ? dir : "/usr/lib/debug", pt->runtime_obj, path, sizeof(path), how,
				    hlen) != 0 || elf_file__open(path, dbg))
			return -ENOENT;
		snprintf(where, wlen, "%s", path);
		return 0;
	}
	snprintf(rootp, sizeof(rootp), "/proc/%d/root", pt->pid);
	rootfd = open(rootp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd >= 0) {
		e = debuginfo__find_in_root(rootfd, "/usr/lib/debug", pt->runtime_in_root, path, sizeof(path), how,
					    hlen);
		fd = e ? -1 : rootfs__open_in(rootfd, path, O_RDONLY);
		close(rootfd);
		if (fd >= 0) {
			rootfs__fd_path(fd, fdp, sizeof(fdp));
			e = elf_file__open(fdp, dbg);   /* libelf keeps its own mapping */
			close(fd);
			if (!e) {
				snprintf(where, wlen, "%s in the target's root", path);
				return 0;
			}
		}
	}
	if (debuginfo__find_by_build_id(dir ? dir : "/usr/lib/debug", pt->open_path, path, sizeof(path), how,
					hlen) != 0 || elf_file__open(path, dbg))
		return -ENOENT;
	snprintf(where, wlen, "%s on the host", path);
	return 0;
}

static int locate_debug(struct py_target *pt, struct elf_file *ef)
{
	char path[PATH_MAX + 96], how[128];
	struct elf_file *dbg;
	struct sym_scan sc = { .pt = pt, .code = ef };
	int ntake = 0, ndrop = 0, inl;

	if (find_debug_file(pt, &dbg, path, sizeof(path), how, sizeof(how)))
		return -ENOENT;
	pt->nprobes = 0;
	elf_file__foreach(dbg, scan_sym, &sc);
	elf_file__close(dbg);
	for (int i = 0; i < pt->nprobes; i++)
		pt->probes[i].role == PROBE_TAKE ? ntake++ : ndrop++;
	if (!ntake || !ndrop) {
		pt->nprobes = 0;
		return -ENOENT;
	}
	if (!getenv("GILSCOPE_NO_CALL_SITES"))
		locate_call_sites(pt, ef);
	if (keyed_addresses(pt) != 0)
		inl = 0;
	else if (pt->call_sites)
		inl = keyed_sites(pt, ef, 1);
	else {
		/* take_gil's calls are ambiguous (LTO inlined a drop_gil into
		 * it: two pthread_cond_signal calls): let the GIL's addresses
		 * tell them apart, and keep drop_gil's entry probe, whose
		 * return address classifies forced switches exactly. */
		int o = 0;

		for (int i = 0; i < pt->nprobes; i++)
			if (pt->probes[i].role != PROBE_TAKE)
				pt->probes[o++] = pt->probes[i];
		pt->nprobes = o;
		inl = keyed_sites(pt, ef, 2);
	}
	locate_forced_sites(pt, ef);
	place_entry_probes(pt, ef);
	pt->strategy = pt->call_sites ? "debug symbols+call-sites" : "debug symbols+gil-address call sites";
	snprintf(pt->strategy_why, sizeof(pt->strategy_why),
		 "take_gil/drop_gil from the debug file %s (found by %s); %d call(s) to the GIL's condition "
		 "variables outside the named bodies (drop_gil inlined elsewhere) probed by the GIL's address",
		 path, how, inl > 0 ? inl : 0);
	return 0;
}

static void verify_gil_live(struct py_target *pt);

static int locate_gil(struct py_target *pt, struct elf_file *ef)
{
	const struct py_layout *l = py_layout__get(pt->minor);
	struct elf_sym s;

	if (l->locate == GIL_STATICS) {
		struct elf_sym lk, lh, iv, ih;

		if (elf_file__find(ef, "gil_locked", &lk) || elf_file__find(ef, "gil_last_holder", &lh) ||
		    elf_file__find(ef, "gil_interval", &iv))
			return -ENOENT;
		pt->gil_locked_addr = lk.addr + pt->bias;
		pt->gil_holder_addr = lh.addr + pt->bias;
		pt->gil_interval_addr = iv.addr + pt->bias;
		pt->gil_is_int_fields = true;
		if (elf_file__find(ef, "interp_head", &ih) == 0)
			pt->interp_head_addr = ih.addr + pt->bias;
		return 0;
	}
	if (elf_file__find(ef, "_PyRuntime", &s))
		return -ENOENT;
	pt->runtime_addr = s.addr + pt->bias;
	/* 3.13+: _Py_DebugOffsets is the start of _PyRuntime's initial data. */
	if (l->locate == GIL_DEBUG_OFFSETS) {
		unsigned char buf[1024];

		int e;

		if (elf_file__read(ef, s.addr, buf, sizeof(buf)))
			return -ENOTSUP;
		e = py_debug_offsets__decode_why(buf, sizeof(buf), &pt->dbg, pt->gil_note, sizeof(pt->gil_note));
		if (e == -EPROTO)
			return e;
		if (e)
			return -ENOTSUP;
		if ((pt->dbg.version >> 16) != (uint64_t)(pt->major << 8 | pt->minor))
			return snprintf(pt->gil_note, sizeof(pt->gil_note), "its version 0x%llx is not %s's",
					(unsigned long long)pt->dbg.version, pt->version), -EPROTO;
		pt->have_dbg = true;
	}
	return 0;
}

static void locate_stack_layout(struct py_target *pt, struct elf_file *ef)
{
	struct elf_sym s;

	if (py_stack_offsets(pt->minor, pt->have_dbg ? &pt->dbg : NULL, &pt->pyoff) != 0)
		return;
	/* 3.13+ entry frames hold None instead of a code object. */
	if (pt->minor >= 13 && elf_file__find(ef, "PyCode_Type", &s) == 0)
		pt->pyoff.code_type = s.addr + pt->bias;
	pt->can_walk = true;
}

int py_target__inspect(pid_t pid, struct py_target *pt, char *err, size_t errlen)
{
	struct proc_maps maps = {};
	struct elf_file *ef = NULL;
	struct sym_scan sc = { .pt = pt };
	char path[64];
	ssize_t n;
	int e, ntake = 0, ndrop = 0;

	memset(pt, 0, sizeof(*pt));
	pt->pid = pid;
	pt->runtime_fd = -1;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (pid <= 0 || access(path, F_OK) != 0)
		return gs_fail(err, errlen, -ESRCH, "no process with PID %d", pid);
	gs_read_comm(pid, pt->comm, sizeof(pt->comm));
	pt->ns_pid = rootfs__ns_pid(pid, pid);
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, pt->exe, sizeof(pt->exe) - 1);
	if (n < 0) {
		e = -errno;
		if (e == -ENOENT)
			return gs_fail(err, errlen, -ESRCH, "PID %d (%s) is a kernel thread or a zombie, not a CPython process",
				    pid, pt->comm);
		if (e == -EACCES || e == -EPERM)
			return gs_fail(err, errlen, e, "cannot inspect PID %d (%s): the kernel denies gilscope ptrace "
				       "access to it (/proc/%d/exe: %s); it needs CAP_SYS_PTRACE in the target's user "
				       "namespace, and no LSM or Yama policy forbidding it", pid, pt->comm, pid,
				       strerror(-e));
		return gs_fail(err, errlen, e, "cannot read /proc/%d/exe: %s", pid, strerror(-e));
	}
	pt->exe[n] = 0;
	e = proc_maps__load(pid, &maps);
	if (e)
		return gs_fail(err, errlen, e, "cannot read the memory map of PID %d: %s", pid, strerror(-e));
	e = find_runtime(pt, &maps, &ef, err, errlen);
	if (e)
		goto out;
	if (locate_version(pt, ef) != 0) {
		e = gs_fail(err, errlen, -EPROTONOSUPPORT, "PID %d (%s): cannot tell the CPython version of %s",
			 pid, pt->comm, pt->runtime_obj);
		goto out;
	}
	if (pt->major != 3 || pt->minor < PY_MINOR_MIN || pt->minor > PY_MINOR_MAX ||
	    !py_layout__get(pt->minor)) {
		e = gs_fail(err, errlen, -EPROTONOSUPPORT,
			 "PID %d (%s) runs CPython %s, which gilscope does not support: it traces CPython 3.%d-3.%d",
			 pid, pt->comm, pt->version, PY_MINOR_MIN, PY_MINOR_MAX);
		goto out;
	}
	{
		struct py_flavor_info fl;
		unsigned char rt[64];
		struct elf_sym rs;
		bool have_rt = elf_file__find(ef, "_PyRuntime", &rs) == 0 &&
			       elf_file__read(ef, rs.addr, rt, sizeof(rt)) == 0;

		if (py_flavor__detect(pt->runtime_obj, ef, have_rt ? rt : NULL, have_rt ? sizeof(rt) : 0, &fl) == 0 &&
		    fl.flavor == PY_FLAVOR_FREE_THREADED) {
			pt->free_threaded = true;
			snprintf(pt->strategy_why, sizeof(pt->strategy_why), "free-threaded build (%s)", fl.evidence);
		}
	}
	if (elf_file__type(ef) == ET_DYN && proc_maps__base(&maps, pt->runtime_obj, &pt->bias) != 0) {
		e = gs_fail(err, errlen, -ENOENT, "PID %d: cannot find where %s is loaded", pid, pt->runtime_obj);
		goto out;
	}
	if (pt->free_threaded) {
		/* No GIL to trace (take_gil returns at once while it is
		 * disabled): thread states and CPU use only. */
		pt->strategy = "free-threaded: no GIL probes";
		locate_gil(pt, ef);
		locate_stack_layout(pt, ef);
		e = 0;
		goto out;
	}
	elf_file__foreach(ef, scan_sym, &sc);
	for (int i = 0; i < pt->nprobes; i++)
		pt->probes[i].role == PROBE_TAKE ? ntake++ : ndrop++;
	e = locate_gil(pt, ef);
	if (e == -ENOTSUP) {
		e = gs_fail(err, errlen, -EPROTONOSUPPORT,
			 "PID %d (%s) runs CPython %s whose _Py_DebugOffsets this gilscope cannot read",
			 pid, pt->comm, pt->version);
		goto out;
	}
	if (e == -EPROTO) {
		e = gs_fail(err, errlen, -EPROTONOSUPPORT,
			 "PID %d (%s) runs CPython %s whose _Py_DebugOffsets describe a layout gilscope does not "
			 "know (%s): refusing rather than guessing", pid, pt->comm, pt->version, pt->gil_note);
		goto out;
	}
	if (e) {
		e = gs_fail(err, errlen, -ENOENT, "PID %d (%s): cannot locate the GIL's state in %s%s",
			 pid, pt->comm, pt->runtime_obj,
			 ntake && ndrop ? "" : " (a stripped build; install its debug symbols)");
		goto out;
	}
	if (ntake && ndrop) {
		pt->strategy = "symbols";
		snprintf(pt->strategy_why, sizeof(pt->strategy_why), "take_gil and drop_gil are in %s's symbol table",
			 pt->runtime_obj);
		if (!getenv("GILSCOPE_NO_CALL_SITES"))
			locate_call_sites(pt, ef);
		locate_forced_sites(pt, ef);
		place_entry_probes(pt, ef);
		/* the main GIL's address: call-site probes ignore other GILs */
		if (pt->call_sites)
			keyed_addresses(pt);
	} else if (locate_debug(pt, ef) != 0) {
		pt->nprobes = 0;
		e = locate_keyed(pt, ef);
		if (e) {
			e = gs_fail(err, errlen, -ENOENT,
				 "PID %d (%s): %s has no take_gil/drop_gil symbols and no calls to the GIL's condition "
				 "variables were found; install its debug symbols", pid, pt->comm, pt->runtime_obj);
			goto out;
		}
	}
	locate_gil_fields(pt, ef);
	verify_gil_live(pt);
	locate_stack_layout(pt, ef);
	e = 0;
out:
	if (ef)
		elf_file__close(ef);
	if (e)
		py_target__release(pt);
	proc_maps__free(&maps);
	return e;
}

static int mem_read(int fd, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len, (off_t)addr);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static int read_u64(int fd, uint64_t addr, uint64_t *v)
{
	return mem_read(fd, addr, v, sizeof(*v));
}

/* Address of the main interpreter's GIL struct, 3.7+. 0 when the runtime
 * has not created it yet (launch mode stops before Py_Initialize). */
static int gil_struct_addr(const struct py_target *pt, int fd, uint64_t *gil,
			   uint64_t *ident_off)
{
	const struct py_layout *l = py_layout__get(pt->minor);
	uint64_t interp = 0, id = 0, next;
	const struct py_debug_offsets *d;
	int e, guard = 0;

	*ident_off = l->tstate_ident_off;
	switch (l->locate) {
	case GIL_RUNTIME_FIXED:
		*gil = pt->runtime_addr + l->gil_off;
		return 0;
	case GIL_INTERP_PTR:
		if ((e = read_u64(fd, pt->runtime_addr + l->main_interp_off, &interp)))
			return e;
		if (!interp)
			return *gil = 0, 0;
		return read_u64(fd, interp + l->interp_gil_ptr_off, gil);
	case GIL_DEBUG_OFFSETS:
		if (!pt->have_dbg)
			return -ENOTSUP;
		d = &pt->dbg;
		*ident_off = d->tstate_native_thread_id;
		/* The main interpreter (id 0) is the last one in the list. */
		if ((e = read_u64(fd, pt->runtime_addr + d->interpreters_head, &interp)))
			return e;
		while (interp && guard++ < 64) {
			if ((e = read_u64(fd, interp + d->interp_id, &id)))
				return e;
			if (id == 0)
				break;
			if ((e = read_u64(fd, interp + d->interp_next, &next)))
				return e;
			interp = next;
		}
		if (!interp)
			return *gil = 0, 0;
		return read_u64(fd, interp + d->interp_ceval_gil, gil);
	case GIL_STATICS:
		break;
	}
	return -EINVAL;
}

uint32_t py_target__host_tid(const struct py_target *pt, uint32_t ns)
{
	struct nstid_map m;
	uint32_t h;

	if (pt->ns_pid <= 0 || pt->ns_pid == pt->pid)
		return ns;
	if (nstid_map__load(pt->pid, &m))
		return 0;
	h = nstid_map__host(&m, ns);
	nstid_map__free(&m);
	return h;
}

/* At inspection: the GIL's address as the live interpreter has it
 * (interp->ceval.gil of the main interpreter), against the one computed
 * from the runtime's layout. They differ only if the layout facts are
 * wrong for this build: the live one wins, and -v says so. Before the
 * runtime has created its GIL (launch mode), the computed one stands. */
static void verify_gil_live(struct py_target *pt)
{
	uint64_t computed = pt->gil_is_int_fields ? 0 : main_gil_addr(pt), live = 0, ident_off;
	char path[64];
	int fd;

	if (pt->gil_is_int_fields || pt->free_threaded)
		return;
	snprintf(path, sizeof(path), "/proc/%d/mem", pt->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (gil_struct_addr(pt, fd, &live, &ident_off) != 0)
		live = 0;
	close(fd);
	if (!live) {
		snprintf(pt->gil_note, sizeof(pt->gil_note), "main GIL at 0x%llx (%s; not created yet)",
			 (unsigned long long)computed,
			 pt->have_dbg ? "from _Py_DebugOffsets" : "from the layout table");
		return;
	}
	if (live == computed) {
		snprintf(pt->gil_note, sizeof(pt->gil_note), "main GIL at 0x%llx (%s, confirmed by the live "
			 "interp->ceval.gil)", (unsigned long long)live,
			 pt->have_dbg ? "from _Py_DebugOffsets" : "from the layout table");
		return;
	}
	snprintf(pt->gil_note, sizeof(pt->gil_note), "main GIL at 0x%llx per the live interp->ceval.gil "
		 "(the layout said 0x%llx)", (unsigned long long)live, (unsigned long long)computed);
	pt->holder_addr = live + GS_GIL_LAST_HOLDER_OFF;
	pt->switchnum_addr = live + GS_GIL_SWITCH_NUMBER_OFF;
	if (pt->gil_addr) {
		pt->gil_addr = live;
		pt->gil_cond_addr = live + GS_GIL_COND_OFF;
		pt->gil_switch_cond_addr = live + GS_GIL_SWITCH_COND_OFF;
	}
}

int py_target__read_gil(const struct py_target *pt, struct gil_snapshot *s)
{
	const struct py_layout *l = py_layout__get(pt->minor);
	uint64_t locked_addr, holder_addr, interval_addr, gil = 0, ident_off, ident = 0;
	char path[64];
	int32_t locked = -1;
	int fd, e;

	memset(s, 0, sizeof(*s));
	s->locked = -1;
	if (pt->free_threaded)   /* its GIL struct has another layout; no GIL is traced */
		return -ENOTSUP;
	snprintf(path, sizeof(path), "/proc/%d/mem", pt->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pt->gil_is_int_fields) {
		locked_addr = pt->gil_locked_addr;
		holder_addr = pt->gil_holder_addr;
		interval_addr = pt->gil_interval_addr;
		ident_off = l->tstate_ident_off;
	} else {
		e = gil_struct_addr(pt, fd, &gil, &ident_off);
		if (e || !gil)
			goto out;
		locked_addr = gil + GS_GIL_LOCKED_OFF;
		holder_addr = gil + GS_GIL_LAST_HOLDER_OFF;
		interval_addr = gil + GS_GIL_INTERVAL_OFF;
	}
	if ((e = mem_read(fd, locked_addr, &locked, sizeof(locked))) ||
	    (e = read_u64(fd, holder_addr, &s->holder_tstate)) ||
	    (e = read_u64(fd, interval_addr, &s->interval_us)))
		goto out;
	s->locked = locked;
	if (pt->switchnum_addr && read_u64(fd, pt->gil_is_int_fields ? pt->switchnum_addr
								   : gil + GS_GIL_SWITCH_NUMBER_OFF,
					   &s->switch_number) == 0)
		s->have_switch_number = true;
	if (locked == 1 && s->holder_tstate &&
	    read_u64(fd, s->holder_tstate + ident_off, &ident) == 0) {
		if (l->ident == TID_NATIVE)
			s->holder_tid = (uint32_t)ident;
		else
			s->holder_pthread = ident;
	}
out:
	close(fd);
	return e;
}

int py_target__threads(const struct py_target *pt,
		       void (*cb)(uint64_t key, uint64_t tstate, void *ctx), void *ctx)
{
	const struct py_layout *l = py_layout__get(pt->minor);
	uint64_t interp = 0, ts = 0, key = 0, head_off, threads_off, next_off = 8, ident_off;
	char path[64];
	int fd, e = 0, guard = 0;
	/* kernel TIDs recorded inside a PID namespace: the host's instead */
	struct nstid_map ns = {};
	bool in_ns = l->ident == TID_NATIVE && pt->ns_pid > 0 && pt->ns_pid != pt->pid;

	if (in_ns && nstid_map__load(pt->pid, &ns))
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/mem", pt->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		nstid_map__free(&ns);
		return -errno;
	}
	ident_off = l->tstate_ident_off;
	threads_off = l->interp_threads_off;
	if (pt->have_dbg) {
		head_off = pt->dbg.interpreters_head;
		threads_off = pt->dbg.interp_threads_head;
		next_off = pt->dbg.tstate_next;
		ident_off = pt->dbg.tstate_native_thread_id;
	} else {
		head_off = l->interp_head_off;
	}
	/* The main interpreter is the last of the list; walk them all. */
	if (pt->interp_head_addr)
		e = read_u64(fd, pt->interp_head_addr, &interp);
	else if (pt->runtime_addr)
		e = read_u64(fd, pt->runtime_addr + head_off, &interp);
	while (!e && interp && guard++ < 64) {
		int n = 0;

		if ((e = read_u64(fd, interp + threads_off, &ts)))
			break;
		while (ts && n++ < 100000) {
			if (read_u64(fd, ts + ident_off, &key) == 0) {
				if (l->ident == TID_NATIVE)
					key = in_ns ? nstid_map__host(&ns, (uint32_t)key) : (uint32_t)key;
				if (key)
					cb(key, ts, ctx);
			}
			if (read_u64(fd, ts + next_off, &ts))
				break;
		}
		/* interp->next is the first field on 3.6-3.12 */
		if ((e = read_u64(fd, interp + (pt->have_dbg ? pt->dbg.interp_next : 0), &interp)))
			break;
	}
	close(fd);
	nstid_map__free(&ns);
	return e;
}

void py_target__release(struct py_target *pt)
{
	if (pt->runtime_fd >= 0)
		close(pt->runtime_fd);
	pt->runtime_fd = -1;
}
