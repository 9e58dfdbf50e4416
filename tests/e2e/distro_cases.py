"""Stripped distribution interpreter: Debian's /usr/bin/python3.11 (LTO,
no symbols; drop_gil inlined into PyEval_SaveThread and I/O functions)
traced three ways on the same paced workload (tools/workloads/io_mix.py:
forced switches every 1 ms plus os.stat/os.read releases at a fixed pace):

  debug     its debug file (python3.11-dbg, found by build-id)
  stripped  debug file hidden (GILSCOPE_DEBUG_DIR=/nonexistent): probes
            keyed on the GIL's address only
  pyenv     the pyenv 3.11 build, with symbols (reference)

held %, hold and wait counts and hold totals must agree within 5%; wait
totals within 10%. Separate runs of the same program differ by more than
the tracers do: the debug mode's extra drop_gil entry probe changes how the
I/O thread's waits interleave (an observer effect, ~5% on wait totals).
So a second case traces ONE run of the Debian binary with both of its
strategies at once (two gilscopes attached together): there every figure
must agree within 2%.
"""
import os

import gs
from common import Case, check_held_busy, check_hold_p50
from gs import CaseError, get

DEBIAN = "/usr/bin/python3.11"
D = 4
KEYS = (("held_pct", ("gil", "held_pct"), 1.05),
        ("holds", ("gil", "hold", "count"), 1.05),
        ("hold_total", ("gil", "hold", "total_s"), 1.05),
        ("waits", ("gil", "wait", "count"), 1.05),
        ("wait_total", ("gil", "wait", "total_s"), 1.10))


def one(ctx, label, python, env):
    w = ctx.workload("io_mix.py", 1, 0, python=python)
    out = ctx.path("%s.json" % label)
    run = ctx.run_gilscope(["record", "-p", w.pid, "-d", D, "--json", out],
                           timeout=D + 45, json_path=out, env=env)
    w.p.kill()
    if run.doc is not None:
        gs.check_self(ctx, run.doc, label + " ")
    if run.rc != 0 or run.doc is None:
        raise CaseError("%s: rc=%s %s" % (label, run.rc, run.describe()))
    return run.doc


def case_distro(ctx):
    if not os.path.exists(DEBIAN):
        ctx.skip("no %s" % DEBIAN)
        return
    if ctx.interp.minor != "3.11":
        raise CaseError("no pyenv 3.11 to compare with")
    ref = [ctx.interp]
    docs = {
        "debug": one(ctx, "debug", DEBIAN, None),
        "stripped": one(ctx, "stripped", DEBIAN, {"GILSCOPE_DEBUG_DIR": "/nonexistent"}),
        "pyenv": one(ctx, "pyenv", ref[0].path, None),
    }
    sd = get(docs["debug"], "target", "strategy") or ""
    ss = get(docs["stripped"], "target", "strategy") or ""
    ctx.check("debug_strategy", sd, sd.startswith("debug symbols"),
              "debug symbols* (python3.11-dbg installed and matching)")
    ctx.check("stripped_strategy", ss, ss == "gil-address call sites",
              "gil-address call sites")
    for name, path, tol in KEYS:
        vals = dict((k, get(d, *path) or 0) for k, d in docs.items())
        lo, hi = min(vals.values()), max(vals.values())
        ok = lo > 0 and hi <= lo * tol
        ctx.check(name, " ".join("%s=%.4g" % (k, vals[k]) for k in ("debug", "stripped", "pyenv")),
                  ok, "within %d%%" % round((tol - 1) * 100))
    ctx.checks.append(("forced=%s/%s/%s" % tuple(
        get(docs[k], "gil", "releases", "forced") for k in ("debug", "stripped", "pyenv")), True))


def case_distro_same_run(ctx):
    if not os.path.exists(DEBIAN):
        ctx.skip("no %s" % DEBIAN)
        return
    w = ctx.workload("io_mix.py", 1, 0, python=DEBIAN)
    ja, jb = ctx.path("debug.json"), ctx.path("stripped.json")
    pa = ctx.start_gilscope(["record", "-p", w.pid, "-d", D, "--json", ja])
    rb = ctx.run_gilscope(["record", "-p", w.pid, "-d", D, "--json", jb],
                          timeout=D + 45, json_path=jb,
                          env={"GILSCOPE_DEBUG_DIR": "/nonexistent"})
    ra = ctx.finish_gilscope(pa, timeout=45, json_path=ja)
    w.p.kill()
    for label, r in (("debug", ra), ("stripped", rb)):
        if r.doc is not None:
            gs.check_self(ctx, r.doc, label + " ")
    if ra.doc is None or rb.doc is None:
        raise CaseError("no report: %s / %s" % (ra.describe(), rb.describe()))
    ctx.check("strategies", "%s | %s" % (get(ra.doc, "target", "strategy"),
                                         get(rb.doc, "target", "strategy")),
              (get(ra.doc, "target", "strategy") or "").startswith("debug symbols")
              and get(rb.doc, "target", "strategy") == "gil-address call sites")
    # The two attach at different instants, so their windows differ in
    # length (by a few % on a busy machine): counts and totals are
    # compared per second of each one's window.
    wa, wb = get(ra.doc, "window_s") or 0, get(rb.doc, "window_s") or 0
    for name, path, _ in KEYS:
        a, b = get(ra.doc, *path) or 0, get(rb.doc, *path) or 0
        if name != "held_pct":
            a, b = (a / wa if wa else 0), (b / wb if wb else 0)
            name += "/s"
        ctx.check(name, "debug=%.4g stripped=%.4g" % (a, b),
                  min(a, b) > 0 and max(a, b) <= min(a, b) * 1.02, "within 2%")


LIBPY311 = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"


def case_distro_embed(ctx):
    """Debian 12's shared libpython3.11 (stripped; its debug file from
    libpython3.11-dbg) loaded by the embed host, as uWSGI loads it: 2 CPU
    threads at a 5 ms switch interval, with the debug file and without."""
    import debian
    if not os.path.exists(LIBPY311):
        raise CaseError("no %s (install libpython3.11)" % LIBPY311)
    if not os.path.exists(debian.EMBED_HOST):
        raise CaseError("no %s (make %s)" % (debian.EMBED_HOST, debian.EMBED_HOST))
    for label, env in (("debug", None), ("stripped", {"GILSCOPE_DEBUG_DIR": "/nonexistent"})):
        w = ctx.workload("cpu_threads.py", 2, 0.005, 0,
                         python=[debian.EMBED_HOST, "--lib", LIBPY311])
        out = ctx.path("%s.json" % label)
        run = ctx.run_gilscope(["record", "-p", w.pid, "-d", D, "--json", out],
                               timeout=D + 45, json_path=out, env=env, watch=w.pid)
        w.p.kill()
        if run.rc != 0 or run.doc is None:
            raise CaseError("%s: rc=%s %s" % (label, run.rc, run.describe()))
        doc = run.doc
        gs.check_self(ctx, doc, label + " ")
        st = get(doc, "target", "strategy") or ""
        ctx.check(label + "_runtime", get(doc, "target", "runtime"),
                  get(doc, "target", "runtime") == LIBPY311, LIBPY311)
        ctx.check(label + "_strategy", st, st.startswith("debug symbols") if label == "debug"
                  else st == "gil-address call sites")
        held = get(doc, "gil", "held_pct") or 0
        f, v = get(doc, "gil", "releases", "forced") or 0, get(doc, "gil", "releases", "voluntary") or 0
        check_held_busy(ctx, doc, label + "_held")
        ctx.check(label + "_forced", "%d/%d" % (f, f + v), f + v > 0 and f >= 0.9 * (f + v), ">=90%")
        check_hold_p50(ctx, doc, 5000.0, label + "_p50")


CASES = [
    Case("distro python3.11 three ways", case_distro, versions=("3.11",),
         strict=True, budget=240, retries=1),
    Case("distro python3.11 two strategies, one run", case_distro_same_run,
         versions=("3.11",), budget=120, retries=1),
    Case("distro libpython3.11 embedded", case_distro_embed, versions=("3.11",),
         budget=120, retries=1),
]
