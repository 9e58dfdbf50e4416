"""End-to-end cases for the predictions (run once, on the newest pyenv
interpreter): gilscope traces a fixed amount of work done by threads and
predicts the speedup of the same work in worker processes; the test then
carries the advice out, times the threads and the processes with the
workload's own clock (untraced, the better of two runs each), and checks
that the measured speedup lies in the predicted range, within 20% of its
midpoint.
"""
import re
import subprocess

from common import Case, report_ok
from gs import get


def elapsed(ctx, args):
    """The workload's own ELAPSED, the better of two untraced runs."""
    best = None
    for _ in range(2):
        p = subprocess.run(ctx.command("work_split.py", args), capture_output=True, text=True, timeout=120)
        m = re.search(r"^ELAPSED ([0-9.]+)$", p.stdout, re.M)
        if p.returncode != 0 or not m:
            ctx.check("workload %s" % " ".join(str(a) for a in args), "rc=%s" % p.returncode, False, "ELAPSED")
            ctx.detail(p.stderr[-2000:])
            return None
        t = float(m.group(1))
        best = t if best is None else min(best, t)
    return best


def predicted_vs_done(ctx, threads, units, py_iters, kib):
    jp = ctx.path("report.json")
    run = ctx.run_gilscope(["record", "--json", jp, "--"]
                           + ctx.command("work_split.py", ["threads", threads, units, py_iters, kib]),
                           timeout=120, json_path=jp)
    doc = report_ok(ctx, run, launched=True)
    if doc is None:
        return
    pred = get(doc, "prediction")
    ctx.check("prediction", "present" if pred else None, bool(pred), "present")
    if not pred:
        return
    lo, hi, workers = pred["speedup"]["low"], pred["speedup"]["high"], pred["workers"]
    t_thr = elapsed(ctx, ["threads", threads, units, py_iters, kib])
    t_proc = elapsed(ctx, ["processes", workers, units, py_iters, kib])
    if t_thr is None or t_proc is None:
        return
    s = t_thr / t_proc
    mid = (lo + hi) / 2
    ctx.checks.append(("threads=%.2fs processes(%d)=%.2fs" % (t_thr, workers, t_proc), True))
    ctx.check("speedup_in_range", "%.2fx in %.2f-%.2f" % (s, lo, hi), lo <= s <= hi, "measured in the range")
    ctx.check("midpoint", "%.2f vs %.2f" % (mid, s), abs(mid - s) <= 0.2 * s, "within 20%")


def case_cpu2(ctx):
    predicted_vs_done(ctx, 2, 200, 200000, 0)


def case_cpu4(ctx):
    predicted_vs_done(ctx, 4, 200, 200000, 0)


def case_py_zlib(ctx):
    # each unit: about as long in Python as in zlib
    predicted_vs_done(ctx, 2, 120, 200000, 384)


CASES = [
    Case("predict: 2 CPU-bound threads -> processes", case_cpu2, per_interp=False, retries=1),
    Case("predict: 4 CPU-bound threads -> processes", case_cpu4, per_interp=False, retries=1),
    Case("predict: Python + zlib threads -> processes", case_py_zlib, per_interp=False, retries=1),
]
