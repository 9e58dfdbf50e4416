/* SPDX-License-Identifier: MIT */
/* The CPU limits a process runs under: the CPUs its threads may run on
 * (affinity, the cpuset) and its cgroup's CPU quota with the throttling
 * counters (cgroup v2 cpu.max/cpu.stat, v1 cpu.cfs_quota_us/cpu.stat),
 * read through the target's own cgroup and its ancestors: the tightest
 * quota on the path is the one that binds. */
#ifndef GS_CPULIMITS_H
#define GS_CPULIMITS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define GS_CPULIST_MAX 64

struct cpu_limits {
	bool valid;
	int cpus_online;
	/* affinity: the process's (its main thread's), and the fewest and
	 * most CPUs any of its threads may use */
	int cpus_allowed, thread_cpus_min, thread_cpus_max;
	char cpus_allowed_list[GS_CPULIST_MAX];
	/* the cgroup holding the binding quota ("" none), and its figures */
	char cgroup[256];
	bool cgroup_v2;
	double quota_cpus;           /* quota / period, < 0 no quota */
	uint64_t nr_periods, nr_throttled;
	uint64_t throttled_us;       /* time throttled (v1: throttled_time / 1000) */
	int cpuset_cpus;             /* CPUs of its cpuset, -1 unknown */
	char cpuset_list[GS_CPULIST_MAX];
};

/* Read pid's limits now. 0, or -errno (the process is gone). */
int cpu_limits__read(pid_t pid, struct cpu_limits *l);

/* Tests: read /proc and the cgroup tree from these folders instead. */
void cpu_limits__roots(const char *proc, const char *cgroup);

/* CPUs in a list such as "0-3,6", -1 when it does not parse. */
int cpu_list__count(const char *list);
/* Whether cpu is in the list: 1, 0, or -1 when it does not parse. */
int cpu_list__has(const char *list, int cpu);

#endif
