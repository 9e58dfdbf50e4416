"""gilscope end-to-end tests: trace real CPython processes (every pyenv
3.6-3.13 interpreter found, and Debian's own 3.13-3.15 in containers and a
chroot: debian.py) and compare the reports with what the workloads are
known to do. Needs root, ./gilscope built, bpftrace for the cross-check,
and the Debian roots (tools/test-roots.sh).

  python3 tests/e2e/run.py                 all cases, all interpreters
  python3 tests/e2e/run.py --only 3.11     one interpreter
  python3 tests/e2e/run.py --only debian-3.14
                                           Debian's 3.14, every configuration
  python3 tests/e2e/run.py -k cpu_threads  cases whose name contains this
  python3 tests/e2e/run.py --list          list interpreters and cases
  python3 tests/e2e/run.py --check-workloads
                                           check the workloads (and the
                                           bpftrace script) without gilscope

This is the runner (run.py calls main()): argument parsing, discovery of
the interpreters and Debian configurations, running each case (time
budget, retries) and the summary. The cases come from the case files
listed in CASE_MODULES (and, when -k is given, OPT_IN_MODULES: the
predictions), each exporting CASES (common.Case objects).
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import gs
import debian
from gs import CaseError, CaseTimeout

# In this order: per interpreter, the cases run as listed here
CASE_MODULES = ("timing_cases", "cli_cases", "stacks_cases", "guard_cases",
                "container_cases", "distro_cases", "children_cases",
                "selfcheck_cases", "refusal_cases", "fault_cases", "limits_cases",
                "top_cases", "serve_cases", "live_cases", "light_cases", "predict_cases")
# Case files run only when asked for by -k (not by make test): --light's
# full comparison with exact mode needs steady rates, meaningful only on a
# quiet machine.
OPT_IN_MODULES = ("light_compare_cases",)


def all_cases(opt_in=False):
    """Every case of every case file, in CASE_MODULES order; with opt_in,
    those of OPT_IN_MODULES after them."""
    import importlib
    cases = []
    for name in CASE_MODULES + (OPT_IN_MODULES if opt_in else ()):
        cases += importlib.import_module(name).CASES
    return cases


# ---------------------------------------------------------------- runner

def _on_alarm(signum, frame):
    raise CaseTimeout()


def run_attempt(case, interp, gilscope, tmp, verbose):
    os.makedirs(tmp, exist_ok=True)
    # a chroot target's scratch directory is inside its root (moved back
    # to tmp afterwards), so that the workload can write there
    work = interp.scratch_dir(tmp) if hasattr(interp, "scratch_dir") else tmp
    ctx = gs.Ctx(gilscope, work, interp, verbose)
    ctx.bg = None
    ctx.kernel = None
    error = None
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(case.budget)
    try:
        case.fn(ctx)
    except CaseTimeout:
        error = "case timed out after %ds" % case.budget
    except CaseError as e:
        error = str(e)
    except Exception as e:  # a bug in the test or a malformed report
        import traceback
        error = "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc())
    finally:
        signal.alarm(0)
        ctx.cleanup()
        if work != tmp:
            interp.release_scratch(work, tmp)
    if not ctx.skipped:
        if error:
            ctx.checks.append(("ERROR: " + error.splitlines()[0], False))
            ctx.details.append(error)
        if not ctx.checks:
            ctx.checks.append(("no checks ran", False))
        ctx.sanitizer_check()
        if ctx.bg is not None:
            ctx.checks.append(("bg=%.2fcpu" % ctx.bg, True))
    return ctx


def run_case(case, interp, gilscope, tmproot, verbose, retries):
    label = getattr(interp, "label", interp.minor) if case.per_interp else "-"
    slug = re.sub(r"[^A-Za-z0-9.]+", "_", "%s_%s" % (label, case.name))
    t0 = time.monotonic()
    attempts = []
    for i in range(1 + (retries if case.retries else 0)):
        tmp = os.path.join(tmproot, slug + ("" if i == 0 else "_try%d" % (i + 1)))
        if i > 0:
            # The usual cause of a timing miss is other work on the machine:
            # let it calm down first (instant on an idle CI machine).
            gs.wait_quiet()
        ctx = run_attempt(case, interp, gilscope, tmp, verbose)
        attempts.append((ctx, tmp))
        # a sanitizer report is a bug whatever the timing: never retried
        if ctx.skipped or not ctx.failed() or ctx.san_bad:
            break
    took = time.monotonic() - t0
    last = attempts[-1][0]
    if last.skipped:
        status, body = "SKIP", last.skipped
    else:
        status = "FAIL" if last.failed() else "PASS"
        parts = []
        for i, (ctx, _) in enumerate(attempts, 1):
            text = " ".join(t for t, _ in ctx.checks)
            parts.append(("[try %d] " % i if len(attempts) > 1 else "") + text)
        body = " ".join(parts)
    print("%s %s %s: %s  [%.1fs]" % (status, label, case.name, body, took),
          flush=True)
    if status == "FAIL" and any((c.bg or 0) >= 0.5 for c, _ in attempts):
        print("    note: other processes kept >=0.5 CPU busy during this case "
              "(bg=): its timing figures are unreliable on a busy machine",
              flush=True)
    for ctx, tmp in attempts:
        if ctx.failed() or verbose:
            for d in ctx.details:
                print("    " + d.replace("\n", "\n    "))
            print("    files: %s" % tmp, flush=True)
    return status, took


BURNER = """
import sys, time
duty = float(sys.argv[1])
while True:
    t = time.monotonic()
    while time.monotonic() - t < 0.01 * duty:
        pass
    time.sleep(0.01 * (1 - duty))
"""


def start_burners(load):
    """ceil(load) processes, each busy load/n of the time in 10 ms
    periods, each in its own session (its own CFS autogroup)."""
    if load <= 0:
        return []
    n = int(load) + (load > int(load))
    print("e2e: other work: %d burner(s), %.2f CPUs in all" % (n, load), flush=True)
    return [subprocess.Popen([sys.executable, "-c", BURNER, str(load / n)],
                             start_new_session=True) for _ in range(n)]


def build_embed_host():
    """make the embed host (tests/e2e/embed_host.c) if it is missing or
    stale; None or why it could not."""
    rel = os.path.relpath(debian.EMBED_HOST, gs.REPO)
    if os.path.isabs(rel) or rel.startswith(".."):
        return None         # $GILSCOPE_EMBED_HOST: used as it is
    r = subprocess.run(["make", "-s", "-C", gs.REPO, rel], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True)
    return None if r.returncode == 0 else "make %s: %s" % (rel, r.stdout.strip()[-300:])


def k_match(patterns, *names):
    return not patterns or any(p.lower() in n.lower() for p in patterns
                               for n in names)


def debian_summary(targets, done=None):
    """One line per Debian interpreter: its configurations (and, with
    done = {label: cases run}, how many cases each ran)."""
    lines = []
    for minor in sorted(set(t.minor for t in targets), key=lambda m: int(m.split(".")[1])):
        ts = [t for t in targets if t.minor == minor]
        parts = []
        for t in ts:
            what = "%s %s%s" % (t.placement, t.kind, "+dbg" if t.debug else "")
            if t.missing:
                what += " MISSING"
            elif done is not None:
                what += " (%d cases)" % done.get(t.label, 0)
            parts.append(what)
        lines.append("debian-%s %s [%s]: %s" % (
            minor, ts[0].full, ts[0].suite, ", ".join(parts)))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", default=[],
                    help="interpreter: 3.11, 3.11.7, debian, debian-3.14, or a "
                    "Debian configuration (debian-3.14-container-embed-nodbg, "
                    "or its prefix); repeatable")
    ap.add_argument("-k", dest="pattern", action="append", default=[],
                    help="run cases whose name (or Debian configuration) "
                    "contains this; repeatable")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--gilscope", default=os.environ.get(
        "GILSCOPE", os.path.join(gs.REPO, "gilscope")))
    ap.add_argument("--keep", action="store_true",
                    help="keep the scratch directory even if all pass")
    ap.add_argument("--check-workloads", action="store_true",
                    help="check the workloads and bpftrace script only")
    ap.add_argument("--retries", type=int, default=1,
                    help="extra attempts for timing-sensitive cases "
                    "(default 1)")
    ap.add_argument("--load", type=float, default=0, metavar="CPUS",
                    help="keep CPUS CPUs' worth of other work busy through "
                    "the run (burners in their own session, as another "
                    "user's jobs would be): the checks must hold under it")
    ap.add_argument("-v", "--verbose", action="store_true")
    opts = ap.parse_args()

    root = gs.pyenv_root()
    interps = gs.discover_interpreters(root)
    if opts.only:
        interps = [i for i in interps
                   if any(i.minor == o or i.full == o for o in opts.only)]
    py27 = gs.python27()
    cases = all_cases(opt_in=bool(opts.pattern))
    by_name = dict((c.name, c) for c in cases)
    known = set(c.name for c in all_cases(opt_in=True))
    # Debian's interpreters in their roots: each configuration runs the
    # cases named in debian.py (a missing root is a failure, not a skip)
    embed_err = None if opts.list else build_embed_host()
    targets = [t for t in debian.discover() if debian.selected(t, opts.only)]
    debian_runs = []        # (target, case)
    for t in targets:
        for name in t.case_names:
            if name not in known:
                raise SystemExit("debian.py names an unknown case %r" % name)
            if name in by_name and k_match(opts.pattern, name, t.label):
                debian_runs.append((t, by_name[name]))
    targets = [t for t in targets if any(x is t for x, _ in debian_runs)]
    if opts.pattern:
        cases = [c for c in cases if k_match(opts.pattern, c.name)]

    print("e2e: pyenv root %s; interpreters: %s%s" % (
        root, " ".join(i.full for i in interps) or "NONE",
        "; python2.7: %s" % (py27 or "none")), flush=True)
    for line in debian_summary(targets):
        print("e2e: %s" % line, flush=True)
    if embed_err:
        print("e2e: note: %s" % embed_err, flush=True)
    if gs.SAN:
        print("e2e: sanitized gilscope (GILSCOPE_SAN=1): a sanitizer report "
              "fails the case; ASAN_OPTIONS=%s UBSAN_OPTIONS=%s" % (
                  os.environ.get("ASAN_OPTIONS", ""),
                  os.environ.get("UBSAN_OPTIONS", "")), flush=True)
    if opts.list:
        for c in cases:
            print("  %-26s %s" % (c.name, "once" if not c.per_interp else
                                  "on %s" % " ".join(c.versions)
                                  if c.versions else "per interpreter"))
        sets = []
        for t in targets:
            names = [c.name for x, c in debian_runs if x is t]
            if names not in sets:
                sets.append(names)
            print("  %-34s %s, case set %s%s" % (
                t.label, t.describe(), "ABCDEFGH"[sets.index(names)],
                "; MISSING: " + t.missing if t.missing else ""))
        for i, names in enumerate(sets):
            print("  case set %s: %s" % ("ABCDEFGH"[i], "; ".join(names)))
        return 0
    if not interps and not targets:
        print("FAIL: no CPython 3.6-3.13 interpreter found under %s/versions"
              "%s, and no Debian configuration selected" % (
                  root, " matching --only %s" % ",".join(opts.only)
                  if opts.only else ""), flush=True)
        return 1
    if opts.check_workloads:
        import check_workloads
        rc = check_workloads.main(interps, py27) if interps else 0
        passes, fails = debian.check_workloads(targets)
        print("debian workloads: %d passed, %d failed" % (passes, fails))
        return 1 if rc or fails else 0
    if os.geteuid() != 0:
        print("FAIL: the end-to-end tests must run as root", flush=True)
        return 1
    if not (os.path.isfile(opts.gilscope) and os.access(opts.gilscope,
                                                        os.X_OK)):
        print("FAIL: gilscope binary not found at %s (build it with "
              "'make gilscope', or pass --gilscope PATH)" % opts.gilscope,
              flush=True)
        return 1
    if not cases and not debian_runs:
        print("FAIL: no case matches -k %s" % " ".join(opts.pattern))
        return 1

    gilscope = os.path.abspath(opts.gilscope)
    tmproot = tempfile.mkdtemp(prefix="gilscope-e2e-")
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    failed = []
    done = {}               # Debian label -> cases run
    debian_time = {}        # Debian label -> seconds
    t0 = time.monotonic()
    chroots = []
    burners = start_burners(opts.load)
    try:
        for interp in interps:
            for c in cases:
                if c.per_interp and c.runs_on(interp, interps):
                    s, _ = run_case(c, interp, gilscope, tmproot, opts.verbose,
                                    opts.retries)
                    counts[s] += 1
                    if s == "FAIL":
                        failed.append("%s %s" % (interp.minor, c.name))
        for c in cases:
            if c.runs_nowhere(interps):
                print("SKIP %s: needs CPython %s, not among the interpreters run"
                      % (c.name, " or ".join(c.versions)), flush=True)
                counts["SKIP"] += 1
        if interps:
            for c in cases:
                if not c.per_interp:
                    s, _ = run_case(c, interps[-1], gilscope, tmproot, opts.verbose,
                                    opts.retries)
                    counts[s] += 1
                    if s == "FAIL":
                        failed.append(c.name)
        chroots = debian.chroot_prepare(targets)
        for t in targets:
            if t.missing:
                print("FAIL %s: %s" % (t.label, t.missing), flush=True)
                counts["FAIL"] += 1
                failed.append("%s (missing)" % t.label)
                continue
            for x, c in debian_runs:
                if x is not t:
                    continue
                s, took = run_case(c, t, gilscope, tmproot, opts.verbose,
                                   opts.retries)
                counts[s] += 1
                done[t.label] = done.get(t.label, 0) + (s != "SKIP")
                debian_time[t.label] = debian_time.get(t.label, 0) + took
                if s == "FAIL":
                    failed.append("%s %s" % (t.label, c.name))
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        counts["FAIL"] += 1
        failed.append("(interrupted)")
    finally:
        debian.chroot_cleanup(chroots)
        for b in burners:
            b.kill()
            b.wait()
    print("e2e: covered %s in %.0fs" % (" ".join(i.full for i in interps) or "no pyenv interpreter",
                                       time.monotonic() - t0))
    if targets:
        print("e2e: covered Debian's: %d configurations, %d cases in %.0fs"
              % (sum(1 for t in targets if done.get(t.label)),
                 sum(done.values()), sum(debian_time.values())))
        for line in debian_summary(targets, done):
            print("  %s" % line)
    for f in failed:
        print("  failed: %s" % f)
    if failed or opts.keep:
        print("e2e: scratch files kept in %s" % tmproot)
    else:
        shutil.rmtree(tmproot, ignore_errors=True)
    print("e2e: %d passed, %d failed, %d skipped"
          % (counts["PASS"], counts["FAIL"], counts["SKIP"]), flush=True)
    return 1 if counts["FAIL"] else 0
