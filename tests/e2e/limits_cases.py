"""End-to-end cases for the CPU limits a process runs under (run once, on
the newest pyenv interpreter): threads pinned to one CPU of two, and a
cgroup CPU quota that throttles a process. Each is set up by the test,
which knows the truth: the affinity it set, the quota it wrote, and the
kernel's own counters read around the recording (the cgroup's cpu.stat,
each thread's schedstat).
"""
import os
import time

import gs
from common import Case, attach, quota_cgroup, remove_cgroup
from gs import get


def tids(pid):
    return [int(t) for t in os.listdir("/proc/%d/task" % pid)]


def run_delay_s(pid):
    """The kernel's run-queue wait of every thread of pid (schedstat), s."""
    total = 0
    for t in tids(pid):
        try:
            with open("/proc/%d/task/%d/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e9


def case_pinned(ctx):
    if os.cpu_count() < 2:
        ctx.skip("one CPU: nothing to pin to")
        return
    w = ctx.workload("zlib_threads.py", 2, 0)
    for t in tids(w.pid):
        os.sched_setaffinity(t, {0})
    time.sleep(0.3)
    d0 = run_delay_s(w.pid)
    doc = attach(ctx, w)
    d1 = run_delay_s(w.pid)
    if doc is None:
        return
    lim = get(doc, "limits") or {}
    ctx.check("cpus_allowed", lim.get("cpus_allowed"), lim.get("cpus_allowed") == 1, "==1 (set by the test)")
    ctx.check("cpus_allowed_list", lim.get("cpus_allowed_list"), lim.get("cpus_allowed_list") == "0", "'0'")
    ctx.check("cpus_online", lim.get("cpus_online"), lim.get("cpus_online") == os.cpu_count(),
              "==%d" % os.cpu_count())
    allowed = [c.get("allowed") for c in get(doc, "cpu", "per_cpu") or []]
    want = [c == 0 for c in range(os.cpu_count())]
    ctx.check("per_cpu_allowed", allowed, allowed == want, want)
    par = get(doc, "cpu", "parallelism")
    ctx.check("parallelism", "%.2f" % par, par <= 1.05, "<=1.05 (one CPU)")
    runq = get(doc, "cpu", "runq_s")
    # the kernel's run-queue wait around the window (a little longer)
    ctx.check("runq_vs_schedstat", "%.2fs vs kernel %.2fs" % (runq, d1 - d0),
              0.6 * (d1 - d0) - 0.1 <= runq <= (d1 - d0) + 0.1, "within the kernel's, >= 60% of it")
    verdict = get(doc, "verdict", "kind")
    ctx.check("verdict", verdict, verdict == "cpu-pinned", "cpu-pinned")


def read_stat(d):
    s = {}
    with open(os.path.join(d, "cpu.stat")) as f:
        for line in f:
            k, v = line.split()
            s[k] = int(v)
    return s


def case_quota(ctx):
    try:
        d = quota_cgroup("gilscope-e2e-%d" % os.getpid(), 0.5)
    except OSError as e:
        ctx.skip("no cgroup to make: %s" % e)
        return
    if d is None:
        ctx.skip("no cgroup with the cpu controller")
        return
    w = None
    try:
        # the pinned case's workload: 2 zlib threads, parallel without a limit
        w = ctx.workload("zlib_threads.py", 2, 0)
        with open(os.path.join(d, "cgroup.procs"), "w") as f:
            f.write(str(w.pid))
        time.sleep(0.5)
        s0, t0 = read_stat(d), time.monotonic()
        doc = attach(ctx, w, d=3)
        s1, t1 = read_stat(d), time.monotonic()
        if doc is None:
            return
        lim = get(doc, "limits") or {}
        q = lim.get("quota_cpus")
        ctx.check("quota_cpus", q, q is not None and abs(q - 0.5) < 1e-9, "0.5 (set by the test)")
        ctx.check("quota_cgroup", lim.get("quota_cgroup"),
                  (lim.get("quota_cgroup") or "").endswith(os.path.basename(d)), "the test's cgroup")
        tp, kp = lim.get("throttled_periods"), s1["nr_throttled"] - s0["nr_throttled"]
        # gilscope's window lies inside the test's two reads: the kernel
        # counted the periods outside it too (100 ms each, +1 at each edge)
        outside = int(max(0.0, (t1 - t0) - get(doc, "window_s")) / 0.1) + 2
        ctx.check("throttled_periods", "%s (kernel %d around it, %d outside the window)" % (tp, kp, outside),
                  tp is not None and kp - outside <= tp <= kp, "kernel's minus those outside .. kernel's")
        # throttled time: the kernel's (v2 throttled_usec, v1 throttled_time
        # in ns) around the window, less at most all of the time outside
        # it and a period at each edge; within 10% of that
        key, unit = ("throttled_usec", 1e6) if "throttled_usec" in s1 else ("throttled_time", 1e9)
        kt = (s1.get(key, 0) - s0.get(key, 0)) / unit
        ts = lim.get("throttled_s")
        out_s = max(0.0, (t1 - t0) - get(doc, "window_s")) + 0.2
        ctx.check("throttled_s", "%s (kernel %.3f s around it, up to %.2f s of it outside the window)"
                  % (ts if ts is None else "%.3f s" % ts, kt, out_s),
                  ts is not None and 0.9 * (kt - out_s) <= ts <= 1.1 * kt,
                  "within 10% of the kernel's in the window")
        par = get(doc, "cpu", "parallelism")
        ctx.check("parallelism", "%.2f" % par, 0.4 <= par <= 0.55, "0.40-0.55 (quota 0.5)")
        verdict = get(doc, "verdict", "kind")
        ctx.check("verdict", verdict, verdict == "cpu-quota", "cpu-quota")
    finally:
        if w is not None:
            w.signal(9)
            try:
                w.wait(10)
            except gs.CaseError:
                pass
        remove_cgroup(d)


CASES = [
    Case("limits: pinned to one CPU", case_pinned, per_interp=False, retries=1),
    Case("limits: cgroup CPU quota", case_quota, per_interp=False, retries=1),
]
