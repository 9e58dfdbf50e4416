"""What every e2e case file imports besides gs.py: the Case record, the
common checks of a gilscope run (report_ok: exit code, schema, self-check;
attach: record -p PID -d D --json and report_ok), and duty_mark, which
reads a marking workload's ground truth. No case file reaches into
another's globals, and the runner (harness.py) passes nothing in."""
import json
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
                 versions=None):
        self.name = name
        self.fn = fn
        self.per_interp = per_interp
        self.budget = budget
        self.retries = retries
        # per-interpreter cases limited to these minors ("3.11", ...); the
        # newest interpreter stands in when none of them is being run
        self.versions = versions

    def runs_on(self, interp, interps):
        if not self.versions:
            return True
        some = [i for i in interps if i.minor in self.versions]
        return interp in some if some else interp is interps[-1]



def fmt_ms(us):
    return "%.2fms" % (us / 1000.0) if us is not None else "?"


def attach(ctx, w, d=D, extra=()):
    """gilscope record -p PID -d D --json F, and the common checks."""
    jp = ctx.path("report.json")
    meter = gs.LoadMeter(w.pid)
    run = ctx.run_gilscope(["record", "-p", w.pid, "-d", d, "--json", jp]
                           + list(extra), timeout=d + GS_SLACK, json_path=jp)
    ctx.bg = meter.other_cpus()
    return report_ok(ctx, run, pid=w.pid, launched=False)


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


