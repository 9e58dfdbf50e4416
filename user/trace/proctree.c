// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "proctree.skel.h"
#include "common.h"
#include "trace/proctree.h"

struct proctree {
	struct proctree_bpf *skel;
	struct ring_buffer *rb;
	proctree_cb cb;
	void *ctx;
};

int proc_ppid(pid_t pid, pid_t *ppid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;
	int v;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* "pid (comm) state ppid ...": comm may hold spaces and parentheses */
	if (!(p = strrchr(buf, ')')) || sscanf(p + 1, " %*c %d", &v) != 1)
		return -EINVAL;
	*ppid = v;
	return 0;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct proctree *t = ctx;
	const struct gs_proc_event *e = data;

	if (size >= sizeof(*e))
		t->cb((int)e->kind, (pid_t)e->pid, (pid_t)e->ppid, e->ts, t->ctx);
	return 0;
}

struct pp { pid_t pid, ppid; };

/* Every process's parent, from /proc. */
static struct pp *all_parents(size_t *n)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	struct pp *v = NULL;
	size_t cap = 0;

	*n = 0;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		pid_t ppid;

		if (*end || pid <= 0 || proc_ppid((pid_t)pid, &ppid))
			continue;
		if (gs_grow(&v, &cap, *n + 1, sizeof(*v), 512))
			break;
		v[(*n)++] = (struct pp){ (pid_t)pid, ppid };
	}
	closedir(d);
	return v;
}

/* Put root's running descendants in the tree (breadth first) and report
 * them. A process forked meanwhile is caught by the fork probe already
 * attached, and may be reported twice: callers ignore known PIDs. */
static void add_running(struct proctree *t, pid_t root)
{
	int fd = bpf_map__fd(t->skel->maps.tree);
	size_t n, head = 0, tail = 0;
	struct pp *all = all_parents(&n);
	pid_t *queue = calloc(n + 1, sizeof(*queue));

	if (!all || !queue)
		goto out;
	queue[tail++] = root;
	while (head < tail) {
		pid_t p = queue[head++];

		for (size_t i = 0; i < n; i++) {
			__u32 k = (__u32)all[i].pid, v = (__u32)p;

			if (all[i].ppid != p || tail > n)
				continue;
			queue[tail++] = all[i].pid;
			bpf_map_update_elem(fd, &k, &v, BPF_ANY);
			t->cb(0, all[i].pid, p, 0, t->ctx);
		}
	}
out:
	free(all);
	free(queue);
}

int proctree__open(pid_t root, proctree_cb cb, void *ctx, struct proctree **out,
		   char *err, size_t errlen)
{
	struct proctree *t = calloc(1, sizeof(*t));
	__u32 k = (__u32)root, v = 0;
	int e;

	if (!t)
		return -ENOMEM;
	t->cb = cb;
	t->ctx = ctx;
	if (!(t->skel = proctree_bpf__open_and_load())) {
		e = -errno;
		free(t);
		return gs_fail(err, errlen, e, "cannot load the process-tree programs (--children): %s",
			       strerror(-e));
	}
	if ((e = bpf_map_update_elem(bpf_map__fd(t->skel->maps.tree), &k, &v, BPF_ANY)) ||
	    (e = proctree_bpf__attach(t->skel)) ||
	    !(t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), on_event, t, NULL))) {
		e = e ? e : -errno;
		proctree__free(t);
		return gs_fail(err, errlen, e, "cannot follow the process tree (--children): %s", strerror(-e));
	}
	add_running(t, root);
	*out = t;
	return 0;
}

int proctree__poll(struct proctree *t, int timeout_ms)
{
	int n = ring_buffer__poll(t->rb, timeout_ms);

	return n < 0 ? n : 0;
}

int proctree__fd(const struct proctree *t)
{
	return ring_buffer__epoll_fd(t->rb);
}

uint64_t proctree__lost(const struct proctree *t)
{
	return t->skel->bss->lost_tree_full + t->skel->bss->lost_events;
}

void proctree__free(struct proctree *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	proctree_bpf__destroy(t->skel);
	free(t);
}
