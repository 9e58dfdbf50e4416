// SPDX-License-Identifier: MIT
/* ELF symbols and sections (user/inspect/elf.c), the PLT/GOT and call-site
 * scans over the same file (callsite.c) and the flavor's marker symbols
 * (pyflavor.c): everything gilscope reads from a mapped object, which a
 * traced process controls. The input is the whole file. */
#include "fuzz.h"
#include "inspect/callsite.h"
#include "inspect/elf.h"
#include "inspect/pyflavor.h"

struct walk {
	const struct elf_file *ef;
	size_t n;
};

static int each(const struct elf_sym *s, void *ctx)
{
	struct walk *w = ctx;
	unsigned char buf[16];
	uint64_t off;

	/* names point into the file's mapping: must be NUL-terminated */
	FUZZ_ASSERT(strlen(s->name) < (1u << 30));
	(void)gs_sym_is_clone_of(s->name, "take_gil");
	if (elf_file__vaddr_to_offset(w->ef, s->addr, &off) == 0)
		(void)elf_file__read(w->ef, s->addr, buf, sizeof(buf));
	return ++w->n > 4096;     /* a walk of the first symbols is enough */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "take_gil", "drop_gil", "_PyRuntime", "Py_Version",
					     "PyEval_SaveThread" };
	struct elf_file *ef;
	struct py_flavor_info fl;
	struct walk w = { 0 };
	struct elf_sym s;
	uint64_t sites[4];
	char path[64];

	if (fuzz_input_file(data, size, path, sizeof(path)) < 0)
		return 0;
	if (elf_file__open(path, &ef) != 0)
		return 0;
	(void)elf_file__type(ef);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (elf_file__find(ef, names[i], &s) != 0)
			continue;
		FUZZ_ASSERT(strcmp(s.name, names[i]) == 0);
		(void)callsites__entry_probe(ef, s.addr, s.size);
		if (s.size <= 4096)
			(void)callsites__find(path, ef, s.addr, s.size, "pthread_cond_signal", sites, 4);
	}
	w.ef = ef;
	elf_file__foreach(ef, each, &w);
	(void)callsites__find_text(path, ef, "pthread_cond_timedwait", sites, 4);
	(void)py_flavor__detect("libpython3.13t.so.1.0", ef, data, size, &fl);
	elf_file__close(ef);
	return 0;
}
