"""End-to-end cases for the predictions: gilscope traces threads doing a
fixed amount of work and predicts what the verdict's advice would bring;
the test then carries the advice out and checks the measured result lies
in the predicted range, within 20% of its midpoint.

  speedup cases   tools/workloads/work_split.py: the same units of work as
                  threads, then the way the advice says (worker processes,
                  or fewer or more threads), each timed by the workload's
                  own clock (ELAPSED, untraced, the better of two runs,
                  the ways interleaved; the vCPUs' speed checked around
                  them: vcpu_check)
                    cpu2, cpu4   CPU-bound threads -> processes
                    py+zlib      half Python, half zlib -> processes
                    zlib4        4 zlib threads -> fewer threads (the CPUs),
                                 speedup about 1; and 2 processes gain no
                                 more (measured in the same range)
                    io8          8 threads sleeping between short Python
                                 bursts -> more threads
  convoy          tools/workloads/convoy.py at a 5 ms switch interval: the
                  zlib thread's predicted wait per acquisition at the
                  advised interval vs the one measured by tracing convoy.py
                  again at that interval (sys.setswitchinterval)
  children quota  prefork.py's two workers moved into two cgroups with
                  their own CPU quotas, recorded with --children: each
                  process's limits name its own quota

Each prediction case runs on two interpreters: the newest pyenv one and
Debian's own /usr/bin/python3.11 (a stripped LTO build, traced through its
debug file). In make test (harness.CASE_MODULES). Their speedup checks
time real work, meaningful only on a quiet, steady machine: they are shown
but not counted when other work kept >= 0.3 CPUs busy, or when the vCPUs
were not steady around the runs (vcpu_check), and say so.
"""
import os
import re
import subprocess
import sys
import time

import gs
from common import Case, attach, quota_cgroup, remove_cgroup, report_ok
from gs import get

DEBIAN = "/usr/bin/python3.11"
RANGE_TOL = 0.2     # the measured result within 20% of the midpoint


# ---------------------------------------------------------------- interpreters

def debian_interp():
    """Debian's python3.11 as an Interp, or None when it is not there."""
    v = gs._probe_version(DEBIAN) if os.path.exists(DEBIAN) else None
    return gs.Interp(DEBIAN, v[:3]) if v and not v[3] else None


def on_debian(fn):
    """fn run with Debian's interpreter as the case's: ctx.command() and
    ctx.workload() start it, report_ok() checks the report against it."""
    def run(ctx):
        interp = debian_interp()
        if interp is None:
            ctx.skip("no %s" % DEBIAN)
            return
        saved, ctx.interp = ctx.interp, interp
        try:
            ctx.checks.append(("python=%s %s" % (DEBIAN, interp.full), True))
            fn(ctx)
        finally:
            ctx.interp = saved
    return run


# ---------------------------------------------------------------- measuring

def elapsed_once(ctx, args):
    """The workload's own ELAPSED of one untraced run, or None (checked)."""
    p = subprocess.run(ctx.command("work_split.py", args), capture_output=True, text=True, timeout=120)
    m = re.search(r"^ELAPSED ([0-9.]+)$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        ctx.check("workload %s" % " ".join(str(a) for a in args), "rc=%s" % p.returncode, False, "ELAPSED")
        ctx.detail(p.stderr[-2000:])
        return None
    return float(m.group(1))


def elapsed(ctx, *runs, rounds=2):
    """Each of the runs' (work_split.py arguments) ELAPSED, the best of
    `rounds`, the runs interleaved (A B A B: a machine whose speed drifts
    slows both alike), and the CPUs' steadiness checked around them
    (vcpu_check). A list of times, or None."""
    before = vcpu_probe()
    best = [None] * len(runs)
    for _ in range(rounds):
        for i, args in enumerate(runs):
            t = elapsed_once(ctx, args)
            if t is None:
                return None
            best[i] = t if best[i] is None else min(best[i], t)
    vcpu_check(ctx, before, vcpu_probe())
    return best


SPIN = ("import time\nt = time.monotonic()\nx = 0\nfor i in range(%d):\n    x = (x * 31 + i) & 0xFFFF\n"
        "print(time.monotonic() - t)\n" % 3000000)


def spin(k):
    """k copies of a fixed pure-Python loop at once (~0.3 s each): the
    slowest one's time."""
    ps = [subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.PIPE, text=True) for _ in range(k)]
    return max(float(p.communicate()[0]) for p in ps)


def vcpu_probe():
    """(one spinner alone, two at once): the CPUs' speed, and whether two
    of them run in parallel at that speed."""
    return spin(1), spin(2)


STEADY_DRIFT = 0.15      # one spinner's time before vs after the runs
STEADY_PAIR = 1.2        # two at once vs one alone


def vcpu_check(ctx, before, after):
    """The speedups compare runs of a few seconds on a virtual machine
    whose host may slow its vCPUs, or run two of them on one core, with no
    sign inside the guest (seen here: the same loop took 2.0 s, then
    3.9 s, with nothing else running and no steal). Measured around the
    runs: one spinner's time must not drift by more than 15%, and two
    at once must run within 1.2x of one alone. Otherwise the machine was
    not steady: the speedup checks are shown, not counted (ctx.unsteady,
    as other work's load is)."""
    (one0, two0), (one1, two1) = before, after
    ctx.checks.append(("vcpus=one %.3f/%.3f s, two %.3f/%.3f s (before/after)" % (one0, one1, two0, two1), True))
    drift = abs(one1 / one0 - 1)
    pair = max(two0 / one0, two1 / one1)
    if drift > STEADY_DRIFT:
        ctx.unsteady = "the CPUs' speed changed by %.0f%% during the runs" % (100 * drift)
    elif pair > STEADY_PAIR:
        ctx.unsteady = "two spinners at once ran %.2fx as long as one alone (not 2 CPUs' worth)" % pair


def other_work(ctx):
    """ctx.bg: the CPUs other work (not this case's processes) kept busy
    since the case's trace began. The predictions assume CPUs otherwise
    idle: their checks are load=True, counted only on a quiet machine
    (gs.BUSY_CPUS), shown otherwise."""
    meter = getattr(ctx, "pmeter", None)
    if meter is not None:
        ctx.bg = meter.other_cpus()


def in_range(ctx, what, measured, lo, hi):
    """The measured figure in [lo, hi] and within 20% of the midpoint."""
    other_work(ctx)
    mid = (lo + hi) / 2
    ctx.check(what + "_in_range", "%.3f in %.3f-%.3f" % (measured, lo, hi), lo <= measured <= hi,
              "measured in the range", load=True)
    ctx.check(what + "_midpoint", "%.3f vs %.3f" % (mid, measured), abs(mid - measured) <= RANGE_TOL * measured,
              "within 20%", load=True)


def traced_prediction(ctx, split):
    """Trace work_split.py threads SPLIT (launched) and return the report's
    prediction, or None (checked)."""
    jp = ctx.path("report.json")
    args = ["threads"] + list(split)
    ctx.pmeter = gs.LoadMeter(None)
    run = ctx.run_gilscope(["record", "--json", jp, "--"] + ctx.command("work_split.py", args),
                           timeout=120, json_path=jp)
    doc = report_ok(ctx, run, launched=True)
    if doc is None:
        return None
    pred = get(doc, "prediction")
    held = get(doc, "gil", "held_pct")
    ctx.checks.append(("verdict=%s held=%s" % (get(doc, "verdict", "kind"),
                                              "?" if held is None else "%.1f%%" % held), True))
    other_work(ctx)
    ctx.check("prediction", pred and pred.get("advice"), bool(pred), "present", load=True)
    ctx.detail("prediction: %r" % (pred,))
    return pred


# ---------------------------------------------------------------- speedup cases

def long_enough(ctx, threads, units, rest):
    """UNITS scaled so that the threads take >= 2 s on this interpreter
    (a fast one does the default work in ~1.3 s, where the processes'
    start-up, ~0.2 s, is not the small part the prediction's low end
    allows for): one untraced run to time it."""
    t = elapsed_once(ctx, ["threads", threads, units] + list(rest))
    if t is not None and t < 2.0:
        units = int(units * 2.2 / max(t, 0.1)) + 1
    ctx.checks.append(("units=%d" % units, True))
    return units


def processes_case(ctx, threads, units, py_iters, kib):
    units = long_enough(ctx, threads, units, [py_iters, kib])
    split = [units, py_iters, kib]
    pred = traced_prediction(ctx, [threads] + split)
    if not pred:
        return
    ctx.check("advice", pred["advice"], pred["advice"] == "processes", "processes", load=True)
    if pred["advice"] != "processes":
        return
    lo, hi, workers = pred["speedup"]["low"], pred["speedup"]["high"], pred["workers"]
    ts = elapsed(ctx, ["threads", threads] + split, ["processes", workers] + split)
    if ts is None:
        return
    t_thr, t_proc = ts
    ctx.checks.append(("threads(%d)=%.2fs processes(%d)=%.2fs" % (threads, t_thr, workers, t_proc), True))
    in_range(ctx, "speedup", t_thr / t_proc, lo, hi)


def threads_case(ctx, threads, split, advice, more=()):
    """split: UNITS PY_ITERS ZLIB_KIB SLEEP_MS. The advice expected;
    carried out with the advised thread count (and the runs `more`,
    interleaved with them). Returns (prediction, the times of the threads
    now, advised and `more`) for more checks, or (None, None)."""
    pred = traced_prediction(ctx, [threads] + split)
    if not pred:
        return None, None
    ok = ctx.check("advice", pred["advice"], pred["advice"] == advice, advice, load=True)
    if not ok:
        return None, None
    now, want = pred["threads"]["now"], pred["threads"]["advised"]
    ctx.check("pool", now, now == threads, "%d (the workers, not main)" % threads, load=True)
    lo, hi = pred["speedup"]["low"], pred["speedup"]["high"]
    runs = [["threads", threads] + split, ["threads", want] + split] + list(more)
    ts = elapsed(ctx, *runs)
    if ts is None:
        return None, None
    t_now, t_adv = ts[:2]
    ctx.checks.append(("threads(%d)=%.2fs threads(%d)=%.2fs" % (threads, t_now, want, t_adv), True))
    in_range(ctx, "speedup", t_now / t_adv, lo, hi)
    return pred, ts


def case_cpu2(ctx):
    processes_case(ctx, 2, 200, 200000, 0)


def case_cpu4(ctx):
    processes_case(ctx, 4, 200, 200000, 0)


def case_py_zlib(ctx):
    # each unit: about as long in Python as in zlib
    processes_case(ctx, 2, 120, 200000, 384)


ZLIB4 = [120, 0, 384, 0]        # 120 units of 384 KiB of zlib, no Python loop


def case_zlib4(ctx):
    cpus = len(os.sched_getaffinity(0))
    if cpus >= 4:
        ctx.skip("%d CPUs: 4 zlib threads do not queue for a CPU" % cpus)
        return
    # "no gain from processes": the same work in processes on those CPUs
    # measures inside the same range (about 1x)
    pred, ts = threads_case(ctx, 4, ZLIB4, "fewer threads", more=[["processes", cpus] + ZLIB4])
    if pred is None:
        return
    ctx.check("advised", pred["threads"]["advised"], pred["threads"]["advised"] == cpus,
              "%d (the CPUs it may use)" % cpus, load=True)
    t_now, t_proc = ts[0], ts[2]
    ctx.checks.append(("processes(%d)=%.2fs" % (cpus, t_proc), True))
    in_range(ctx, "processes_speedup", t_now / t_proc, pred["speedup"]["low"], pred["speedup"]["high"])


# 8 threads x 100 units: ~0.5 ms of Python, then 30 ms asleep. Held about
# 15% on pyenv's 3.13 (8% on Debian's 3.11): clear of io-bound's 30% bar.
# With 16000 iterations pyenv's 3.13 held 29.4-30.5%, and CI's run read
# "mixed" on both tries.
IO8 = [800, 8000, 0, 30]


def case_io8(ctx):
    threads_case(ctx, 8, IO8, "more threads")


# ---------------------------------------------------------------- convoy

CONVOY_D = 3


def convoyed_wait_us(doc):
    """The zlib thread's (the most native time) mean wait per acquisition."""
    ts = [t for t in get(doc, "threads") or [] if t.get("waits")]
    if not ts:
        return None
    t = max(ts, key=lambda t: t.get("native_s") or 0)
    return t["wait_s"] * 1e6 / t["waits"]


def convoy_report(ctx, interval_s):
    w = ctx.workload("convoy.py", interval_s, 0)
    try:
        return attach(ctx, w, d=CONVOY_D)
    finally:
        w.signal(9)


def case_convoy(ctx):
    doc = convoy_report(ctx, 0.005)
    if doc is None:
        return
    verdict, pred = get(doc, "verdict", "kind"), get(doc, "prediction") or {}
    ctx.check("verdict", verdict, verdict == "convoy", "convoy", load=True)
    ok = ctx.check("advice", pred.get("advice"), pred.get("advice") == "switch interval", "switch interval",
                   load=True)
    if not ok:
        return
    ctx.detail("prediction: %r" % (pred,))
    si, wait = pred["switch_interval_us"], pred["wait_us"]
    ctx.check("interval_now", si["now"], si["now"] == 5000, "5000 (set by the workload)")
    ctx.checks.append(("wait now %.0f us; at %d us predicted %.0f-%.0f us" % (
        wait["now"], si["advised"], wait["low"], wait["high"]), True))
    again = convoy_report(ctx, si["advised"] / 1e6)
    if again is None:
        return
    got = get(again, "gil", "switch_interval_us")
    ctx.check("interval_advised", got, got == si["advised"], "the advised one, set by the workload")
    measured = convoyed_wait_us(again)
    if measured is None:
        ctx.check("convoyed_wait", None, False, "a thread that waited")
        return
    in_range(ctx, "wait_us", measured, wait["low"], wait["high"])


# ---------------------------------------------------------------- children

def case_children_quota(ctx):
    quotas = (0.5, 0.25)
    pids_out = ctx.path("pids")
    dirs, w = [], None
    try:
        for i, q in enumerate(quotas):
            d = quota_cgroup("gilscope-e2e-%d-w%d" % (os.getpid(), i), q)
            if d is None:
                raise OSError("no cgroup with the cpu controller")
            dirs.append(d)
    except OSError as e:
        ctx.skip("no cgroup to make: %s" % e)
        for d in dirs:
            remove_cgroup(d)
        return
    try:
        w = ctx.workload("prefork.py", 2, 0, env={"PIDS_OUT": pids_out})
        with open(pids_out) as f:
            workers = [int(line.split()[0]) for line in f if line.strip()]
        ctx.check("workers", len(workers), len(workers) == 2, "2")
        want = {}
        for pid, d, q in zip(workers, dirs, quotas):
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(pid))
            want[pid] = (d, q)
        time.sleep(0.5)
        jp = ctx.path("report.json")
        run = ctx.run_gilscope(["record", "--children", "-p", w.pid, "-d", 3, "--json", jp],
                               timeout=3 + 45, json_path=jp)
        doc = report_ok(ctx, run, pid=w.pid, launched=False)
        if doc is None:
            return
        kids = dict((get(c, "target", "pid"), c) for c in get(doc, "children") or [])
        root_q = get(doc, "limits", "quota_cpus")
        ctx.check("parent_quota", root_q, root_q not in quotas, "not a worker's")
        for pid, (d, q) in sorted(want.items()):
            lim = get(kids.get(pid) or {}, "limits") or {}
            got = lim.get("quota_cpus")
            ctx.check("quota[%d]" % pid, got, got is not None and abs(got - q) < 1e-9, "%.2f (its cgroup's)" % q)
            cg = lim.get("quota_cgroup") or ""
            ctx.check("quota_cgroup[%d]" % pid, cg, cg.endswith(os.path.basename(d)), os.path.basename(d))
            par = get(kids.get(pid) or {}, "cpu", "parallelism") or 0
            ctx.check("parallelism[%d]" % pid, "%.2f" % par, par <= q + 0.05, "<= %.2f (its quota)" % q)
    finally:
        if w is not None:
            w.signal(15)
            try:
                w.wait(10)
            except gs.CaseError:
                w.signal(9)
        for d in dirs:
            remove_cgroup(d)


# ---------------------------------------------------------------- the cases

def both(name, fn, budget=240):
    """The case on the newest pyenv interpreter and on Debian's."""
    return [Case("predict: %s" % name, fn, per_interp=False, retries=1, budget=budget),
            Case("predict: %s [debian %s]" % (name, DEBIAN), on_debian(fn), per_interp=False, retries=1,
                 budget=budget)]


CASES = (both("2 CPU-bound threads -> processes", case_cpu2)
         + both("4 CPU-bound threads -> processes", case_cpu4)
         + both("Python + zlib threads -> processes", case_py_zlib)
         + both("4 zlib threads -> fewer threads, no gain from processes", case_zlib4)
         + both("8 I/O threads -> more threads", case_io8)
         + both("convoy -> a lower switch interval", case_convoy)
         + [Case("predict: --children, workers in their own cgroups", case_children_quota, per_interp=False,
                 retries=1)])
