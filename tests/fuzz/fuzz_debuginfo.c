// SPDX-License-Identifier: MIT
/* Debug-file lookup (user/inspect/debuginfo.c): the build-id note, the
 * .gnu_debuglink section and the candidates they name, in a private root.
 * The input is the binary; it is also planted as the candidates the seeds'
 * links name ("prog.debug" next to it and in .debug/) and, once its
 * build-id is read, under .build-id/, so that both the lookup and the
 * verification of a found file run. */
#include <ftw.h>
#include <sys/stat.h>
#include "fuzz.h"
#include "inspect/debuginfo.h"

static char root[64];

static void mkdirs(const char *rel)
{
	char p[256], *s;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

static void plant(const char *rel, const uint8_t *data, size_t size)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fuzz_write_file(p, data, size);
}

static void unplant(const char *rel)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	unlink(p);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(p);   /* best effort: the walk goes on */
	return 0;
}

static void cleanup(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[512], how[64], hex[160], p[256], rel[256];
	int rootfd, e;

	if (!root[0]) {
		snprintf(root, sizeof(root), "/dev/shm/gs-fuzz-debuginfo.%d", (int)getpid());
		if (mkdir(root, 0755) && errno != EEXIST) {   /* no /dev/shm: /tmp */
			snprintf(root, sizeof(root), "/tmp/gs-fuzz-debuginfo.%d", (int)getpid());
			mkdir(root, 0755);
		}
		atexit(cleanup);
		mkdirs("bin/.debug");
		mkdirs("usr/lib/debug/bin");
	}
	plant("bin/prog", data, size);
	plant("bin/prog.debug", data, size);
	plant("bin/.debug/prog.debug", data, size);
	snprintf(p, sizeof(p), "%s/bin/prog", root);
	e = debuginfo__build_id(p, hex, sizeof(hex));
	rel[0] = 0;
	if (e == 0 && strlen(hex) >= 4) {
		snprintf(rel, sizeof(rel), "usr/lib/debug/.build-id/%.2s", hex);
		mkdirs(rel);
		snprintf(rel, sizeof(rel), "usr/lib/debug/.build-id/%.2s/%s.debug", hex, hex + 2);
		plant(rel, data, size);
	}
	e = debuginfo__find(root, "/usr/lib/debug", "/bin/prog", out, sizeof(out), how, sizeof(how));
	FUZZ_ASSERT(e != 0 || (out[0] && how[0]));
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd >= 0) {
		(void)debuginfo__find_in_root(rootfd, "/usr/lib/debug", "/bin/prog", out, sizeof(out),
					      how, sizeof(how));
		close(rootfd);
	}
	snprintf(p, sizeof(p), "%s/bin/prog", root);
	(void)debuginfo__find_by_build_id("/nonexistent/debug", p, out, sizeof(out), how, sizeof(how));
	if (rel[0])
		unplant(rel);
	return 0;
}
