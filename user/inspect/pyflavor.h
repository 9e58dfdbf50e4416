/* SPDX-License-Identifier: MIT */
/* Which kind of interpreter a mapped object is, decided before gilscope
 * places GIL probes: a default CPython build, a free-threaded one (whose
 * take_gil runs but usually does nothing), PyPy or Python 2 (no probes of
 * ours apply). Evidence rules: docs/cpython-layouts.md, "Free-threaded builds". */
#ifndef GS_PYFLAVOR_H
#define GS_PYFLAVOR_H

#include <stddef.h>

struct elf_file;

enum py_flavor {
	PY_FLAVOR_CPYTHON,        /* default (GIL) build */
	PY_FLAVOR_FREE_THREADED,  /* Py_GIL_DISABLED build (3.13t, 3.14t) */
	PY_FLAVOR_PYPY,
	PY_FLAVOR_PYTHON2,
	PY_FLAVOR_UNKNOWN,
};

struct py_flavor_info {
	enum py_flavor flavor;
	char evidence[160];       /* e.g. "file name python3.13t",
				     "_Py_DecRefShared in .dynsym",
				     "_Py_DebugOffsets.free_threaded=1 (3.13.0)" */
};

/* Classify an interpreter object from the strongest evidence at hand, in
 * this order:
 *   1. _Py_DebugOffsets in runtime_initial (3.13+): the build describing
 *      itself, so it overrides everything else;
 *   2. marker symbols (.symtab or .dynsym): PyPy's embedding entry points,
 *      Python 2-only API, free-threaded-only refcount functions, then any
 *      CPython API function;
 *   3. the file name (ABI flag "t", libpython2.x, libpypy*-c.so).
 * path: the object's file name as mapped (only its base name is used; a
 * " (deleted)" suffix is tolerated), may be NULL; ef: its opened ELF, may be
 * NULL; runtime_initial: the first len bytes of _PyRuntime's initial image
 * (NULL when the object has no _PyRuntime).
 * Returns 0 with out filled (flavor PY_FLAVOR_UNKNOWN when nothing matched)
 * or -EINVAL when out is NULL. */
int py_flavor__detect(const char *path, struct elf_file *ef,
		      const void *runtime_initial, size_t len,
		      struct py_flavor_info *out);

/* "cpython", "free-threaded", "pypy", "python2" or "unknown". */
const char *py_flavor__str(enum py_flavor flavor);

/* For a free-threaded target: is the GIL enabled right now? enabled is the
 * live value of gil->enabled (offset 0 of the free-threaded GIL struct):
 * 0 = disabled, INT_MAX = permanently enabled (PYTHON_GIL=1 or -X gil=1),
 * other positive = transiently enabled by extension imports. */
const char *py_flavor__gil_enabled_words(int enabled);

#endif
