"""What every e2e case file imports besides gs.py: the Case record, the
common checks of a gilscope run (report_ok: exit code, schema, self-check;
attach: record -p PID -d D --json and report_ok), and duty_mark, which
reads a marking workload's ground truth. No case file reaches into
another's globals, and the runner (harness.py) passes nothing in."""
import json
import os
import signal
import time

import gs
from gs import CaseError, get

D = 3           # default trace window, seconds
GS_SLACK = 45   # extra seconds gilscope may take beyond its window


class Case(object):
    """retries: timing-sensitive cases run again once if they fail (a busy
    machine delays wake-ups); every attempt is printed."""

    def __init__(self, name, fn, per_interp=True, budget=90, retries=0,
                 versions=None, strict=False):
        self.name = name
        self.fn = fn
        self.per_interp = per_interp
        self.budget = budget
        self.retries = retries
        # per-interpreter cases limited to these minors ("3.11", ...); the
        # newest interpreter stands in when none of them is being run,
        # unless the case is strict: it checks something only those
        # versions have (then it is skipped, saying so)
        self.versions = versions
        self.strict = strict

    def runs_on(self, interp, interps):
        if not self.versions:
            return True
        some = [i for i in interps if i.minor in self.versions]
        return interp in some if some else (not self.strict and interp is interps[-1])

    def runs_nowhere(self, interps):
        """A strict case none of whose versions is being run."""
        return bool(self.per_interp and self.strict and interps and
                    not any(self.runs_on(i, interps) for i in interps))



def fmt_ms(us):
    return "%.2fms" % (us / 1000.0) if us is not None else "?"


def attach(ctx, w, d=D, extra=()):
    """gilscope record -p PID -d D --json F, and the common checks."""
    jp = ctx.path("report.json")
    run = ctx.run_gilscope(["record", "-p", w.pid, "-d", d, "--json", jp]
                           + list(extra), timeout=d + GS_SLACK, json_path=jp, watch=w.pid)
    doc = report_ok(ctx, run, pid=w.pid, launched=False)
    if doc is not None:
        kernel_agrees(ctx, doc)
    return doc


def check_held_busy(ctx, doc, label="held"):
    """Threads that always want the GIL: it is held >= 95% of the window,
    and on a busy machine (load-dependent) held or being handed over
    (a woken waiter that has no CPU yet to take it) >= 95%."""
    held = get(doc, "gil", "held_pct") or 0
    both = held + (get(doc, "gil", "handoff_pct") or 0)
    ctx.check(label, "%.1f%%" % held, held >= 95, ">=95", load=True)
    return ctx.check(label + "+handoff", "%.1f%%" % both, both >= 95, ">=95")


def run_delay_per_hold_us(ctx, doc):
    """The kernel's run delay of the target's threads over the window
    (ctx.kernel), in us per GIL hold; 0 without the kernel's count."""
    holds = get(doc, "gil", "hold", "count") or 1
    return 1e6 * ctx.kernel["runq_s"] / holds if ctx.kernel else 0.0


def check_hold_p50(ctx, doc, si_us, label="p50"):
    """The median hold of CPU-bound threads time-slicing the GIL: the
    switch interval si, -15%..+15%, plus what a busy machine adds. A hold
    runs past the interval by any time its holder, or the waiter that asks
    for the switch, sat runnable without a CPU: in all at most the
    kernel's run delay of the window, D (ctx.kernel), over H holds; so the
    median hold is at most 1.15 si + 2 D/H (Markov's inequality). On an
    idle machine D ~ 0."""
    p50 = get(doc, "gil", "hold", "p50_us") or 0
    extra = 2 * run_delay_per_hold_us(ctx, doc)
    return ctx.check(label, "%.2fms" % (p50 / 1000.0),
                     0.85 * si_us <= p50 <= 1.15 * si_us + extra,
                     "%gms-15%%..+15%%+2*run delay/holds (%.2fms)" % (si_us / 1000, extra / 1000))


def check_verdict(ctx, doc, want, extra_ok=True, expect=None):
    """The verdict is one of `want` (and extra_ok). "oversubscribed" is
    also right when the kernel counts the target's threads runnable
    without a CPU for at least a fifth of the window (run delay over the
    same window, ctx.kernel): on a busy machine that is what happened.
    Otherwise the workload's verdict is a bound only an idle machine
    meets (load=True): other work changes what the threads do (a
    convoyed thread that waits for a CPU as much as for the GIL is
    "mixed"), and the figures are held to the kernel's instead."""
    v = get(doc, "verdict", "kind")
    ok = v in want and extra_ok
    k, win = ctx.kernel, get(doc, "window_s") or 0
    if not ok and v == "oversubscribed" and k and win and k["runq_s"] / win >= 0.2:
        ctx.check("verdict", v, True, "%s, or oversubscribed: the kernel counts %.2f CPUs' worth "
                  "of its threads runnable without a CPU" % (expect or "/".join(want), k["runq_s"] / win))
        return True
    return ctx.check("verdict", v, ok, expect or "/".join(want), load=True)


def kernel_agrees(ctx, doc):
    """gilscope's on-CPU and run-queue time against the kernel's own
    count of the same window (ctx.kernel, KernelClock): on-CPU within 3%
    (+30 ms), and the time gilscope says threads were preempted (runnable
    without the GIL, or holding it off-CPU) no more than the kernel's run
    delay, which also counts wake-up latency."""
    k = ctx.kernel
    if not k:
        ctx.check("kernel_window", None, False, "kernel samples span the window")
        return
    on = get(doc, "cpu", "on_cpu_s")
    ctx.check("on_cpu_vs_kernel", "%.3fs vs %.3fs" % (on, k["cpu_s"]),
              abs(on - k["cpu_s"]) <= 0.03 * k["cpu_s"] + 0.03, "kernel's +-3%+30ms")
    pre = get(doc, "cpu", "runq_s") + sum(t.get("held_offcpu_s", 0) for t in get(doc, "threads", default=[]))
    ctx.check("preempted_vs_kernel", "%.3fs vs run delay %.3fs" % (pre, k["runq_s"]),
              pre <= 1.05 * k["runq_s"] + 0.03, "<= kernel's run delay +5%+30ms")


def report_ok(ctx, run, pid=None, launched=None, rc=0):
    """Check exit code, schema and gilscope's self-check (the report's
    `check`, shown with both switch counts even when the exit code is
    wrong); returns the parsed document or None."""
    rc_ok = ctx.check("rc", run.rc, run.rc == rc, "==%d" % rc)
    if run.doc is not None:
        gs.check_self(ctx, run.doc)
    if not rc_ok:
        ctx.detail(run.describe())
        return None
    if run.doc is None:
        ctx.check("json", run.json_error, False)
        ctx.detail(run.describe())
        return None
    problems = gs.validate_report(run.doc, pid=pid, interp=ctx.interp,
                                  launched=launched, check=False)
    if problems:
        ctx.check("schema", "%d problem(s)" % len(problems), False)
        ctx.detail("schema problems:\n  " + "\n  ".join(problems))
    lost = get(run.doc, "lost", "events")
    if lost:
        ctx.checks.append(("lost=%s" % lost, True))
    ctx.detail("report: %s\n%s" % (run.json_path, gs.tail(run.stderr, 40)))
    return run.doc



def duty_mark(w, stats, seq, timeout=5.0):
    """SIGUSR1 a marking workload (duty.py, gil_queue.py) and read the
    interval it reports."""
    w.signal(signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(stats) as f:
                s = json.load(f)
            if s.get("seq") == seq:
                return s
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    raise CaseError("the workload wrote no stats #%d within %.0fs; stderr:\n%s"
                    % (seq, timeout, gs.tail(w.stderr())))




# ---------------------------------------------------------------- cgroups

CG_V1 = "/sys/fs/cgroup/cpu"


def quota_cgroup(name, quota):
    """A fresh cgroup NAME with the cpu controller and a CPU quota of
    QUOTA CPUs (100 ms periods): cgroup v1's cpu hierarchy where mounted,
    else v2 (None when v2 has no cpu controller). Returns its directory;
    OSError when it cannot be made."""
    if os.path.exists(os.path.join(CG_V1, "cpu.cfs_quota_us")):
        d = os.path.join(CG_V1, name)
        os.mkdir(d)
        with open(os.path.join(d, "cpu.cfs_period_us"), "w") as f:
            f.write("100000")
        with open(os.path.join(d, "cpu.cfs_quota_us"), "w") as f:
            f.write(str(int(quota * 100000)))
        return d
    root = "/sys/fs/cgroup"
    with open(os.path.join(root, "cgroup.controllers")) as f:
        if "cpu" not in f.read().split():
            return None
    d = os.path.join(root, name)
    os.mkdir(d)
    with open(os.path.join(d, "cpu.max"), "w") as f:
        f.write("%d 100000" % int(quota * 100000))
    return d


def remove_cgroup(d):
    """rmdir a cgroup once its processes are gone (within 5 s)."""
    for _ in range(50):
        try:
            os.rmdir(d)
            return
        except OSError:
            time.sleep(0.1)
