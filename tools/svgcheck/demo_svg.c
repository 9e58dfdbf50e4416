// SPDX-License-Identifier: MIT
/* Writes a demo flame graph shaped like gilscope's: four views whose stacks
 * start with the view name and a thread name. For looking at the SVG and
 * for tools/svgcheck/run.sh. Build from the repository root (the first
 * line generates the headers that embed flamegraph.css and flamegraph.js):
 *   make .output/render/flamegraph_css.h .output/render/flamegraph_js.h
 *   gcc -Wall -Wextra -std=gnu11 -D_GNU_SOURCE -iquote user -I.output \
 *       tools/svgcheck/demo_svg.c user/render/flamegraph.c user/common.c \
 *       -o /tmp/demo_svg
 *   /tmp/demo_svg /tmp/demo.svg */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "render/flamegraph.h"

#define MAX_DEPTH 8

struct demo {
	const char *frames[MAX_DEPTH + 1]; /* NULL-terminated */
	uint64_t weight;
};

static const struct demo wait_stacks[] = {
	{ { "wait", "worker-1", "<module> (app/main.py:88)", "run (app/jobs.py:40)",
	    "fetch (app/net.py:12)", "recv_json (app/net.py:31)", NULL }, 41000 },
	{ { "wait", "worker-1", "<module> (app/main.py:88)", "run (app/jobs.py:40)",
	    "parse (app/parse.py:7)", NULL }, 22000 },
	{ { "wait", "worker-2", "<module> (app/main.py:88)", "run (app/jobs.py:40)",
	    "fetch (app/net.py:12)", NULL }, 30500 },
	{ { "wait", "worker-2", "<module> (app/main.py:88)", "run (app/jobs.py:40)",
	    "compress (app/pack.py:19)", "zlib_chunk (app/pack.py:44)", NULL }, 12000 },
	{ { "wait", "MainThread", "<module> (app/main.py:90)", "join (threading.py:1119)",
	    NULL }, 3000 },
	{ { "wait", "worker-2", "<module> (app/main.py:88)", "tiny (app/rare.py:1)", NULL }, 40 },
	{ { "wait", "worker-1", "caf\xc3\xa9 <&> \"q\" 'x' (na\xefve.py:3)", NULL }, 9000 },
};

static const struct demo gil_stacks[] = {
	{ { "gil", "worker-1", "<module> (app/main.py:88)", "run (app/jobs.py:40)",
	    "parse (app/parse.py:7)", "tokenize (app/parse.py:55)", NULL }, 52000 },
	{ { "gil", "worker-2", "<module> (app/main.py:88)", "run (app/jobs.py:40)",
	    "compress (app/pack.py:19)", NULL }, 18000 },
	{ { "gil", "MainThread", "<module> (app/main.py:90)", NULL }, 1200 },
};

static const struct demo nogil_stacks[] = {
	{ { "nogil", "worker-1", "<module> (app/main.py:88)", "run (app/jobs.py:40)",
	    "fetch (app/net.py:12)", "sock_recv (socket.py:700)", NULL }, 880 },
	{ { "nogil", "worker-2", "<module> (app/main.py:88)", "run (app/jobs.py:40)",
	    "compress (app/pack.py:19)", "zlib.compress", NULL }, 1540 },
};

static const struct demo blame_stacks[] = {
	{ { "blame", "worker-2", "<module> (app/main.py:88)", "run (app/jobs.py:40)",
	    "compress (app/pack.py:19)", NULL }, 61000 },
	{ { "blame", "worker-1", "<module> (app/main.py:88)", "run (app/jobs.py:40)",
	    "parse (app/parse.py:7)", "tokenize (app/parse.py:55)", NULL }, 43000 },
};

static void to_stacks(const struct demo *d, size_t n, struct sym_stack *out)
{
	for (size_t i = 0; i < n; i++) {
		size_t depth = 0;

		while (d[i].frames[depth])
			depth++;
		out[i] = (struct sym_stack){ d[i].frames, depth, d[i].weight };
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

int main(int argc, char **argv)
{
	struct sym_stack w[N(wait_stacks)], g[N(gil_stacks)], ng[N(nogil_stacks)],
		b[N(blame_stacks)];
	struct fg_view views[] = {
		{ "wait", "GIL wait time by waiting stack", "us", w, N(w) },
		{ "gil", "GIL hold time by holding stack", "us", g, N(g) },
		{ "nogil", "Time off the GIL by stack", "samples", ng, N(ng) },
		{ "blame", "Wait caused, by the holder's stack", "us", b, N(b) },
	};
	size_t nviews = N(views);
	FILE *f;
	int err;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s OUT.svg [NVIEWS]\n", argv[0]);
		return 2;
	}
	if (argc == 3 && sscanf(argv[2], "%zu", &nviews) == 1 && nviews > N(views))
		nviews = N(views);
	to_stacks(wait_stacks, N(w), w);
	to_stacks(gil_stacks, N(g), g);
	to_stacks(nogil_stacks, N(ng), ng);
	to_stacks(blame_stacks, N(b), b);
	f = fopen(argv[1], "w");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	err = flamegraph__write_svg(f, "gilscope demo: pid 4242 (python3.12)", views, nviews);
	if (fclose(f) && !err)
		err = -errno;
	if (err) {
		fprintf(stderr, "flamegraph__write_svg: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
