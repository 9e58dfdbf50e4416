// SPDX-License-Identifier: MIT
/* embed_host: runs CPython the way an application that embeds it does
 * (uWSGI, a C++ program with a scripting layer): the interpreter is not
 * the executable, it is libpython, loaded at run time with dlopen() and
 * entered through Py_BytesMain(). The e2e tests trace workloads run this
 * way; this program is not linked with libpython (only libdl/libc).
 *
 * usage: embed_host [--lib LIBPYTHON] [PYTHON ARGS...]
 *        GILSCOPE_EMBED_LIBPYTHON=LIBPYTHON embed_host [PYTHON ARGS...]
 *
 * LIBPYTHON is a path or a soname (e.g. libpython3.14.so.1.0, found by
 * the dynamic loader's usual search). The arguments after it are Python's
 * command line, as for the python executable: embed_host --lib
 * libpython3.14.so.1.0 script.py a b runs script.py with sys.argv
 * ['script.py', 'a', 'b']. The exit status is Py_BytesMain's. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*bytes_main_fn)(int argc, char **argv);

static int usage(void)
{
	fprintf(stderr, "usage: embed_host [--lib LIBPYTHON] [PYTHON ARGS...]\n"
			"       (or LIBPYTHON in $GILSCOPE_EMBED_LIBPYTHON)\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *lib = getenv("GILSCOPE_EMBED_LIBPYTHON");
	bytes_main_fn py_main;
	char **pargv;
	void *h;
	int first = 1, n;

	if (argc >= 2 && strcmp(argv[1], "--lib") == 0) {
		if (argc < 3)
			return usage();
		lib = argv[2];
		first = 3;
	}
	if (!lib || !*lib)
		return usage();
	/* RTLD_GLOBAL: extension modules (lib-dynload) are not linked
	 * with libpython and take its symbols from the global scope, as in
	 * an application that links it. */
	h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
	if (!h) {
		fprintf(stderr, "embed_host: dlopen %s: %s\n", lib, dlerror());
		return 127;
	}
	*(void **)&py_main = dlsym(h, "Py_BytesMain");
	if (!py_main) {
		fprintf(stderr, "embed_host: %s has no Py_BytesMain (Python 3.8+): %s\n", lib, dlerror());
		return 127;
	}
	/* Python's argv: our program name, then its own arguments. */
	n = argc - first + 1;
	pargv = calloc((size_t)n + 1, sizeof(*pargv));
	if (!pargv) {
		perror("embed_host");
		return 1;
	}
	pargv[0] = argv[0];
	for (int i = first; i < argc; i++)
		pargv[i - first + 1] = argv[i];
	return py_main(n, pargv);
}
