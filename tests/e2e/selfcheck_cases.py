"""The self-check must be able to fail: with the probes that see GIL
acquisitions left out (GILSCOPE_FAULT_SKIP_PROBE, a test hook), the
interpreter's own switch counter contradicts gilscope's figures, and
gilscope says so at the top of the report, in JSON (check.ok false, the
two counts), and with exit status 3. Every other case asserts the two
counts agree (common.report_ok).

Run per interpreter.
"""
import gs
from common import Case, GS_SLACK
from gs import get

D = 2
# take_gil's call sites or entry probe (symbol strategies), and every
# pthread_cond_signal call site (the GIL-address-keyed strategy)
SKIP = "take_gil,pthread_cond_signal"


def case_selfcheck_fault(ctx):
    w = ctx.workload("cpu_threads.py", 2, 0.005, 0)
    jp = ctx.path("report.json")
    run = ctx.run_gilscope(["record", "-p", w.pid, "-d", D, "--json", jp],
                           timeout=D + GS_SLACK, json_path=jp,
                           env={"GILSCOPE_FAULT_SKIP_PROBE": SKIP})
    ctx.check("rc", run.rc, run.rc == 3, "==3 (figures not trustworthy)")
    doc = run.doc
    if doc is None:
        ctx.check("json", run.json_error, False)
        ctx.detail(run.describe())
        return
    chk = get(doc, "check") or {}
    sw = chk.get("switches") or {}
    interp, ours = sw.get("interpreter"), sw.get("gilscope")
    ctx.check("check.ok", chk.get("ok"), chk.get("ok") is False, "false")
    ctx.check("interpreter_switches", interp, (interp or 0) >= 50,
              ">=50 (2 CPU threads at 5 ms for %ds)" % D)
    ctx.check("gilscope_switches", ours, ours is not None and interp is not None
              and ours < 0.5 * interp, "< half the interpreter's")
    ctx.check("problems", len(chk.get("problems") or []), bool(chk.get("problems")), ">=1")
    first = (gs.nonempty_lines(run.stdout or "") or [""])[0]
    ctx.check("text_top", repr(first[:60]), first.startswith("WARNING") and "NOT trustworthy" in first,
              "the report's first line warns")
    if ctx.failed():
        ctx.detail(run.describe())


CASES = [Case("self-check fails when probes miss events", case_selfcheck_fault)]
