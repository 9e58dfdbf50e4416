// SPDX-License-Identifier: MIT
/* Interpreter flavor detection (docs/cpython-layouts.md). Each
 * source of evidence gives at most one verdict; py_flavor__detect() takes
 * the strongest and notes a weaker one that disagrees. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "inspect/elf.h"
#include "inspect/pyflavor.h"

/* Defined only by the embedding entry points of libpypy*-c.so (PyPy's
 * "Embedding PyPy" API; the pypy launcher calls pypy_main_startup). Not
 * rpython_startup_code: every RPython program has that one. */
static const char *const pypy_syms[] = {
	"pypy_main_startup", "pypy_setup_home", "pypy_execute_source",
	"pypy_init_threads",
};

/* Python 2 API removed in 3.0: module creation (Py_InitModule4_64 on
 * 64-bit, Py_InitModule4 on 32-bit) and the str type. PyPy 2 exports them
 * as PyPy*, so they do not match here. */
static const char *const py2_syms[] = {
	"Py_InitModule4_64", "Py_InitModule4", "PyString_FromString",
};

/* Declared under Py_GIL_DISABLED only (3.13t, 3.14t). mimalloc, _Py_qsbr_*,
 * _PyParkingLot_* and _PyCriticalSection_* are in default builds too. */
static const char *const ft_syms[] = {
	"_Py_DecRefShared", "_Py_MergeZeroLocalRefcount",
};

/* Exported by every CPython 2.x/3.x libpython or static executable. */
static const char *const cpython_syms[] = {
	"PyEval_SaveThread", "Py_InitializeEx",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* One source's verdict; valid when flavor != PY_FLAVOR_UNKNOWN. */
struct verdict {
	enum py_flavor flavor;
	char why[96];
};

const char *py_flavor__str(enum py_flavor flavor)
{
	switch (flavor) {
	case PY_FLAVOR_CPYTHON:       return "cpython";
	case PY_FLAVOR_FREE_THREADED: return "free-threaded";
	case PY_FLAVOR_PYPY:          return "pypy";
	case PY_FLAVOR_PYTHON2:       return "python2";
	default:                      return "unknown";
	}
}

const char *py_flavor__gil_enabled_words(int enabled)
{
	if (enabled == 0)
		return "disabled";
	if (enabled == INT_MAX)
		return "enabled permanently (PYTHON_GIL=1 or -X gil=1)";
	if (enabled > 0)
		return "enabled transiently (by an extension import)";
	return "invalid value";
}

/* _Py_DebugOffsets starts with cookie[8], version, free_threaded in every
 * version so far (§6); read just that prefix ourselves rather than through
 * py_debug_offsets__decode(), which rejects versions whose later fields it
 * does not know, so that 3.15t is still recognised as free-threaded. */
static void from_debug_offsets(const void *buf, size_t len, struct verdict *v)
{
	const unsigned char *b = buf;
	uint64_t version, ft;
	static const char levels[16] = { [0xA] = 'a', [0xB] = 'b', [0xC] = 'c' };

	v->flavor = PY_FLAVOR_UNKNOWN;
	if (!b || len < 24 || memcmp(b, "xdebugpy", 8) != 0)
		return;
	memcpy(&version, b + 8, sizeof(version));
	memcpy(&ft, b + 16, sizeof(ft));
	/* a cookie followed by garbage is no evidence */
	if (version >> 24 != 3 || ft > 1)
		return;
	v->flavor = ft ? PY_FLAVOR_FREE_THREADED : PY_FLAVOR_CPYTHON;
	if (levels[(version >> 4) & 0xf])
		snprintf(v->why, sizeof(v->why),
			 "_Py_DebugOffsets.free_threaded=%u (3.%u.%u%c%u)",
			 (unsigned int)ft, (unsigned int)(version >> 16) & 0xff,
			 (unsigned int)(version >> 8) & 0xff,
			 levels[(version >> 4) & 0xf], (unsigned int)version & 0xf);
	else
		snprintf(v->why, sizeof(v->why),
			 "_Py_DebugOffsets.free_threaded=%u (3.%u.%u)",
			 (unsigned int)ft, (unsigned int)(version >> 16) & 0xff,
			 (unsigned int)(version >> 8) & 0xff);
}

/* The first of names that ef defines, or NULL. */
static const char *find_any(struct elf_file *ef, const char *const *names,
			    size_t n, struct elf_sym *s)
{
	for (size_t i = 0; i < n; i++)
		if (elf_file__find(ef, names[i], s) == 0)
			return names[i];
	return NULL;
}

static void from_symbols(struct elf_file *ef, struct verdict *v)
{
	static const struct {
		const char *const *names;
		size_t n;
		enum py_flavor flavor;
	} sets[] = {
		/* most specific first: PyPy and Python 2 have neither of the
		 * later sets, and a free-threaded build also has the last one */
		{ pypy_syms, NELEM(pypy_syms), PY_FLAVOR_PYPY },
		{ py2_syms, NELEM(py2_syms), PY_FLAVOR_PYTHON2 },
		{ ft_syms, NELEM(ft_syms), PY_FLAVOR_FREE_THREADED },
		{ cpython_syms, NELEM(cpython_syms), PY_FLAVOR_CPYTHON },
	};
	struct elf_sym s;
	const char *hit;

	v->flavor = PY_FLAVOR_UNKNOWN;
	if (!ef)
		return;
	for (size_t i = 0; i < NELEM(sets); i++) {
		hit = find_any(ef, sets[i].names, sets[i].n, &s);
		if (!hit)
			continue;
		v->flavor = sets[i].flavor;
		snprintf(v->why, sizeof(v->why), "%s in %s%s", hit,
			 s.from_dynsym ? ".dynsym" : ".symtab",
			 v->flavor == PY_FLAVOR_CPYTHON ?
			 ", no free-threaded marker" : "");
		return;
	}
}

/* Length of the base name's stem, i.e. up to a " (deleted)" suffix that
 * /proc/PID/maps appends to unlinked files. */
static size_t stem_len(const char *base)
{
	const char *del = strstr(base, " (deleted)");

	return del && !del[10] ? (size_t)(del - base) : strlen(base);
}

/* After a matched name part: the end of the stem, or a separator such as
 * ".so" / "-dbg" starting. */
static bool name_ends(const char *p, const char *end)
{
	return p == end || *p == '.' || *p == '-';
}

/* pypy, pypy3, pypy3.10, libpypy-c.so, libpypy3-c.so, libpypy3.10-c.so. */
static bool is_pypy_name(const char *p, const char *end)
{
	bool lib = !strncmp(p, "lib", 3);

	if (lib)
		p += 3;
	if (end - p < 4 || strncmp(p, "pypy", 4))
		return false;
	p += 4;
	while (p < end && (isdigit((unsigned char)*p) || *p == '.'))
		p++;
	if (end - p >= 2 && !strncmp(p, "-c", 2) && (p + 2 == end || p[2] == '.'))
		return true;
	/* the launcher; the library always has "-c" */
	return !lib && p == end;
}

/* [lib]pythonX.Y<abiflags>, abiflags from "t" (free-threaded, 3.13+), "d"
 * (debug), "m" (pymalloc, up to 3.7) and "u" (wide unicode, 2.x/3.2).
 * *major is X; *t is whether the flags hold "t". */
static bool parse_cpython_name(const char *p, const char *end, int *major,
			       bool *t)
{
	if (!strncmp(p, "lib", 3))
		p += 3;
	if (end - p < 6 || strncmp(p, "python", 6))
		return false;
	p += 6;
	if (p == end || !isdigit((unsigned char)*p))
		return false;
	*major = 0;
	while (p < end && isdigit((unsigned char)*p)) {
		/* any number of digits (the name is the target's word):
		 * saturated past every Python major */
		if (*major < 1000)
			*major = *major * 10 + (*p - '0');
		p++;
	}
	if (p == end || *p++ != '.' || p == end || !isdigit((unsigned char)*p))
		return false;
	while (p < end && isdigit((unsigned char)*p))
		p++;
	*t = false;
	while (p < end && strchr("tdmu", *p))
		*t |= *p++ == 't';
	return name_ends(p, end);
}

static void from_name(const char *path, struct verdict *v)
{
	const char *base, *end;
	size_t n;
	bool t;
	int major;

	v->flavor = PY_FLAVOR_UNKNOWN;
	if (!path)
		return;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	n = stem_len(base);
	end = base + n;
	if (is_pypy_name(base, end)) {
		v->flavor = PY_FLAVOR_PYPY;
	} else if (parse_cpython_name(base, end, &major, &t)) {
		if (major == 2)
			v->flavor = PY_FLAVOR_PYTHON2;
		else if (major == 3)
			v->flavor = t ? PY_FLAVOR_FREE_THREADED : PY_FLAVOR_CPYTHON;
	}
	if (v->flavor == PY_FLAVOR_UNKNOWN)
		return;
	snprintf(v->why, sizeof(v->why), "file name %.*s%s", (int)(n > 48 ? 48 : n),
		 base, v->flavor == PY_FLAVOR_FREE_THREADED ? " (ABI flag t)" : "");
}

int py_flavor__detect(const char *path, struct elf_file *ef,
		      const void *runtime_initial, size_t len,
		      struct py_flavor_info *out)
{
	struct verdict dbg, sym, name;
	const struct verdict *best = NULL, *other = NULL;

	if (!out)
		return -EINVAL;
	from_debug_offsets(runtime_initial, len, &dbg);
	from_symbols(ef, &sym);
	from_name(path, &name);

	if (dbg.flavor != PY_FLAVOR_UNKNOWN) {
		best = &dbg;
		if (sym.flavor != PY_FLAVOR_UNKNOWN && sym.flavor != dbg.flavor)
			other = &sym;
		else if (name.flavor != PY_FLAVOR_UNKNOWN && name.flavor != dbg.flavor)
			other = &name;
	} else if (sym.flavor == PY_FLAVOR_CPYTHON &&
		   name.flavor == PY_FLAVOR_FREE_THREADED) {
		/* No free-threaded marker symbol is not proof of a default
		 * build (a later release may rename them); the "t" is. */
		best = &name;
	} else if (sym.flavor != PY_FLAVOR_UNKNOWN) {
		best = &sym;
		if (name.flavor != PY_FLAVOR_UNKNOWN && name.flavor != sym.flavor)
			other = &name;
	} else if (name.flavor != PY_FLAVOR_UNKNOWN) {
		best = &name;
	}

	if (!best) {
		out->flavor = PY_FLAVOR_UNKNOWN;
		snprintf(out->evidence, sizeof(out->evidence), "no interpreter marker");
		return 0;
	}
	out->flavor = best->flavor;
	if (other)
		/* both fit: every why is under 72 characters */
		snprintf(out->evidence, sizeof(out->evidence), "%.75s; %.72s disagrees",
			 best->why, other->why);
	else
		snprintf(out->evidence, sizeof(out->evidence), "%s", best->why);
	return 0;
}
