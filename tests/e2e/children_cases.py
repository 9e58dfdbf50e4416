"""End-to-end cases for process trees (`record --children`) and per-GIL
reports (`gils`, sub-interpreters with their own GIL).

Cases (CASES, run by harness.py):

  children pool METHOD          mp_pool.py METHOD 2 (fork, spawn,
                                forkserver), attached with --children:
                                each worker process is in `children`
                                (its parent right, GIL held >= 85%, about
                                a CPU, on-CPU seconds consistent with what
                                /proc says it used during the run), the
                                root only waits, `total` adds them up
                                (parallelism >= 1.7, two CPUs busy >=
                                60%), and every descendant alive at attach
                                is traced or listed as skipped
  children pool METHOD launch   the same, launched (workers created while
                                traced), workers spin 2.5 s then exit;
                                each worker's on-CPU seconds within 5%
                                (+-0.1 s) of the CPU time it measured
                                itself (time.process_time() at task end)
  children threads baseline     mp_pool.py threads 2 with --children: no
                                child, one core (parallelism <= 1.15), GIL
                                held >= 90% and contended >= 80%
  children prefork attach       prefork.py, workers replaced every 2.5 s,
                                attached with --children -d 4: the workers
                                running at attach and those forked after
                                it are all traced, the latter with the
                                on-CPU seconds /proc gives them
  children without flag         no children/total/children_skipped keys,
                                and the root's figures are its own
  subinterp own GIL             (3.12, 3.13) subinterp.py 2 sub-
                                interpreters + a 50% main thread: `gils`
                                has 1 main + 2 sub entries, each sub GIL
                                held >= 80%, the main GIL (= `gil`) held
                                as much as the main thread measured it
                                was busy, parallelism > 1.5

Every report seen (root and children) is checked against the schema
(gs.validate_report), and its `gils` against its `gil`. Ground truth
comes from the workloads: $PIDS_OUT (worker PIDs, their parents, fork
times) and subinterp.py's exit line. Bounds on parallelism and per-CPU
use are skipped (the rest of the case still runs) when os.cpu_count() < 2.
"""
import copy
import json
import os
import re
import signal
import time

import gs
from common import Case, GS_SLACK, check_verdict, report_ok
from gs import CaseError, get

D = 3            # trace window of the attach cases, seconds
LAUNCH_S = 2.5   # how long the launched pool's workers spin
RESPAWN_S = 2.5  # prefork: each worker's lifetime
PREFORK_D = 4    # prefork: trace window


def ncpus():
    return os.cpu_count() or 1


# ---------------------------------------------------------------- /proc

def _stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()


def ppid_of(pid):
    try:
        return int(_stat(pid)[1])
    except (OSError, IndexError, ValueError):
        return None


def comm_of(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"


def descendants(pid):
    """{pid: ppid} of pid's descendants now."""
    kids = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            pp = ppid_of(int(name))
            if pp is not None:
                kids.setdefault(pp, []).append(int(name))
    out, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        for k in kids.get(parent, []):
            out[k] = parent
            todo.append(k)
    return out


class TreeMeter(gs.LoadMeter):
    """LoadMeter for a process tree: the target's CPU is that of pid and
    its descendants, with the CPU of the descendants they reaped (so a
    worker that exits meanwhile is still counted). pid None (launch
    mode): the target's CPU comes back through RUSAGE_CHILDREN (gilscope
    reaps it, it reaps its children), except for processes orphaned on
    the way (a forkserver and its workers): other_cpus(unreaped=) takes
    their CPU seconds off."""

    def _proc(self):
        if self.pid is None:
            return 0.0
        tck = float(os.sysconf("SC_CLK_TCK"))
        total = 0.0
        for p in [self.pid] + list(descendants(self.pid)):
            try:
                v = _stat(p)
                total += sum(int(x) for x in v[11:15]) / tck
            except (OSError, IndexError, ValueError):
                pass
        return total

    def other_cpus(self, unreaped=0.0):
        dt = time.monotonic() - self.t0
        other = gs.LoadMeter.other_cpus(self)
        return max(0.0, other - unreaped / dt) if dt > 0 else other


# ---------------------------------------------------------------- checks

HEX_RE = re.compile(r"^0x[0-9a-fA-F]+$")
DIST_KEYS = ("count", "total_s", "mean_us", "p50_us", "p90_us", "p99_us",
             "max_us")


def check_gils(ctx, label, doc, n_sub=None, quiet=False):
    """The report's `gils` against the contract and its `gil`: one entry
    with main=true whose figures are gil's, distinct hex addresses, and
    n_sub entries with main=false when n_sub is given. Returns
    (main entry, [sub entries]) or (None, []). quiet: no line when fine."""
    bad = []
    gils = get(doc, "gils")
    if not isinstance(gils, list) or not gils:
        ctx.check("%sgils" % label, repr(gils)[:60], False,
                  "a non-empty list")
        return None, []
    addrs = set()
    for i, g in enumerate(gils):
        w = "gils[%d]" % i
        if not isinstance(g, dict):
            bad.append("%s is not an object" % w)
            continue
        a = g.get("address")
        if not (isinstance(a, str) and HEX_RE.match(a)):
            bad.append("%s.address=%r is not a 0x hex string" % (w, a))
        elif int(a, 16) in addrs:
            bad.append("%s.address=%s listed twice" % (w, a))
        else:
            addrs.add(int(a, 16))
        if not isinstance(g.get("main"), bool):
            bad.append("%s.main=%r is not a bool" % (w, g.get("main")))
        h = g.get("held_pct")
        if not gs._num(h) or not -1e-9 <= h <= 100 + 1e-6:
            bad.append("%s.held_pct=%r" % (w, h))
        for kind in ("hold", "wait"):
            d = g.get(kind)
            for k in DIST_KEYS:
                v = get(d, k)
                if not gs._num(v) or v < 0:
                    bad.append("%s.%s.%s=%r" % (w, kind, k, v))
        for k in ("forced", "voluntary"):
            v = get(g, "releases", k)
            if not gs._int(v) or v < 0:
                bad.append("%s.releases.%s=%r" % (w, k, v))
    mains = [g for g in gils if isinstance(g, dict) and g.get("main") is True]
    subs = [g for g in gils if isinstance(g, dict) and g.get("main") is False]
    if len(mains) != 1:
        bad.append("%d entries with main=true, want 1" % len(mains))
    main = mains[0] if len(mains) == 1 else None
    if main is not None:
        gil = get(doc, "gil", default={})
        pairs = [("held_pct", ("held_pct",), 0.001, 0.05)]
        for kind in ("hold", "wait"):
            pairs += [("%s.%s" % (kind, k), (kind, k), 0.001, 0.001)
                      for k in DIST_KEYS]
        pairs += [("releases.%s" % k, ("releases", k), 0, 0)
                  for k in ("forced", "voluntary")]
        for name, path, rel, abs_ in pairs:
            a, b = get(main, *path), get(gil, *path)
            if not (gs._num(a) and gs._num(b) and gs._close(a, b, rel, abs_)):
                bad.append("main GIL %s=%r but gil.%s=%r" % (name, a, name, b))
    if n_sub is not None and len(subs) != n_sub:
        bad.append("%d sub-interpreter GIL(s), want %d" % (len(subs), n_sub))
    if quiet and not bad:
        return main, subs
    ctx.check("%sgils" % label, "%d main+%d sub%s" % (
        len(mains), len(subs), ", %d problem(s)" % len(bad) if bad else ""),
        not bad, "1 main = gil" + ("" if n_sub is None else
                                   ", %d sub" % n_sub))
    if bad:
        ctx.detail("%sgils problems:\n  %s\n  gils=%s" % (
            label, "\n  ".join(bad), json.dumps(gils)[:1500]))
    return main, subs


def check_child_schema(ctx, child, interp):
    """A child's report against the per-process schema (validate_report;
    `version` and `tool` belong to the top level only) and `parent`."""
    c = copy.deepcopy(child)
    if isinstance(c, dict):
        c.setdefault("version", 1)
    pid = get(child, "target", "pid")
    # gilscope's self-check: required of the top-level report (report_ok),
    # checked in a child's when it has one
    bad = gs.validate_report(c, interp=interp, check="if-present")
    if not gs._int(get(child, "parent")):
        bad.append("parent=%r is not a pid" % get(child, "parent"))
    return ["child %s: %s" % (pid, b) for b in bad]


def check_tree(ctx, doc, interp):
    """Children, total and children_skipped against the contract and
    against each other. Returns ({pid: child}, total) (({}, {}) when the
    keys are missing)."""
    bad = []
    children = get(doc, "children")
    total = get(doc, "total")
    skipped = get(doc, "children_skipped")
    for key, v in (("children", children), ("total", total),
                   ("children_skipped", skipped)):
        if v is None:
            bad.append("no %s key" % key)
    if not isinstance(children, list):
        children = []
        bad.append("children is not a list")
    if not isinstance(skipped, list):
        skipped = []
        bad.append("children_skipped is not a list")
    if not isinstance(total, dict):
        total = {}
        bad.append("total is not an object")
    root = get(doc, "target", "pid")
    by_pid = {}
    for c in children:
        bad += check_child_schema(ctx, c, interp)
        pid = get(c, "target", "pid")
        if pid in by_pid or pid == root:
            bad.append("child pid %r listed twice (or is the root)" % pid)
        by_pid[pid] = c
        check_gils(ctx, "child %s " % pid, c, quiet=True)
    for i, s in enumerate(skipped):
        w = "children_skipped[%d]" % i
        if not gs._int(get(s, "pid")):
            bad.append("%s.pid=%r" % (w, get(s, "pid")))
        elif get(s, "pid") in by_pid:
            bad.append("%s.pid=%s is also in children" % (w, get(s, "pid")))
        for k in ("comm", "reason"):
            if not isinstance(get(s, k), str) or not get(s, k).strip():
                bad.append("%s.%s=%r" % (w, k, get(s, k)))
    # total: the sums of root + children
    procs = get(total, "processes")
    if procs != 1 + len(children):
        bad.append("total.processes=%r, want 1 + %d children"
                   % (procs, len(children)))
    win = get(total, "window_s")
    if not (gs._num(win) and gs._close(win, get(doc, "window_s"), 0.02, 0.01)):
        bad.append("total.window_s=%r, root window_s=%r"
                   % (win, get(doc, "window_s")))
    reports = [doc] + children
    for k in ("on_cpu_s", "with_gil_s", "without_gil_s"):
        v = get(total, k)
        want = sum(get(r, "cpu", k, default=0) or 0 for r in reports)
        if not (gs._num(v) and gs._close(v, want, 0.02, 0.01)):
            bad.append("total.%s=%r, sum over the %d reports=%.4f"
                       % (k, v, len(reports), want))
    hits = get(total, "probe_hits")
    want = sum(get(r, "cost", "probe_hits", default=0) or 0 for r in reports)
    if hits != want:
        bad.append("total.probe_hits=%r, sum over the %d reports=%d" % (hits, len(reports), want))
    on, par = get(total, "on_cpu_s"), get(total, "parallelism")
    if not gs._num(par):
        bad.append("total.parallelism=%r" % par)
    elif gs._num(on) and gs._num(win) and win > 0 and \
            not gs._close(par, on / win, 0.03, 0.01):
        bad.append("total.parallelism=%.3f != on_cpu_s/window_s=%.3f"
                   % (par, on / win))
    per = get(total, "per_cpu")
    if not isinstance(per, list) or not per:
        bad.append("total.per_cpu=%r" % (per,))
        per = []
    busy_sum = 0.0
    for i, c in enumerate(per):
        w = "total.per_cpu[%d]" % i
        vals = [get(c, k) for k in ("busy_pct", "with_gil_pct",
                                    "without_gil_pct")]
        if not gs._int(get(c, "cpu")) or not all(
                gs._num(v) and -1e-9 <= v <= 100 + 1e-6 for v in vals):
            bad.append("%s=%r" % (w, c))
            continue
        busy_sum += vals[0]
        if not gs._close(vals[0], vals[1] + vals[2], 0.02, 0.2):
            bad.append("%s.busy_pct=%.2f != with+without=%.2f"
                       % (w, vals[0], vals[1] + vals[2]))
    if gs._num(par) and per and not gs._close(busy_sum / 100.0, par, 0.05,
                                              0.03):
        bad.append("sum(total.per_cpu.busy_pct)=%.1f%% but parallelism=%.3f"
                   % (busy_sum, par))
    for k in ("kind", "text"):
        v = get(total, "verdict", k)
        if not isinstance(v, str) or not v.strip():
            bad.append("total.verdict.%s=%r" % (k, v))
    ctx.check("tree", "%d children, %d skipped%s" % (
        len(children), len(skipped),
        ", %d problem(s)" % len(bad) if bad else ""), not bad,
        "schema, total = sums")
    if bad:
        ctx.detail("children/total problems:\n  " + "\n  ".join(bad[:30]))
    return by_pid, total


def busiest_cpus(total, n):
    per = get(total, "per_cpu", default=[]) or []
    return sorted((get(c, "busy_pct", default=0) or 0 for c in per),
                  reverse=True)[:n]


def check_total_cpu(ctx, total, min_par, min_busy=60):
    """total.parallelism >= min_par and the two busiest CPUs >= min_busy%
    (bounds skipped on a 1-CPU machine)."""
    par = get(total, "parallelism")
    top = busiest_cpus(total, 2)
    if ncpus() < 2:
        ctx.checks.append(("total_par=%s (1 CPU: bound skipped)" % par, True))
        return
    ctx.check("total_par", "%.2f" % par if gs._num(par) else par,
              gs._num(par) and par >= min_par, ">=%g" % min_par, load=True)
    ctx.check("busy_cpus", "/".join("%.0f%%" % b for b in top),
              len(top) == 2 and min(top) >= min_busy,
              "2 CPUs >=%d%%" % min_busy, load=True)


def proc_cpu(pid):
    """CPU seconds pid has used (utime + stime), or None once it is gone."""
    try:
        v = _stat(pid)
        return (int(v[11]) + int(v[12])) / float(os.sysconf("SC_CLK_TCK"))
    except (OSError, IndexError, ValueError):
        return None


def cpu_used(cpu0, cpu1, elapsed):
    """{pid: (CPU seconds used, elapsed)} from two /proc samples taken
    `elapsed` s apart (around a gilscope run)."""
    return dict((p, (cpu1[p] - c0, elapsed)) for p, c0 in cpu0.items()
                if c0 is not None and cpu1.get(p) is not None)


def attach_bounds(used, window):
    """On-CPU seconds gilscope may report, in a window of `window` s, for
    a process with one busy thread that used `d` CPU seconds in the
    `elapsed` s around that window: at most all of it, at least what is
    left once it has had one CPU for all of the time outside the window
    (slack: 0.05 s for /proc's clock ticks, 1% for clocks, and 3% of the
    window for gilscope's own work preempting the worker: on 2 CPUs with 2
    busy workers its start-up and once-a-second harvest run on one of
    their CPUs)."""
    d, elapsed = used
    return (d - max(0.0, elapsed - window) - 0.05 - 0.01 * d - 0.03 * window, d + 0.05,
            "/proc %.2fs in %.2fs" % (d, elapsed))


def check_workers(ctx, by_pid, workers, parents, cpu_truth=None,
                  used=None):
    """Each worker PID is a child with the right parent, its GIL held
    >= 85% of its window and about a CPU's worth of work; with cpu_truth
    ({pid: (lo, hi, what)}), its on-CPU seconds within [lo, hi], whatever
    the load of the machine; or used ({pid: (CPU s, elapsed s)} from
    /proc around the run: see cpu_used, attach_bounds)."""
    for pid, ppid in zip(workers, parents):
        c = by_pid.get(pid)
        if c is None:
            ctx.check("worker %d" % pid, "not in children", False, "traced")
            continue
        held = get(c, "gil", "held_pct")
        par = get(c, "cpu", "parallelism")
        parent = get(c, "parent")
        ctx.check("w%d.parent" % pid, parent, parent == ppid, "==%d" % ppid)
        ctx.check("w%d.held" % pid, "%.1f%%" % held if gs._num(held) else held,
                  gs._num(held) and held >= 85, ">=85", load=True)
        if ncpus() >= 2:
            ctx.check("w%d.par" % pid, "%.2f" % par if gs._num(par) else par,
                      gs._num(par) and par >= 0.8, ">=0.8", load=True)
        bounds = (cpu_truth or {}).get(pid)
        if used and pid in used and gs._num(get(c, "window_s")):
            bounds = attach_bounds(used[pid], get(c, "window_s"))
        if bounds:
            lo, hi, what = bounds
            on = get(c, "cpu", "on_cpu_s")
            ctx.check("w%d.on_cpu" % pid, "%.2fs" % on if gs._num(on) else on,
                      gs._num(on) and lo <= on <= hi,
                      "%.2f-%.2f: %s" % (max(lo, 0), hi, what))


def others(ctx, by_pid, workers):
    """Children that are not workers (forkserver, resource_tracker...):
    tolerated, shown."""
    rest = ["%s:%s(%.2fs)" % (pid, get(c, "target", "comm"),
                              get(c, "cpu", "on_cpu_s", default=0) or 0)
            for pid, c in sorted(by_pid.items()) if pid not in workers]
    if rest:
        ctx.checks.append(("others=" + ",".join(rest), True))


def skipped_line(ctx, doc):
    sk = get(doc, "children_skipped", default=[]) or []
    if sk:
        ctx.checks.append(("skipped=" + ",".join(
            "%s:%s(%s)" % (get(s, "pid"), get(s, "comm"), get(s, "reason"))
            for s in sk)[:200], True))


def read_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise CaseError("%s: cannot read %s: %s" % (what, path, e))


# ---------------------------------------------------------------- cases

def record_children(ctx, pid, d, extra=(), watch=()):
    """gilscope record --children -p PID -d D --json F. Returns the run
    and the CPU the `watch` processes used meanwhile (see cpu_used)."""
    jp = ctx.path("report.json")
    meter = TreeMeter(pid)
    cpu0 = dict((p, proc_cpu(p)) for p in watch)
    t0 = time.monotonic()
    run = ctx.run_gilscope(["record", "--children", "-p", pid, "-d", d,
                            "--json", jp] + list(extra),
                           timeout=d + GS_SLACK, json_path=jp, watch=pid)
    cpu1 = dict((p, proc_cpu(p)) for p in watch)
    elapsed = time.monotonic() - t0
    ctx.bg = meter.other_cpus()
    return run, cpu_used(cpu0, cpu1, elapsed)


def case_pool(ctx, method):
    pids_out = ctx.path("pids.json")
    w = ctx.workload("mp_pool.py", method, 2, 0, env={"PIDS_OUT": pids_out},
                     timeout=60)
    info = read_json(pids_out, "mp_pool.py")
    at_attach = descendants(w.pid)
    run, used = record_children(ctx, w.pid, D, watch=info["workers"])
    doc = report_ok(ctx, run, pid=w.pid, launched=False)
    if doc is None:
        return
    check_gils(ctx, "", doc, n_sub=0)
    by_pid, total = check_tree(ctx, doc, ctx.interp)
    check_workers(ctx, by_pid, info["workers"], info["worker_parents"],
                  used=used)
    others(ctx, by_pid, info["workers"])
    # the root only waits for results
    rpar = get(doc, "cpu", "parallelism")
    ctx.check("root_par", "%.2f" % rpar, rpar <= 0.3, "<=0.3 (waits)")
    procs = get(total, "processes")
    ctx.check("processes", procs, gs._int(procs) and procs >= 3, ">=3")
    check_total_cpu(ctx, total, 1.7)
    # everything that ran under the root at attach is accounted for
    seen = set(by_pid) | set(get(s, "pid") for s in
                             get(doc, "children_skipped", default=[]) or [])
    missing = ["%d:%s" % (p, comm_of(p)) for p in sorted(at_attach)
               if p not in seen and gs.alive(p)]
    ctx.check("unaccounted", missing or "none", not missing,
              "every descendant traced or skipped")
    skipped_line(ctx, doc)


def cpu_at(log, t):
    """A worker's CPU seconds at monotonic instant t, from its log of
    [clock, CPU s] (mp_pool.py); its first entry when t precedes it (or
    is unknown), so that what is left is at most what it used after t."""
    if not log:
        return 0.0
    if t is None or t <= log[0][0]:
        return log[0][1]
    for (t0, c0), (t1, c1) in zip(log, log[1:]):
        if t0 <= t <= t1:
            return c0 + (c1 - c0) * ((t - t0) / (t1 - t0) if t1 > t0 else 0.0)
    return log[-1][1]


def case_pool_launch(ctx, method):
    pids_out = ctx.path("pids.json")
    jp = ctx.path("report.json")
    meter = TreeMeter(None)
    run = ctx.run_gilscope(
        ["record", "--children", "--json", jp, "--", ctx.interp.path,
         os.path.join(gs.WORKLOADS, "mp_pool.py"), method, 2, LAUNCH_S],
        timeout=LAUNCH_S + GS_SLACK, json_path=jp, env={"PIDS_OUT": pids_out})
    doc = report_ok(ctx, run, launched=True)
    root = get(doc, "target", "pid")
    ctx.bg = meter.other_cpus(sum(
        get(c, "cpu", "on_cpu_s", default=0) or 0
        for c in get(doc, "children", default=[]) or []
        if get(c, "parent") != root))
    if doc is None:
        return
    info = read_json(pids_out, "mp_pool.py")
    ctx.check("root", root, root == info["parent"],
              "mp_pool.py's pid %d" % info["parent"])
    code = get(doc, "target", "exit_code")
    ctx.check("exit_code", code, code == 0, "==0")
    check_gils(ctx, "", doc, n_sub=0)
    by_pid, total = check_tree(ctx, doc, ctx.interp)
    # the workers' own CPU time when their task returned: each is traced
    # from ~10-100 ms after its fork (or exec) to its exit, a few ms after
    # the task's end: the lower bound allows for that latency.
    # The lower bound: what the worker used from the instant its own
    # window opened (its report's window_start_mono_s, on the worker's
    # CPU log), so that a late attach on a busy machine is not a miss.
    truth = {}
    logs = info.get("worker_cpu_log") or [None] * len(info["workers"])
    for pid, c, log in zip(info["workers"], info.get("worker_cpu_s") or [], logs):
        if gs._num(c):
            inside = c - cpu_at(log, get(by_pid.get(pid) or {}, "window_start_mono_s"))
            truth[pid] = (inside * 0.95 - 0.05, c * 1.05 + 0.1,
                          "the worker used %.2fs, %.2fs of it in its window" % (c, inside))
    ctx.check("worker_cpu_s", len(truth), len(truth) == 2,
              "reported by mp_pool.py")
    check_workers(ctx, by_pid, info["workers"], info["worker_parents"],
                  truth)
    others(ctx, by_pid, info["workers"])
    procs = get(total, "processes")
    ctx.check("processes", procs, gs._int(procs) and procs >= 3, ">=3")
    # the window also has the interpreter's start and the pool's set-up
    # and shut-down around the workers' 2.5 s
    check_total_cpu(ctx, total, 1.5, min_busy=55)
    skipped_line(ctx, doc)


def case_threads_baseline(ctx):
    w = ctx.workload("mp_pool.py", "threads", 2, 0)
    run, _ = record_children(ctx, w.pid, D)
    doc = report_ok(ctx, run, pid=w.pid, launched=False)
    if doc is None:
        return
    check_gils(ctx, "", doc, n_sub=0)
    by_pid, total = check_tree(ctx, doc, ctx.interp)
    ctx.check("children", len(by_pid), not by_pid, "none")
    par = get(total, "parallelism")
    held = get(doc, "gil", "held_pct")
    cont = get(doc, "gil", "contended_pct")
    ctx.check("total_par", "%.2f" % par if gs._num(par) else par,
              gs._num(par) and par <= 1.15, "<=1.15 (one core)")
    ctx.check("held", "%.1f%%" % held, held >= 90, ">=90")
    ctx.check("contended", "%.1f%%" % cont, cont >= 80, ">=80", load=True)
    check_verdict(ctx, doc, ("gil-bound",))


def case_prefork_attach(ctx):
    pids_out = ctx.path("pids.txt")
    w = ctx.workload("prefork.py", 2, 0, RESPAWN_S,
                     env={"PIDS_OUT": pids_out})
    at_attach = descendants(w.pid)
    run, _ = record_children(ctx, w.pid, PREFORK_D)
    t_end = time.monotonic()
    forks = {}
    with open(pids_out) as f:
        for line in f:
            if line.strip():
                pid, t = line.split()
                forks[int(pid)] = float(t)
    # the CPU each live worker used since its fork (CLOCK_MONOTONIC both)
    t_cpu = time.monotonic()
    used = {}
    for p, t in forks.items():
        c = proc_cpu(p)
        if c is not None and t < t_end:
            used[p] = (c, t_cpu - t)
    doc = report_ok(ctx, run, pid=w.pid, launched=False)
    if doc is None:
        return
    check_gils(ctx, "", doc, n_sub=0)
    by_pid, total = check_tree(ctx, doc, ctx.interp)
    # The report gives its window in CLOCK_MONOTONIC (gilscope exits
    # later: its uprobes detach at ~0.1 s each). A worker forked inside it
    # was forked after the attach. Leave it 1 s to run.
    w0, w1 = get(doc, "window_start_mono_s"), get(doc, "window_end_mono_s")
    ctx.check("window_mono", "%.2f..%.2f" % (w0, w1),
              w0 < w1 <= t_end and abs((w1 - w0) - get(doc, "window_s")) < 0.01,
              "ends before gilscope does, spans window_s")
    after = sorted(p for p, t in forks.items() if w0 < t < w1 - 1.0)
    # Running when the window opened, and for 0.5 s more (each lives
    # RESPAWN_S): the workers found at attach. On a busy machine the
    # attach can take longer than a worker's life: the window then opens
    # on their replacements, which count.
    early = sorted(p for p, t in forks.items() if t < w0 and t + RESPAWN_S > w0 + 0.5)
    ctx.check("setup", "%d at attach (%d before gilscope started), %d forked after" % (
              len(early), len(at_attach), len(after)),
              len(early) == 2 and after, "2, >=1")
    for label, pids in (("at_attach", early), ("after_attach", after)):
        traced = [p for p in pids if p in by_pid]
        ctx.check(label, "%d/%d traced" % (len(traced), len(pids)),
                  pids and len(traced) == len(pids), "all")
    check_workers(ctx, by_pid, early + after, [w.pid] * len(early + after),
                  used=dict((p, u) for p, u in used.items() if p in after))
    stray = sorted(p for p in by_pid if p not in forks)
    ctx.check("stray", stray or "none", not stray, "only forked workers")
    rpar = get(doc, "cpu", "parallelism")
    ctx.check("root_par", "%.2f" % rpar, rpar <= 0.3, "<=0.3 (waits)")
    check_total_cpu(ctx, total, 1.7)
    skipped_line(ctx, doc)


def case_without_flag(ctx):
    w = ctx.workload("mp_pool.py", "fork", 2, 0)
    jp = ctx.path("report.json")
    run = ctx.run_gilscope(["record", "-p", w.pid, "-d", 1, "--json", jp],
                           timeout=1 + GS_SLACK, json_path=jp)
    doc = report_ok(ctx, run, pid=w.pid, launched=False)
    if doc is None:
        return
    keys = [k for k in ("children", "total", "children_skipped") if k in doc]
    ctx.check("tree_keys", keys or "none", not keys, "absent")
    check_gils(ctx, "", doc, n_sub=0)
    rpar = get(doc, "cpu", "parallelism")
    ctx.check("root_par", "%.2f" % rpar, rpar <= 0.3,
              "<=0.3 (the workers' CPU is not the root's)")


def case_subinterp(ctx):
    w = ctx.workload("subinterp.py", 2, 0, 50)
    jp = ctx.path("report.json")
    run = ctx.run_gilscope(["record", "-p", w.pid, "-d", D, "--json", jp],
                           timeout=D + GS_SLACK, json_path=jp, watch=w.pid)
    w.signal(signal.SIGTERM)
    rc = w.wait(timeout=15)
    out = w.p.stdout.read().decode("utf-8", "replace").strip().splitlines()
    try:
        truth = json.loads(out[-1])
    except (ValueError, IndexError):
        raise CaseError("subinterp.py (rc=%s) printed no result line: %r; "
                        "stderr:\n%s" % (rc, out, gs.tail(w.stderr())))
    ctx.check("truth", "%s subinterpreters own_gil=%s" % (
        truth.get("subinterpreters"), truth.get("own_gil")),
        rc == 0 and truth.get("subinterpreters") == 2 and
        False not in truth.get("own_gil", [False]), "2, own GIL")
    doc = report_ok(ctx, run, pid=w.pid, launched=False)
    if doc is None:
        return
    main, subs = check_gils(ctx, "", doc, n_sub=2)
    for i, s in enumerate(subs):
        held = get(s, "held_pct")
        ctx.check("sub%d.held" % i, "%.1f%%" % held if gs._num(held) else held,
                  gs._num(held) and held >= 80, ">=80")
        n = get(s, "hold", "count")
        ctx.check("sub%d.holds" % i, n, gs._int(n) and n > 0, ">0")
    busy = truth["main_busy_pct"]
    held = get(doc, "gil", "held_pct")
    ctx.check("main_held", "%.1f%%" % held,
              abs(held - busy) <= 8 and held < 75,
              "main thread busy %.1f%%±8, <75" % busy)
    par = get(doc, "cpu", "parallelism")
    if ncpus() >= 2:
        ctx.check("par", "%.2f" % par, par > 1.5, ">1.5", load=True)
    else:
        ctx.checks.append(("par=%.2f (1 CPU: bound skipped)" % par, True))
    ctx.checks.append(("verdict=%s" % get(doc, "verdict", "kind"), True))


# ---------------------------------------------------------------- registry

CASES = []
for _m in ("fork", "spawn", "forkserver"):
    CASES.append(Case("children pool %s" % _m,
                      lambda c, m=_m: case_pool(c, m), budget=60,
                      retries=1))
for _m in ("fork", "spawn", "forkserver"):
    CASES.append(Case("children pool %s launch" % _m,
                      lambda c, m=_m: case_pool_launch(c, m), budget=60,
                      retries=1))
CASES += [
    Case("children threads baseline", case_threads_baseline, budget=60,
         retries=1),
    Case("children prefork attach", case_prefork_attach, budget=60,
         retries=1),
    Case("children without flag", case_without_flag, per_interp=False,
         budget=60),
    Case("subinterp own GIL", case_subinterp, versions=("3.12", "3.13"), strict=True,
         budget=60, retries=1),
]
