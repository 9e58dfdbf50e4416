"""Refused with a one-line reason, never traced with a guessed layout:
copies of Debian's python3.15 (from the test roots, tools/test-roots.sh)
patched in their data only, run chroot'd in the sid root:

  version 3.16   Py_Version and _Py_DebugOffsets.version say 3.16.2: "does
                 not support ... 3.6-3.15", exit status 1
  unknown layout _Py_DebugOffsets says the GIL's `locked` sits 8 bytes
                 further than CPython 3.7-3.15 put it: "describe a layout
                 gilscope does not know (the GIL struct ...)", exit status 1

The interpreter itself never reads those bytes, so the copies run as the
original does. Run once.
"""
import os
import re
import shutil
import struct
import subprocess
import time

import gs
from common import Case, GS_SLACK
from gs import CaseError

ROOTS = os.environ.get("GILSCOPE_ROOTS", "/var/cache/gilscope-tests")
SID = os.path.join(ROOTS, "sid")
PY315 = os.path.join(SID, "usr/bin/python3.15")


def sections(path):
    """{name: (vaddr, file offset, size)} from readelf -WS."""
    out = subprocess.run(["readelf", "-WS", path], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    res = {}
    for line in out.splitlines():
        f = line.replace("[ ", "[").split()
        if len(f) > 6 and f[0].startswith("[") and f[0].endswith("]") and f[1].startswith("."):
            res[f[1]] = (int(f[3], 16), int(f[4], 16), int(f[5], 16))
    return res


def symbol(path, name):
    out = subprocess.run(["readelf", "-Ws", "--dyn-syms", path], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 8 and f[7] == name:
            return int(f[1], 16)
    raise CaseError("%s: no %s in .dynsym" % (path, name))


def file_off(secs, vaddr):
    for name, (va, off, size) in secs.items():
        if va and va <= vaddr < va + size and name != ".tbss":
            return off + vaddr - va
    raise CaseError("address 0x%x is in no section" % vaddr)


def patched_copy(ctx, name, patches):
    """Copy python3.15 into the sid root as /gs-refusal/NAME with the
    (vaddr_symbol, delta, u64) patches applied; returns its path inside
    the root."""
    d = os.path.join(SID, "gs-refusal")
    os.makedirs(d, exist_ok=True)
    dst = os.path.join(d, name)
    shutil.copyfile(PY315, dst)
    os.chmod(dst, 0o755)
    secs = sections(dst)
    with open(dst, "r+b") as f:
        for sym, delta, value in patches:
            f.seek(file_off(secs, symbol(dst, sym) + delta))
            f.write(struct.pack("<Q", value) if value > 0xffffffff else struct.pack("<I", value))
    return "/gs-refusal/" + name


def run_refused(ctx, inner, must):
    # idle.py (tools/workloads) beside the patched interpreter
    for f in ("idle.py", "_wl.py"):
        shutil.copy(os.path.join(gs.WORKLOADS, f), os.path.join(SID, "gs-refusal", f))
    p = ctx.spawn(["chroot", SID, inner, "/gs-refusal/idle.py", "60"],
                  stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                  env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    try:
        line = gs.ready_line(p, inner, os.devnull, 20)
        if line != "READY %d" % p.pid:
            raise CaseError("%s printed %r" % (inner, line))
        run = ctx.run_gilscope(["record", "-p", p.pid, "-d", 1], timeout=GS_SLACK)
    finally:
        gs.kill_group(p)
        p.wait()
        shutil.rmtree(os.path.join(SID, "gs-refusal"), ignore_errors=True)
    lines = gs.nonempty_lines(run.stderr)
    msg = lines[0] if lines else ""
    ctx.check("rc", run.rc, run.rc == 1, "==1")
    ctx.check("stderr_lines", len(lines), len(lines) == 1, "==1")
    ctx.check("message", repr(msg[:160]), re.search(must, msg) is not None, "~/%s/" % must)
    if ctx.failed():
        ctx.detail(run.describe())


def have_root(ctx):
    if not os.path.exists(PY315):
        raise CaseError("%s missing: tools/test-roots.sh should have built it" % PY315)


def case_version_316(ctx):
    have_root(ctx)
    # Py_Version is a u32 PY_VERSION_HEX; _PyRuntime starts with
    # _Py_DebugOffsets {cookie[8], version u64, ...}
    inner = patched_copy(ctx, "python3.16", [("Py_Version", 0, 0x031002f0),
                                              ("_PyRuntime", 8, 0x031002f0)])
    run_refused(ctx, inner, r"CPython 3\.16\.2, which gilscope does not support: it traces CPython 3\.6-3\.15")


def case_unknown_layout(ctx):
    have_root(ctx)
    # 3.15: interpreter_state.gil_runtime_state_locked at byte 144 of
    # _Py_DebugOffsets; the real value is _gil + 16 = 7752
    inner = patched_copy(ctx, "python3.15", [("_PyRuntime", 144, 7760)])
    run_refused(ctx, inner, r"_Py_DebugOffsets describe a layout gilscope does not know \(the GIL struct")


CASES = [
    Case("refused: CPython 3.16", case_version_316, per_interp=False),
    Case("refused: unknown _Py_DebugOffsets layout", case_unknown_layout, per_interp=False),
]
