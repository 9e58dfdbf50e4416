"""End-to-end cases for the host-wide driver behind `record -a`, `top -a`
and `serve -a` (run once, on the newest pyenv interpreter):

- record -a: every CPython process of the window in one report (the
  --children shape, total.host_wide), each with its own figures and
  self-check; a Python 2 process listed as not traced, with its reason;
- top -a: a process in a container (its own mount and PID namespaces)
  labelled with its container, one on the host not; Python 2 skipped with
  the reason;
- serve -a: 1,000 short-lived Python processes started and ended while it
  serves: gilscope's RSS stays <= 64 MiB, each is attached and counted,
  and none is left in /metrics after it exits.
Other CPython processes of the machine may be traced too: every check is
about the processes the case started.
"""
import glob
import os
import re
import subprocess
import time
import urllib.request

import gs
from common import Case, report_ok
from gs import CaseError, get

PY2 = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/2.7*/bin/python2.7")))


def python2(ctx):
    """A sleeping Python 2 process, or None when there is no 2.7 here."""
    if not PY2:
        return None
    return ctx.spawn([PY2[0], "-c", "import time; time.sleep(60)"], stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


def plain_lines(text):
    """top's key=value lines as dicts (values may be quoted)."""
    out = []
    for line in text.splitlines():
        d = {}
        for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line):
            v = m.group(2)
            d[m.group(1)] = v[1:-1] if v.startswith('"') else v
        if "pid" in d:
            out.append(d)
    return out


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def case_record_all(ctx):
    cpu = ctx.workload("cpu_threads.py", 2, 0.005, 0)
    idle = ctx.workload("sleepers.py", 3, 50, 0)
    old = python2(ctx)
    time.sleep(0.5)
    jp = ctx.path("all.json")
    run = ctx.run_gilscope(["record", "-a", "-d", 3, "--json", jp], timeout=60, json_path=jp, watch=cpu.pid)
    ctx.check("rc", run.rc, run.rc == 0, "0 (every process's self-check agrees)")
    doc = run.doc
    if not isinstance(doc, dict):
        raise CaseError("no JSON report: %s" % gs.tail(run.stderr))
    procs = [doc] + list(doc.get("children", []))
    by_pid = {gs.get(p, "target", "pid"): p for p in procs}
    total = doc.get("total", {})
    ctx.check("host_wide", total.get("host_wide"), total.get("host_wide") is True, "true")
    ctx.check("processes", total.get("processes"), total.get("processes") == len(procs), "the reports in it")
    ctx.check("both_traced", sorted(p for p in (cpu.pid, idle.pid) if p in by_pid),
              cpu.pid in by_pid and idle.pid in by_pid, "[%d, %d]" % (cpu.pid, idle.pid))
    if cpu.pid in by_pid:
        held = gs.get(by_pid[cpu.pid], "gil", "held_pct")
        ctx.check("cpu_held", held, held is not None and held >= 90, ">=90% (2 CPU-bound threads)", load=True)
        sc = gs.get(by_pid[cpu.pid], "check", "ok")
        ctx.check("cpu_self_check", sc, sc is True, "true")
    if idle.pid in by_pid:
        held = gs.get(by_pid[idle.pid], "gil", "held_pct")
        ctx.check("idle_held", held, held is not None and held <= 5, "<=5% (threads that sleep)")
    if old is not None:
        skipped = {s.get("pid"): s for s in doc.get("children_skipped", [])}
        why = skipped.get(old.pid, {}).get("reason", "")
        ctx.check("python2_skipped", why or "not listed", "Python 2" in why, "listed: runs Python 2")
    else:
        ctx.detail("no pyenv 2.7 here: the Python 2 refusal not checked")


def case_top_containers(ctx):
    import container_cases
    if not container_cases.can_contain(ctx):
        return
    host = ctx.workload("sleepers.py", 1, 100, 0)
    old = python2(ctx)
    c = container_cases.Container(ctx, hostile=False)
    try:
        c.start()
        run = ctx.run_gilscope(["top", "-a", "-i", 0.5, "-d", 3], timeout=60)
        ctx.check("rc", run.rc, run.rc == 0, "0")
        lines = plain_lines(run.stdout)
        mine = [l for l in lines if l.get("pid") == str(c.host_pid) and "held_pct" in l]
        ctx.check("container_traced", len(mine), len(mine) >= 2, ">=2 intervals of the container's process")
        labels = sorted({l.get("container", "") for l in mine})
        ctx.check("container_label", labels, mine and all(labels), "a non-empty container label")
        hl = [l for l in lines if l.get("pid") == str(host.pid) and "held_pct" in l]
        ctx.check("host_label", sorted({l.get("container", "") for l in hl}),
                  hl and all(l.get("container", "") == "" for l in hl), "'' (on the host)")
        held = [float(l["held_pct"]) for l in mine[1:]]
        ctx.check("container_held", held, held and min(held) >= 80, ">=80 (2 CPU-bound threads)", load=True)
        if old is not None:
            sk = [l for l in lines if l.get("pid") == str(old.pid) and "skipped" in l]
            ctx.check("python2_skipped", sk[0]["skipped"] if sk else "no line",
                      sk and "Python 2" in sk[0]["skipped"], "a skipped line: runs Python 2")
    finally:
        c.stop()


EXEC_STAGE = """import os, sys, threading, time
def spin():
    while True:
        pass
threading.Thread(target=spin, daemon=True).start()
time.sleep(float(sys.argv[1]))
if len(sys.argv) > 2:
    os.execv(sys.argv[2], [sys.argv[2], "-c", sys.argv[3], "30"])
"""


def case_top_exec(ctx):
    """A traced Python process that execs another Python: top -a ends the
    first program's window and traces the new one (its version, its GIL),
    not the old one's addresses."""
    others = [i for i in gs.discover_interpreters(gs.pyenv_root(), log=lambda *a: None)
              if i.minor != ctx.interp.minor]
    new = others[-1] if others else None
    if new is None:
        ctx.skip("one pyenv interpreter only: nothing to exec into")
        return
    p = ctx.spawn([ctx.interp.path, "-c", EXEC_STAGE, "2", new.path, EXEC_STAGE],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run = ctx.run_gilscope(["top", "-a", "-i", 0.5, "-d", 5], timeout=60)
    ctx.check("rc", run.rc, run.rc == 0, "0")
    mine = [l for l in plain_lines(run.stdout) if l.get("pid") == str(p.pid) and "held_pct" in l]
    seq = []
    for l in mine:
        if not seq or seq[-1] != l.get("python"):
            seq.append(l.get("python"))
    ctx.check("versions", seq, seq == [ctx.interp.full, new.full],
              "[%s, %s] (the first program, then the one it exec'd)" % (ctx.interp.full, new.full))
    after = [float(l["held_pct"]) for l in mine if l.get("python") == new.full][1:]
    ctx.check("held_after_exec", after, after and min(after) >= 80,
              ">=80 (a CPU-bound thread, traced at its own GIL)", load=True)


def case_record_exec(ctx):
    """record -p of a process that execs another Python: the window ends
    at the exec (one line says so), the report covers the first program
    and its self-check holds (nothing read from the new program's memory
    at the old one's addresses)."""
    others = [i for i in gs.discover_interpreters(gs.pyenv_root(), log=lambda *a: None)
              if i.minor != ctx.interp.minor]
    if not others:
        ctx.skip("one pyenv interpreter only: nothing to exec into")
        return
    p = ctx.spawn([ctx.interp.path, "-c", EXEC_STAGE, "2.5", others[-1].path, EXEC_STAGE],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    jp = ctx.path("report.json")
    t0 = time.monotonic()
    run = ctx.run_gilscope(["record", "-p", p.pid, "-d", 8, "--json", jp], timeout=30, json_path=jp)
    took = time.monotonic() - t0
    doc = report_ok(ctx, run, pid=p.pid, launched=False)
    said = [l for l in run.stderr.splitlines() if "exec'd another program" in l]
    ctx.check("stderr_line", said[0] if said else None, len(said) == 1, "one line: exec'd another program")
    ctx.check("ended_at_exec", "%.1f s" % took, took < 6, "< 6 s (the exec ~2 s in, not -d 8)")
    if doc is not None:
        py = get(doc, "target", "python_version") or ""
        ctx.check("python", py, py.startswith(ctx.interp.minor), "%s (the program traced)" % ctx.interp.minor)
        held = get(doc, "gil", "held_pct") or 0
        ctx.check("held", "%.1f%%" % held, held >= 80, ">=80 (a CPU-bound thread)", load=True)


def churn_why(ctx, serve, pids):
    """The details of the churn: of the test's processes, how many serve
    attached (its -v note), and why each other one was not (its last
    refusal's reason, or never offered)."""
    err = gs.read_file(serve.gs_files[1]) or ""
    seen = {int(x) for x in re.findall(r"PID (\d+): inspected in", err)}
    why = {}
    for m in re.finditer(r"PID (\d+): not traced \((.*?), after [0-9.]+ ms\): (.*)", err):
        why[int(m.group(1))] = "%s: %s" % (m.group(2), re.sub(r"\d+", "N", m.group(3))[:120])
    missed = sorted(pids - seen)
    ctx.detail("of %d processes: %d attached, %d not" % (len(pids), len(pids & seen), len(missed)))
    reasons = {}
    for pid in missed:
        r = why.get(pid, "never offered (no /proc scan saw it as Python)")
        reasons[r] = reasons.get(r, 0) + 1
    for r, k in sorted(reasons.items(), key=lambda x: -x[1])[:8]:
        ctx.detail("  %d not attached: %s" % (k, r))


def case_serve_churn(ctx):
    n, at_once, life = 1000, 40, 1.5
    port = container_free_port()
    # -v: each attach and each refusal with its reason, for the details
    serve = ctx.start_gilscope(["serve", "-a", "-v", "--listen", "127.0.0.1:%d" % port])
    url = "http://127.0.0.1:%d/metrics" % port

    def scrape():
        if serve.poll() is not None:
            raise CaseError("gilscope serve exited (rc=%s): %s"
                            % (serve.returncode, gs.tail(gs.read_file(serve.gs_files[1]))))
        try:
            return urllib.request.urlopen(url, timeout=10).read().decode()
        except OSError:
            return ""

    def counter(body, name):
        m = re.search(r"^%s (\S+)$" % name, body, re.M)
        return float(m.group(1)) if m else None

    deadline = time.monotonic() + 20
    while not scrape() and time.monotonic() < deadline:
        time.sleep(0.2)
    base = scrape()
    a0 = counter(base, "gilscope_processes_attached_total") or 0
    x0 = counter(base, "gilscope_processes_exited_total") or 0
    code = "import time; time.sleep(%g)" % life
    started, running, pids, peak = 0, [], set(), 0
    t0 = time.monotonic()
    while started < n or running:
        while started < n and len(running) < at_once:
            p = subprocess.Popen([ctx.interp.path, "-c", code], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            running.append(p)
            pids.add(p.pid)
            started += 1
        time.sleep(0.1)
        running = [p for p in running if p.poll() is None]
        peak = max(peak, rss_kb(serve.pid))
        if time.monotonic() - t0 > 600:
            raise CaseError("1,000 processes did not run within 600 s")
    took = time.monotonic() - t0
    time.sleep(2.5)   # a frame after the last exit
    body = scrape()
    left = sorted(pids & {int(x) for x in re.findall(r'pid="(\d+)"', body)})
    a1 = counter(body, "gilscope_processes_attached_total") or 0
    e1 = counter(body, "gilscope_processes_exited_total") or 0
    traced = counter(body, "gilscope_processes_traced") or 0
    peak = max(peak, rss_kb(serve.pid))
    ctx.detail("%d processes (%d at once, %.1f s each) in %.0f s" % (n, at_once, life, took))
    if gs.SAN:
        ctx.detail("rss_peak=%.1f MiB: not checked under the sanitizers (ASan's shadow memory and "
                   "quarantine)" % (peak / 1024))
    else:
        ctx.check("rss_peak", "%.1f MiB" % (peak / 1024), 0 < peak <= 64 * 1024, "<=64 MiB")
    # serve traces with --light by default: no uprobe, so nothing waits
    # for the kernel to unregister one (with --exact, ~0.1 s a probe,
    # serialized per probe site: at ~25 new processes a second, each living
    # 1.5 s, about a quarter are caught). Every one is attached.
    ctx.check("attached", int(a1 - a0), a1 - a0 >= 0.9 * n, ">=%d of %d (each lives %.1f s)" % (0.9 * n, n, life))
    churn_why(ctx, serve, pids)
    # each attached one has ended, or is another Python process of the
    # host still traced (the count also holds processes not the test's)
    ctx.check("exited_counted", "%d exited + %d traced" % (e1 - x0, traced), e1 - x0 + traced >= a1 - a0,
              ">= %d attached (every one of them ended)" % (a1 - a0))
    ctx.check("none_left", left[:5], not left, "none of them in /metrics")
    serve.send_signal(2)
    ctx.finish_gilscope(serve, 30)
    ctx.check("serve_rc", serve.returncode, serve.returncode == 0, "0 on SIGINT")


def case_live_cli(ctx):
    """Bad input to top, serve and record -a: one line on stderr and the
    documented exit status, before anything is traced."""
    import socket
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    not_py = ctx.spawn(["sleep", "30"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cases = [
        (["top"], 1, "nothing to trace"),
        (["top", "-a", "-p", "1"], 1, "not both"),
        (["top", "-a", "-i", "0.01"], 1, "invalid interval"),
        (["top", "-a", "--listen", "9000"], 1, "option of gilscope serve"),
        (["top", "-p", not_py.pid, "-d", 1], 1, "not a CPython process"),
        (["serve", "-a", "--listen", "nonsense"], 1, "the port must be a number"),
        (["serve", "-a", "--listen", ":9000"], 1, "no address"),
        (["serve", "-a", "--listen", "127.0.0.1:%d" % busy.getsockname()[1]], 2, "Address already in use"),
        (["record", "-a", "--folded", ctx.path("x.folded")], 1, "does not take stack or trace outputs"),
        (["record", "-a", "-p", "1"], 1, "one of them"),
        (["bogus"], 1, "the commands are record, top and serve"),
    ]
    try:
        for args, rc, words in cases:
            run = ctx.run_gilscope(args, timeout=30)
            err = run.stderr.strip()
            ctx.check(" ".join(str(a) for a in args), "rc=%d %r" % (run.rc, err[:90]),
                      run.rc == rc and words in err and len(err.splitlines()) == 1,
                      "rc=%d, one line: ...%s..." % (rc, words))
        for cmd in ("top", "serve"):
            run = ctx.run_gilscope([cmd, "--help"], timeout=10)
            ctx.check("%s --help" % cmd, "rc=%d" % run.rc,
                      run.rc == 0 and run.stdout.startswith("Usage: gilscope %s" % cmd), "rc=0, its usage")
    finally:
        busy.close()


def container_free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


CASES = [
    Case("live: command line", case_live_cli, per_interp=False),
    Case("live: record -a", case_record_all, per_interp=False, retries=1),
    Case("live: top -a, containers and refusals", case_top_containers, per_interp=False, retries=1),
    Case("live: top -a, a traced process that execs", case_top_exec, per_interp=False, retries=1),
    Case("record: a target that execs", case_record_exec, per_interp=False, retries=1),
    Case("live: serve -a, 1,000 short-lived processes", case_serve_churn, per_interp=False, budget=400,
         retries=1),
]
