// SPDX-License-Identifier: MIT
/* CPU limits read from fake /proc and cgroup trees the test writes: a
 * cgroup v2 hierarchy (which this machine does not mount with the cpu
 * controller) and a v1 one, the tightest quota on the path, threads with
 * different affinity, and a path that tries to leave the hierarchy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "inspect/cpulimits.h"

static char root[64];

static void put(const char *rel, const char *text)
{
	char path[512], dir[512], *s;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (s = dir + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		mkdir(dir, 0755);
		*s = '/';
	}
	f = fopen(path, "w");
	CHECK_MSG(f != NULL, "cannot write %s", path);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void roots(void)
{
	static char proc[128], cg[128];

	snprintf(proc, sizeof(proc), "%s/proc", root);
	snprintf(cg, sizeof(cg), "%s/cg", root);
	cpu_limits__roots(proc, cg);
}

int main(void)
{
	struct cpu_limits l;

	CHECK(cpu_list__count("0-3,6") == 5);
	CHECK(cpu_list__count("7") == 1);
	CHECK(cpu_list__count("") == -1);
	CHECK(cpu_list__count("3-1") == -1);
	CHECK(cpu_list__count("0-99999999") == -1);
	CHECK(cpu_list__count("1,x") == -1);
	CHECK(cpu_list__has("0-3,6", 6) == 1);
	CHECK(cpu_list__has("0-3,6", 4) == 0);
	CHECK(cpu_list__has("0-3,6", 0) == 1);
	CHECK(cpu_list__has("x", 0) == -1);

	/* cgroup v2: the pod's quota (2 CPUs) binds, not the unlimited
	 * container below it or the parent above */
	snprintf(root, sizeof(root), "/tmp/gs-cpulimits.XXXXXX");
	CHECK(mkdtemp(root) != NULL);
	roots();
	put("proc/100/status", "Name:\tpython3\nCpus_allowed:\tf\nCpus_allowed_list:\t0-3\n");
	put("proc/100/task/100/status", "Cpus_allowed_list:\t0-3\n");
	put("proc/100/task/101/status", "Cpus_allowed_list:\t2\n");
	put("proc/100/cgroup", "0::/kubepods/pod1/ctr\n");
	put("cg/kubepods/cpu.max", "max 100000\n");
	put("cg/kubepods/pod1/cpu.max", "200000 100000\n");
	put("cg/kubepods/pod1/cpu.stat", "usage_usec 9\nnr_periods 50\nnr_throttled 20\nthrottled_usec 3000000\n");
	put("cg/kubepods/pod1/ctr/cpu.max", "max 100000\n");
	put("cg/kubepods/pod1/ctr/cpuset.cpus.effective", "0-1\n");
	CHECK(cpu_limits__read(100, &l) == 0);
	CHECK(l.valid);
	CHECK(l.cpus_allowed == 4);
	CHECK_STR(l.cpus_allowed_list, "0-3");
	CHECK(l.thread_cpus_min == 1 && l.thread_cpus_max == 4);
	CHECK_MSG(l.quota_cpus == 2.0, "quota %g", l.quota_cpus);
	CHECK_STR(l.cgroup, "/kubepods/pod1");
	CHECK(l.cgroup_v2);
	CHECK_U64(l.nr_periods, 50);
	CHECK_U64(l.nr_throttled, 20);
	CHECK_U64(l.throttled_us, 3000000);
	CHECK(l.cpuset_cpus == 2);
	CHECK_STR(l.cpuset_list, "0-1");
	/* a process that is gone */
	CHECK(cpu_limits__read(101, &l) < 0);

	/* a path that would leave the hierarchy: no quota read from it */
	put("proc/102/status", "Cpus_allowed_list:\t0-1\n");
	put("proc/102/cgroup", "0::/../../etc\n");
	CHECK(cpu_limits__read(102, &l) == 0);
	CHECK(l.quota_cpus < 0 && l.cgroup[0] == 0);

	/* cgroup v1: cpu,cpuacct and cpuset hierarchies */
	put("cg/cpu,cpuacct/tasks", "");
	put("cg/cpuset/tasks", "");
	put("proc/200/status", "Cpus_allowed_list:\t0-1\n");
	put("proc/200/task/200/status", "Cpus_allowed_list:\t0-1\n");
	put("proc/200/cgroup", "5:cpuset:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n");
	put("cg/cpu,cpuacct/docker/cpu.cfs_quota_us", "-1\n");
	put("cg/cpu,cpuacct/docker/cpu.cfs_period_us", "100000\n");
	put("cg/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "150000\n");
	put("cg/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
	put("cg/cpu,cpuacct/docker/abc/cpu.stat", "nr_periods 10\nnr_throttled 4\nthrottled_time 2000000000\n");
	put("cg/cpuset/docker/abc/cpuset.effective_cpus", "1\n");
	CHECK(cpu_limits__read(200, &l) == 0);
	CHECK_MSG(l.quota_cpus == 1.5, "quota %g", l.quota_cpus);
	CHECK_STR(l.cgroup, "/docker/abc");
	CHECK(!l.cgroup_v2);
	CHECK_U64(l.nr_throttled, 4);
	CHECK_U64(l.throttled_us, 2000000);
	CHECK(l.cpuset_cpus == 1);
	CHECK(l.cpus_allowed == 2);

	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		CHECK(system(cmd) == 0);
	}
	return check_summary("test_cpulimits");
}
