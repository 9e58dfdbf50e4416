// SPDX-License-Identifier: MIT
/* /proc/PID/maps text (user/inspect/procmaps.c): the input is the file. */
#include "fuzz.h"
#include "inspect/procmaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_maps m = { 0 };
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
		}
		if (m.n)
			(void)proc_maps__base(&m, m.v[m.n - 1].path, &base);
		proc_maps__free(&m);
	}
	fclose(f);
	return 0;
}
