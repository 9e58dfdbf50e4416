"""End-to-end cases for the command line, run once (on the newest
interpreter): help and version, usage errors, targets refused in one
line (no such pid, not Python, Python 2.7, no privilege, no ptrace
access), stopping on SIGINT/SIGTERM, and the JSON report on stdout.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import gs
from common import Case, GS_SLACK, report_ok
from gs import CaseError, get


def one_line(ctx, run, rc, must=None):
    """Exit code rc and exactly one non-empty stderr line (matching `must`)."""
    lines = gs.nonempty_lines(run.stderr)
    ctx.check("rc", run.rc, run.rc == rc, "==%d" % rc)
    msg = lines[0] if lines else ""
    ctx.check("stderr_lines", len(lines), len(lines) == 1, "==1")
    if must is not None:
        ctx.check("message", repr(msg[:90]),
                  re.search(must, msg, re.I) is not None, "~/%s/" % must)
    else:
        ctx.checks.append(("msg=%r" % msg[:90], True))
    if ctx.failed():
        ctx.detail(run.describe())




def case_cli(ctx):
    run = ctx.run_gilscope(["--help"], timeout=15)
    text = run.stdout + run.stderr
    ctx.check("help_rc", run.rc, run.rc == 0, "==0")
    ctx.check("help_mentions_record", "record" in text, "record" in text)
    run = ctx.run_gilscope(["--version"], timeout=15)
    text = (run.stdout + run.stderr).strip()
    ctx.check("version_rc", run.rc, run.rc == 0, "==0")
    ctx.check("version", repr(text[:40]), re.search(r"\d+\.\d+", text),
              "has a version number")


def case_usage(ctx):
    w = ctx.workload("idle.py", 0)
    bad = [["record"],
           ["record", "-p", w.pid, "-d", "abc"],
           ["record", "-p", w.pid, "-d", "0"],
           ["record", "-p", "12x"],
           ["record", "-p", w.pid, "--bogus-option"]]
    for args in bad:
        run = ctx.run_gilscope(args, timeout=20)
        lines = gs.nonempty_lines(run.stderr)
        ok = run.rc == 1 and len(lines) == 1
        ctx.check("'%s'" % " ".join(str(a) for a in args).replace(
            str(w.pid), "PID"), "rc=%s lines=%d" % (run.rc, len(lines)), ok,
            "rc=1 lines=1")
        if not ok:
            ctx.detail(run.describe())


def case_no_such_pid(ctx):
    pid = gs.free_pid()
    run = ctx.run_gilscope(["record", "-p", pid, "-d", 1], timeout=20)
    one_line(ctx, run, 1)


def case_not_python(ctx):
    p = ctx.spawn(["sleep", "30"], stdin=subprocess.DEVNULL)
    time.sleep(0.2)
    run = ctx.run_gilscope(["record", "-p", p.pid, "-d", 1], timeout=20)
    one_line(ctx, run, 1)


def case_children_not_python(ctx):
    # --children from a shell: refused in one line that says what to give
    # it, attached or launched.
    p = ctx.spawn(["sleep", "30"], stdin=subprocess.DEVNULL)
    time.sleep(0.2)
    run = ctx.run_gilscope(["record", "--children", "-p", p.pid, "-d", 1], timeout=20)
    one_line(ctx, run, 1, must=r"not a CPython process.*--children needs a CPython target")
    run = ctx.run_gilscope(["record", "--children", "-d", 1, "--", "sh", "-c", "exit 0"],
                           timeout=20)
    one_line(ctx, run, 1, must=r"without starting CPython.*--children needs a CPython target")


def case_python2(ctx):
    py27 = gs.python27()
    if not py27:
        ctx.skip("no pyenv 2.7 interpreter")
        return
    w = ctx.workload("idle.py", 0, python=py27)
    run = ctx.run_gilscope(["record", "-p", w.pid, "-d", 1], timeout=20)
    one_line(ctx, run, 1, must=r"python\s*2")


def case_unprivileged(ctx):
    # Both gilscope and the target run as nobody; gilscope must be
    # executable by nobody, so copy it to a world-readable place.
    d = tempfile.mkdtemp(prefix="gilscope-nobody-")
    try:
        os.chmod(d, 0o755)
        exe = os.path.join(d, "gilscope")
        shutil.copy2(ctx.gilscope, exe)
        os.chmod(exe, 0o755)
        nobody = ["setpriv", "--reuid=65534", "--regid=65534",
                  "--clear-groups"]
        # idle.py, from where nobody can read it
        for f in ("idle.py", "_wl.py"):
            shutil.copy(os.path.join(gs.WORKLOADS, f), os.path.join(d, f))
            os.chmod(os.path.join(d, f), 0o644)
        p = ctx.spawn(nobody + [sys.executable, os.path.join(d, "idle.py"), "30"],
                      stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                      cwd="/")
        line = p.stdout.readline().decode().strip()
        if line != "READY %d" % p.pid:
            raise CaseError("nobody's python did not start: %r" % line)
        pid = p.pid
        saved, ctx.gilscope = ctx.gilscope, exe
        try:
            run = ctx.run_gilscope(["record", "-p", pid, "-d", 1], timeout=20,
                                   prefix=nobody)
        finally:
            ctx.gilscope = saved
        one_line(ctx, run, 2)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def case_no_ptrace(ctx):
    # Root without CAP_SYS_PTRACE cannot inspect a root process that has
    # it (the kernel's ptrace access check): say so, in one line.
    w = ctx.workload("idle.py", 0)
    run = ctx.run_gilscope(["record", "-p", w.pid, "-d", 1], timeout=20,
                           prefix=["setpriv", "--bounding-set=-sys_ptrace"])
    one_line(ctx, run, 2, must=r"ptrace access.*CAP_SYS_PTRACE")


def stop_by_signal(ctx, sig):
    w = ctx.workload("cpu_threads.py", 2, 0.005, 0)
    jp = ctx.path("report.json")
    gp = ctx.start_gilscope(["record", "-p", w.pid, "--json", jp])
    time.sleep(2.5)
    if gp.poll() is not None:
        run = ctx.finish_gilscope(gp, timeout=1, json_path=jp)
        ctx.check("still_running", "exited rc=%s" % run.rc, False)
        ctx.detail(run.describe())
        return
    gp.send_signal(sig)
    t0 = time.monotonic()
    run = ctx.finish_gilscope(gp, timeout=20, json_path=jp)
    ctx.check("stopped_in", "%.1fs" % (time.monotonic() - t0),
              time.monotonic() - t0 <= 5, "<=5s")
    doc = report_ok(ctx, run, pid=w.pid, launched=False)
    if doc is None:
        return
    window = get(doc, "window_s")
    ctx.check("window", "%.2fs" % window, 0.5 <= window <= 3.0,
              "0.5-3.0s (signalled 2.5s after start)")
    ctx.check("target_alive", w.alive(), w.alive(), "untouched")


def case_sigint(ctx):
    stop_by_signal(ctx, signal.SIGINT)


def case_sigterm(ctx):
    stop_by_signal(ctx, signal.SIGTERM)


def case_json_stdout(ctx):
    w = ctx.workload("cpu_threads.py", 2, 0.005, 0)
    run = ctx.run_gilscope(["record", "-p", w.pid, "-d", 1, "--json", "-"],
                           timeout=1 + GS_SLACK, json_path="-")
    doc = report_ok(ctx, run, pid=w.pid, launched=False)
    ctx.check("text_report_on_stderr", len(gs.nonempty_lines(run.stderr)),
              len(gs.nonempty_lines(run.stderr)) >= 3, ">=3 lines")
    if doc is not None:
        ctx.checks.append(("held=%.1f%%" % get(doc, "gil", "held_pct"), True))


def case_bad_outputs(ctx):
    # Every output path is opened before tracing: one that cannot be
    # written fails at once (exit 1, one line), before the window (-d 30)
    # and before the target is touched; a target that cannot be traced
    # leaves no empty output file behind.
    w = ctx.workload("idle.py", 0)
    tmp = tempfile.mkdtemp(prefix="gs-out-")
    try:
        for opt in ("--json", "--folded", "--flamegraph", "--trace", "--pprof"):
            run = ctx.run_gilscope(["record", "-p", w.pid, "-d", 30, opt, "/nonexistent-dir/out"],
                                   timeout=20)
            one_line(ctx, run, 1, must=r"cannot write /nonexistent-dir")
            ctx.check("%s_fails_at_once" % opt, "%.1fs" % run.elapsed, run.elapsed < 5, "<5s (window 30s)")
        fresh = os.path.join(tmp, "never.json")
        run = ctx.run_gilscope(["record", "-p", gs.free_pid(), "--json", fresh], timeout=20)
        one_line(ctx, run, 1, must=r"no process")
        ctx.check("no_file_left", os.path.exists(fresh), not os.path.exists(fresh), "absent")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- registry

CASES = [
    Case("cli help/version", case_cli, per_interp=False),
    Case("usage errors", case_usage, per_interp=False),
    Case("no such pid", case_no_such_pid, per_interp=False),
    Case("not python", case_not_python, per_interp=False),
    Case("children of a non-Python target", case_children_not_python, per_interp=False),
    Case("python 2.7", case_python2, per_interp=False),
    Case("unprivileged", case_unprivileged, per_interp=False),
    Case("no ptrace access", case_no_ptrace, per_interp=False),
    Case("stop on SIGINT", case_sigint, per_interp=False),
    Case("stop on SIGTERM", case_sigterm, per_interp=False),
    Case("json to stdout", case_json_stdout, per_interp=False),
    Case("unwritable outputs fail at once", case_bad_outputs, per_interp=False),
]
