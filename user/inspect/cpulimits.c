// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "inspect/cpulimits.h"

/* Where /proc and the cgroup tree are (tests point them at a fake tree). */
static const char *proc_root = "/proc", *cg_root = "/sys/fs/cgroup";

void cpu_limits__roots(const char *proc, const char *cgroup)
{
	proc_root = proc;
	cg_root = cgroup;
}
#define SMALL_FILE 4096           /* every file read here is far smaller */
#define MAX_THREADS_READ 4096     /* threads whose affinity is read */

/* The first line of a small file, newline cut. 0 or -errno. */
static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int e = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		e = -EIO;
	else
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
	return e;
}

int cpu_list__count(const char *list)
{
	int n = 0;
	const char *p = list;

	if (!*p)
		return -1;
	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b;

		if (end == p || a < 0)
			return -1;
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || b < a)
				return -1;
		}
		if (b - a >= 1 << 20)
			return -1;
		n += (int)(b - a + 1);
		if (*end == ',')
			end++;
		else if (*end)
			return -1;
		p = end;
	}
	return n;
}

int cpu_list__has(const char *list, int cpu)
{
	const char *p = list;

	if (cpu_list__count(list) < 0)
		return -1;
	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b = a;

		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		if (cpu >= a && cpu <= b)
			return 1;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* Cpus_allowed_list of /proc/PID[/task/TID]/status. */
static int allowed(const char *status, char *list, size_t len)
{
	char line[SMALL_FILE];
	FILE *f = fopen(status, "re");
	int n = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Cpus_allowed_list:", 18)) {
			char *v = line + 18;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = 0;
			if (list)
				snprintf(list, len, "%s", v);
			n = cpu_list__count(v);
			break;
		}
	fclose(f);
	return n;
}

static void affinity(pid_t pid, struct cpu_limits *l)
{
	char path[256];
	struct dirent *de;
	DIR *d;
	int seen = 0;

	snprintf(path, sizeof(path), "%s/%d/status", proc_root, (int)pid);
	l->cpus_allowed = allowed(path, l->cpus_allowed_list, sizeof(l->cpus_allowed_list));
	l->thread_cpus_min = l->thread_cpus_max = l->cpus_allowed;
	snprintf(path, sizeof(path), "%s/%d/task", proc_root, (int)pid);
	if (!(d = opendir(path)))
		return;
	while ((de = readdir(d)) && seen < MAX_THREADS_READ) {
		char st[320];
		int n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(st, sizeof(st), "%s/%d/task/%.20s/status", proc_root, (int)pid, de->d_name);
		if ((n = allowed(st, NULL, 0)) <= 0)
			continue;
		seen++;
		if (l->thread_cpus_min < 0 || n < l->thread_cpus_min)
			l->thread_cpus_min = n;
		if (n > l->thread_cpus_max)
			l->thread_cpus_max = n;
	}
	closedir(d);
}

/* The path of pid's cgroup for a v1 controller ("cpu"), or v2 (""). */
static int cgroup_of(pid_t pid, const char *controller, char *out, size_t len)
{
	char path[256], line[SMALL_FILE];
	FILE *f;
	int e = -ENOENT;

	snprintf(path, sizeof(path), "%s/%d/cgroup", proc_root, (int)pid);
	if (!(f = fopen(path, "re")))
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *p;

		if (!ctl || !(p = strchr(ctl + 1, ':')))
			continue;
		*p++ = 0;
		*ctl++ = 0;             /* line: the hierarchy ID */
		p[strcspn(p, "\n")] = 0;
		if (!*controller) {     /* v2: "0::/path" */
			if (!strcmp(line, "0") && !*ctl) {
				snprintf(out, len, "%s", p);
				e = 0;
				break;
			}
			continue;
		}
		/* v1: a comma list of controllers, e.g. "cpu,cpuacct" */
		for (char *tok = ctl, *save = NULL; *controller && (tok = strtok_r(tok, ",", &save)); tok = NULL)
			if (!strcmp(tok, controller)) {
				snprintf(out, len, "%s", p);
				e = 0;
			}
		if (!e)
			break;
	}
	fclose(f);
	return e;
}

/* A v1 hierarchy's mount point for a controller: /sys/fs/cgroup/cpu
 * (or cpu,cpuacct). */
static int v1_root(const char *controller, char *out, size_t len)
{
	static const char *const cand[][2] = { { "cpu", "cpu" }, { "cpu", "cpu,cpuacct" }, { "cpu", "cpuacct,cpu" },
					       { "cpuset", "cpuset" } };

	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++) {
		char p[256];

		if (strcmp(cand[i][0], controller))
			continue;
		snprintf(p, sizeof(p), "%s/%s", cg_root, cand[i][1]);
		snprintf(out, len, "%s", p);
		strncat(p, "/tasks", sizeof(p) - strlen(p) - 1);
		if (access(p, F_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

static void cpu_stat(const char *dir, bool v2, struct cpu_limits *l)
{
	char path[600], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cpu.stat", dir);
	if (!(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		char key[64];

		if (sscanf(line, "%63s %llu", key, &v) != 2)
			continue;
		if (!strcmp(key, "nr_periods"))
			l->nr_periods = v;
		else if (!strcmp(key, "nr_throttled"))
			l->nr_throttled = v;
		else if (v2 && !strcmp(key, "throttled_usec"))
			l->throttled_us = v;
		else if (!v2 && !strcmp(key, "throttled_time"))
			l->throttled_us = v / 1000;
	}
	fclose(f);
}

/* The quota of one cgroup directory, in CPUs; < 0 none. */
static double quota_of(const char *dir, bool v2)
{
	char path[600], line[128];
	long long q, p;

	if (v2) {
		char qs[32];

		snprintf(path, sizeof(path), "%s/cpu.max", dir);
		if (read_line(path, line, sizeof(line)) || sscanf(line, "%31s %lld", qs, &p) != 2)
			return -1;
		if (!strcmp(qs, "max") || p <= 0)
			return -1;
		q = atoll(qs);
	} else {
		snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", dir);
		if (read_line(path, line, sizeof(line)) || sscanf(line, "%lld", &q) != 1)
			return -1;
		snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", dir);
		if (read_line(path, line, sizeof(line)) || sscanf(line, "%lld", &p) != 1 || p <= 0)
			return -1;
	}
	return q > 0 ? (double)q / p : -1;
}

/* Walk from the cgroup up to the root: the tightest quota binds. */
static void quota(const char *root, const char *cg, bool v2, struct cpu_limits *l)
{
	char rel[256], dir[512];

	snprintf(rel, sizeof(rel), "%s", cg);
	for (int depth = 0; depth < 64; depth++) {
		double q;
		char *slash;

		if (strstr(rel, ".."))
			break;          /* never leave the hierarchy */
		snprintf(dir, sizeof(dir), "%s%s", root, rel);
		q = quota_of(dir, v2);
		if (q > 0 && (l->quota_cpus < 0 || q < l->quota_cpus)) {
			l->quota_cpus = q;
			snprintf(l->cgroup, sizeof(l->cgroup), "%s", *rel ? rel : "/");
			l->cgroup_v2 = v2;
			l->nr_periods = l->nr_throttled = l->throttled_us = 0;
			cpu_stat(dir, v2, l);
		}
		if (!*rel || !strcmp(rel, "/") || !(slash = strrchr(rel, '/')))
			break;
		*slash = 0;
	}
}

static void cpuset(pid_t pid, struct cpu_limits *l)
{
	char cg[256], root[256], path[600];

	l->cpuset_cpus = -1;
	if (v1_root("cpuset", root, sizeof(root)) == 0 && cgroup_of(pid, "cpuset", cg, sizeof(cg)) == 0 &&
	    !strstr(cg, "..")) {
		snprintf(path, sizeof(path), "%s%s/cpuset.effective_cpus", root, cg);
		if (read_line(path, l->cpuset_list, sizeof(l->cpuset_list)) != 0) {
			snprintf(path, sizeof(path), "%s%s/cpuset.cpus", root, cg);
			if (read_line(path, l->cpuset_list, sizeof(l->cpuset_list)) != 0)
				return;
		}
	} else if (cgroup_of(pid, "", cg, sizeof(cg)) == 0 && !strstr(cg, "..")) {
		snprintf(path, sizeof(path), "%s%s/cpuset.cpus.effective", cg_root, cg);
		if (read_line(path, l->cpuset_list, sizeof(l->cpuset_list)) != 0)
			return;
	} else
		return;
	l->cpuset_cpus = cpu_list__count(l->cpuset_list);
}

int cpu_limits__read(pid_t pid, struct cpu_limits *l)
{
	char cg[256], root[256];
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(l, 0, sizeof(*l));
	l->cpus_online = n > 0 ? (int)n : -1;
	l->quota_cpus = -1;
	affinity(pid, l);
	if (l->cpus_allowed < 0)
		return -ESRCH;
	/* v1's cpu controller where it is mounted, else the unified tree */
	if (v1_root("cpu", root, sizeof(root)) == 0 && cgroup_of(pid, "cpu", cg, sizeof(cg)) == 0)
		quota(root, cg, false, l);
	else if (cgroup_of(pid, "", cg, sizeof(cg)) == 0)
		quota(cg_root, cg, true, l);
	cpuset(pid, l);
	l->valid = true;
	return 0;
}
