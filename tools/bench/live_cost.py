#!/usr/bin/python3
"""What the live views cost gilscope itself (stdlib only; run as root).

Starts NPROC Python processes of NTHREADS threads each (sleepers.py: every
thread loops on a short sleep, so each takes and drops the GIL), then runs
`gilscope serve -a` and `gilscope top -a` (no terminal: key=value lines)
one after the other over them, refreshing every second. Once every
process is traced, gilscope's own CPU time (utime + stime of all its
threads, from /proc/PID/stat) is measured over WINDOW seconds: % of one
core. Its peak RSS over the window too.

usage: live_cost.py [--procs 64] [--threads 100] [--period-ms 1000] [--window 30]
                    [--python PY] [--modes serve,top] [--gilscope BIN[,BIN...]] [--rounds N]

Several gilscope binaries (comma-separated) are measured in turn over the
same workloads, each view of each binary once a round: on a shared machine
compare their ratios within a round.
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WORKLOADS = os.path.join(REPO, "tools", "workloads")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / TICK


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_workloads(py, nproc, nthreads, period_ms):
    procs = []
    for _ in range(nproc):
        p = subprocess.Popen([py, os.path.join(WORKLOADS, "sleepers.py"), str(nthreads), str(period_ms), "0"],
                             stdout=subprocess.PIPE, text=True, start_new_session=True)
        procs.append(p)
    pids = set()
    for p in procs:
        line = p.stdout.readline()
        if not line.startswith("READY"):
            raise SystemExit("a workload did not start: %r" % line)
        pids.add(p.pid)
    return procs, pids


def traced_serve(port):
    try:
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    except OSError:
        return set()
    return {int(m) for m in re.findall(r'pid="(\d+)"', body)}


def measure(mode, gilscope, pids, window, log, scrape_s=0, by_pid=False):
    port = free_port()
    # -a, or (by_pid) the workloads and this script by -p: no other
    # process on a shared machine is traced, and no /proc scan is timed
    which = [a for p in sorted(pids | {os.getpid()}) for a in ("-p", str(p))] if by_pid else ["-a"]
    if mode == "serve":
        cmd = [gilscope, "serve"] + which + ["--listen", "127.0.0.1:%d" % port]
        out = subprocess.DEVNULL
    else:
        cmd = [gilscope, "top"] + which
        out = open(log, "w")
    g = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    t0 = time.monotonic()
    try:
        # every workload traced (serve: in its output; top: in its lines)
        while time.monotonic() - t0 < 180:
            time.sleep(1)
            if mode == "serve":
                seen = traced_serve(port)
            else:
                with open(log) as f:
                    tail = f.readlines()[-4 * len(pids):]
                seen = {int(m) for line in tail for m in re.findall(r"\bpid=(\d+)", line)}
            if pids <= seen:
                break
        else:
            raise SystemExit("%s: not every workload was traced within 180 s" % mode)
        attach_s = time.monotonic() - t0
        time.sleep(2)
        c0, w0, peak = cpu_s(g.pid), time.monotonic(), 0
        last_scrape = 0
        while time.monotonic() - w0 < window:
            time.sleep(0.25)
            if scrape_s and time.monotonic() - last_scrape >= scrape_s:
                last_scrape = time.monotonic()
                # as Prometheus asks: OpenMetrics
                req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port,
                                             headers={"Accept": "application/openmetrics-text; version=1.0.0"})
                urllib.request.urlopen(req, timeout=5).read()
            peak = max(peak, rss_kb(g.pid))
        c1, w1 = cpu_s(g.pid), time.monotonic()
        if mode == "serve":
            seen = traced_serve(port)
            if not pids <= seen:
                raise SystemExit("serve: workloads left the output during the window")
        return {"mode": mode + (", scraped every %g s" % scrape_s if scrape_s else ""), "cpu_pct": 100 * (c1 - c0) / (w1 - w0), "rss_kb": peak, "attach_s": attach_s}
    finally:
        g.send_signal(signal.SIGINT)
        try:
            g.wait(30)
        except subprocess.TimeoutExpired:
            g.kill()
        if out is not subprocess.DEVNULL:
            out.close()


def main():
    ap = argparse.ArgumentParser()
    # 63 workloads: this script is a CPython process too, the 64th that
    # `-a` traces (gilscope traces at most 64 at once)
    ap.add_argument("--procs", type=int, default=63)
    ap.add_argument("--threads", type=int, default=100)
    ap.add_argument("--window", type=float, default=30)
    ap.add_argument("--period-ms", type=float, default=1000,
                    help="each thread's sleep between GIL cycles")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--gilscope", default=os.path.join(REPO, "gilscope"))
    ap.add_argument("--modes", default="serve,top")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--by-pid", action="store_true",
                    help="-p each workload (and this script) instead of -a")
    a = ap.parse_args()
    bins = a.gilscope.split(",")
    procs, pids = start_workloads(a.python, a.procs, a.threads, a.period_ms)
    rows = []
    try:
        for rnd in range(a.rounds):
            for mode in a.modes.split(","):
                for scrape_s in ((1, 15) if mode == "serve" else (0,)):
                    for b in bins:
                        r = measure(mode, b, pids, a.window, "/tmp/gilscope-live-cost.log", scrape_s, a.by_pid)
                        r["bin"], r["round"] = b, rnd + 1
                        rows.append(r)
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    print("%d processes x %d threads (%s; each thread sleeps %g ms between GIL cycles), refresh every 1 s, "
          "%.0f s window:" % (a.procs, a.threads, os.path.basename(a.python), a.period_ms, a.window))
    many = len(bins) > 1 or a.rounds > 1
    print("| %sview | gilscope CPU, %% of one core | peak RSS | all traced after |" % ("round | binary | " if many else ""))
    print("|%s---|---|---|---|" % ("---|---|" if many else ""))
    for r in rows:
        print("| %s`%s %s`%s | %.2f | %.1f MiB | %.0f s |" % ("%d | %s | " % (r["round"], r["bin"]) if many else "",
                                                          r["mode"].split(",")[0], "-p ..." if a.by_pid else "-a",
                                                          r["mode"][len(r["mode"].split(",")[0]):],
                                                          r["cpu_pct"], r["rss_kb"] / 1024, r["attach_s"]))


if __name__ == "__main__":
    main()
