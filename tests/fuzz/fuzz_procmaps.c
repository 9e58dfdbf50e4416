// SPDX-License-Identifier: MIT
/* /proc/PID/maps text (user/inspect/procmaps.c): the input is the file.
 * Each mapped path is also classified by its name (pyflavor.c), as
 * gilscope does with every object it finds there. */
#include "fuzz.h"
#include "inspect/procmaps.h"
#include "inspect/pyflavor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_maps m = { 0 };
	struct py_flavor_info fl;
	uint64_t base;
	FILE *f;

	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	if (proc_maps__parse(f, &m) == 0) {
		for (size_t i = 0; i < m.n; i++) {
			FUZZ_ASSERT(m.v[i].start <= m.v[i].end);
			FUZZ_ASSERT(strlen(m.v[i].perms) == 4);
			FUZZ_ASSERT(!strchr(m.v[i].path, '\n'));
			FUZZ_ASSERT(py_flavor__detect(m.v[i].path, NULL, NULL, 0, &fl) == 0);
		}
		if (m.n)
			(void)proc_maps__base(&m, m.v[m.n - 1].path, &base);
		proc_maps__free(&m);
	}
	fclose(f);
	return 0;
}
