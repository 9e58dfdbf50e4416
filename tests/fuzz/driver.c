// SPDX-License-Identifier: MIT
/* The corpus runner of `make fuzz-regress`: libFuzzer's entry point over
 * every file named on the command line (directories: each regular file in
 * them, in name order), once each, without libFuzzer. Built with ASan and
 * UBSan when clang's runtime is installed, so a reproducer that once
 * crashed a parser fails here again. */
#include <dirent.h>
#include <sys/stat.h>
#include "fuzz.h"

static int run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	FILE *f;
	size_t n;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return 0;
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf || !(f = fopen(path, "rb"))) {
		fprintf(stderr, "driver: cannot read %s\n", path);
		free(buf);
		return -1;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 1;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	long runs = 0;

	for (int i = 1; i < argc; i++) {
		struct dirent **ents;
		struct stat st;
		char p[4096];
		int n, r;

		if (stat(argv[i], &st))
			continue;               /* a harness without reproducers yet */
		if (!S_ISDIR(st.st_mode)) {
			if ((r = run_file(argv[i])) < 0)
				return 1;
			runs += r;
			continue;
		}
		n = scandir(argv[i], &ents, NULL, by_name);
		for (int k = 0; k < n; k++) {
			snprintf(p, sizeof(p), "%s/%s", argv[i], ents[k]->d_name);
			if ((r = run_file(p)) < 0)
				return 1;
			runs += r;
			free(ents[k]);
		}
		if (n >= 0)
			free(ents);
	}
	printf("%s: %ld inputs ran clean\n", argc > 0 ? argv[0] : "driver", runs);
	return 0;
}
