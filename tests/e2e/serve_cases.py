"""End-to-end cases for `gilscope serve` (run once, on the newest pyenv
interpreter): a real Prometheus (/usr/bin/prometheus, scrape_interval 1s,
its own TSDB in the case's scratch directory) scrapes `gilscope serve -a
--listen 127.0.0.1:PORT -i 1` while known workloads run, and the figures
are read back through Prometheus's HTTP API, as a user's dashboard would:

- 3 CPU-bound threads (cpu_threads.py, 5 ms switch interval): the GIL
  held all the time, rate(gilscope_gil_held_seconds_total[5s]) ~ 1.0
  (held plus hand-over within 0.05 of 1; held alone >= 0.95 on a quiet
  machine), and histogram_quantile(0.5) of its hold histogram the switch
  interval -15%..+15%, plus 2 D/H (the kernel's run delay of its threads
  over the holds counted, as README.md's check_hold_p50);
- one thread at a 25% duty cycle (duty.py 25 75): the rate within 0.03
  of the duty the workload measured itself over an interval that covers
  the rate's window;
- a process started after serve is in /metrics within 2 s (quiet
  machine; 5 s in any case), and in Prometheus after its next scrape;
- one that exits leaves /metrics by the next frame (2 s on a quiet
  machine, 5 s in any case) and Prometheus's current values after its
  next scrape (a staleness marker), and the exited total grows;
- `promtool check metrics` on a fetched /metrics says nothing, and
  Prometheus, which asks for OpenMetrics, reports the target up with no
  scrape error.
Every process (serve, Prometheus, workloads) is the case's, torn down by
the runner however the case ends.
"""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import gs
from common import Case, duty_mark
from gs import CaseError

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
SI = 0.005            # cpu_threads' switch interval, s
WIN = 5               # the rate window, s ([5s])
SERVE_I = 1           # serve's interval (-i), s: its counters step once a frame
QUIET_VISIBLE_S = 2.0 # bounds a quiet machine meets; HARD_S always
HARD_S = 5.0


# ---------------------------------------------------------------- helpers

def free_port():
    """A port nothing listens on now (the kernel's pick for port 0)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def http_get(url, accept=None, timeout=5):
    """(status, content type, body text); status 0 when nothing answers."""
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return 0, "", ""


def _label_value(s, i):
    """The quoted label value starting at s[i] ('"'): (value, index past it)."""
    out, i = [], i + 1
    while s[i] != '"':
        if s[i] == "\\":
            i += 1
            out.append({"n": "\n"}.get(s[i], s[i]))
        else:
            out.append(s[i])
        i += 1
    return "".join(out), i + 1


def parse_text(text):
    """Prometheus text exposition -> [(name, {label: value}, float)]."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        brace = line.find("{")
        space = line.find(" ")
        labels = {}
        if brace != -1 and (space == -1 or brace < space):
            name, i = line[:brace], brace + 1
            while line[i] != "}":
                eq = line.index("=", i)
                key = line[i:eq]
                labels[key], i = _label_value(line, eq + 1)
                if line[i] == ",":
                    i += 1
            rest = line[i + 1:].split()
        else:
            name, rest = line[:space], line[space + 1:].split()
        out.append((name, labels, float(rest[0])))
    return out


def value(series, name, **labels):
    """The value of the one series `name` with these labels (others may
    differ); None when there is none."""
    want = {k: str(v) for k, v in labels.items()}
    for n, l, v in series:
        if n == name and all(l.get(k) == x for k, x in want.items()):
            return v
    return None


def pids_in(series):
    return {int(l["pid"]) for n, l, _ in series if n == "gilscope_threads" and "pid" in l}


def cpu_s(pid):
    """utime + stime of a process (and its reaped children), s; None if gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in v[11:15]) / float(os.sysconf("SC_CLK_TCK"))
    except (OSError, IndexError, ValueError):
        return None


class Other(object):
    """CPUs other work kept busy over a stretch: the machine's busy time
    less every process of the case (workloads, gilscope, Prometheus)."""

    def __init__(self, pids):
        self.pids = list(pids)
        self.t0, self.m0 = time.monotonic(), gs.LoadMeter._machine()
        self.c0 = {p: cpu_s(p) or 0.0 for p in self.pids}

    def cpus(self):
        dt = time.monotonic() - self.t0
        ours = sum((cpu_s(p) or self.c0[p]) - self.c0[p] for p in self.pids)
        return max(0.0, (gs.LoadMeter._machine() - self.m0 - ours) / dt) if dt > 0 else 0.0


class Prometheus(object):
    """A Prometheus of the case's own, scraping one target every second."""

    def __init__(self, ctx, target_port):
        self.port = free_port()
        d = ctx.path("prometheus")
        os.makedirs(os.path.join(d, "data"))
        cfg = os.path.join(d, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: gilscope\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % target_port)
        self.log = os.path.join(d, "prometheus.log")
        with open(self.log, "w") as log:
            self.p = ctx.spawn([PROMETHEUS, "--config.file=" + cfg,
                                "--storage.tsdb.path=" + os.path.join(d, "data"),
                                "--web.listen-address=127.0.0.1:%d" % self.port],
                               stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.base = "http://127.0.0.1:%d" % self.port
        deadline = time.monotonic() + 30
        while http_get(self.base + "/-/ready")[0] != 200:
            if self.p.poll() is not None or time.monotonic() > deadline:
                raise CaseError("prometheus did not become ready (rc=%s); log:\n%s"
                                % (self.p.poll(), gs.tail(gs.read_file(self.log))))
            time.sleep(0.2)

    def api(self, path, **params):
        st, _, body = http_get(self.base + path + "?" + urllib.parse.urlencode(params), timeout=10)
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {}
        if st != 200 or doc.get("status") != "success":
            raise CaseError("prometheus %s %s: HTTP %s: %s" % (path, params, st, body[:300]))
        return doc["data"]

    def query(self, q):
        """An instant query's vector: [({labels}, float)]."""
        return [(r["metric"], float(r["value"][1])) for r in self.api("/api/v1/query", query=q)["result"]]

    def one(self, q):
        """The single value of an instant query, None if empty."""
        v = self.query(q)
        if len(v) > 1:
            raise CaseError("%s: %d series, expected one" % (q, len(v)))
        return v[0][1] if v else None

    def target(self):
        t = self.api("/api/v1/targets")["activeTargets"]
        return t[0] if t else {}


def wait_for(what, fn, timeout, step=0.1):
    """Poll fn() until it is true; (its value, seconds taken) or (None, timeout)."""
    t0 = time.monotonic()
    while True:
        v = fn()
        if v:
            return v, time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            return None, timeout
        time.sleep(step)


def run_delay_s(pid):
    """The kernel's run delay of every thread of pid (schedstat), s."""
    total = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0.0
    for t in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e9


# ------------------------------------------------------------------- case

def case_serve(ctx):
    for tool in (PROMETHEUS, PROMTOOL):
        if not os.access(tool, os.X_OK):
            raise CaseError("%s is missing (make deps installs prometheus)" % tool)
    cpu = ctx.workload("cpu_threads.py", 3, SI, 0)
    stats = ctx.path("duty.json")
    duty = ctx.workload("duty.py", 25, 75, 0, stats)
    port = free_port()
    serve = ctx.start_gilscope(["serve", "-a", "--listen", "127.0.0.1:%d" % port, "-i", SERVE_I])
    metrics = "http://127.0.0.1:%d/metrics" % port

    def scrape():
        if serve.poll() is not None:
            raise CaseError("gilscope serve exited (rc=%s); stderr:\n%s"
                            % (serve.returncode, gs.tail(gs.read_file(serve.gs_files[1]))))
        st, ctype, body = http_get(metrics)
        return parse_text(body) if st == 200 and ctype.startswith("text/plain") else None

    def listed(pids):
        s = scrape()
        return s if s and set(pids) <= pids_in(s) else None

    def unlisted(pid):
        s = scrape()
        return s is not None and pid not in pids_in(s)

    both, took = wait_for("both workloads", lambda: listed((cpu.pid, duty.pid)), 30, 0.2)
    if not both:
        raise CaseError("/metrics does not list both workloads (%d, %d) 30 s after serve started; stderr:\n%s"
                        % (cpu.pid, duty.pid, gs.tail(gs.read_file(serve.gs_files[1]))))
    ctx.detail("both workloads in /metrics %.1fs after the first try" % took)
    prom = Prometheus(ctx, port)
    other = Other([cpu.pid, duty.pid, serve.pid, prom.p.pid])

    # promtool on what a scrape gets, and the labels of a process
    st, ctype, body = http_get(metrics)
    chk = subprocess.run([PROMTOOL, "check", "metrics"], input=body.encode(), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=30)
    said = chk.stdout.decode("utf-8", "replace").strip()
    ctx.check("promtool", "rc=%d%s" % (chk.returncode, (" " + said.splitlines()[0]) if said else ""),
              chk.returncode == 0 and not said, "rc=0, nothing said")
    if said:
        ctx.detail("promtool check metrics:\n" + gs.tail(said, 30))
    s = parse_text(body)
    labels = next((l for n, l, _ in s if n == "gilscope_threads" and l.get("pid") == str(cpu.pid)), {})
    ver = ctx.interp.full
    ctx.check("labels", "comm=%s python_version=%s" % (labels.get("comm"), labels.get("python_version")),
              labels.get("comm", "").startswith("python") and labels.get("python_version", "").startswith(ver)
              and "container" in labels, "python*, %s*, container" % ver)
    si = value(s, "gilscope_gil_switch_interval_seconds", pid=cpu.pid)
    ctx.check("switch_interval", si, si is not None and abs(si - SI) < 1e-9, "%g (set by the workload)" % SI)
    om_st, om_type, om_body = http_get(metrics, accept="application/openmetrics-text;version=1.0.0")
    ctx.check("openmetrics", om_type.split(";")[0], om_st == 200 and om_type.startswith(
        "application/openmetrics-text") and om_body.endswith("# EOF\n"), "application/openmetrics-text, # EOF")

    # the rates over WIN s, once Prometheus holds more than that; the
    # duty workload measures itself over an interval that covers the
    # window and the figures' lag (an interval plus a scrape)
    time.sleep(WIN + 2)
    m1 = duty_mark(duty, stats, 1)
    d0, t0 = run_delay_s(cpu.pid), time.monotonic()
    time.sleep(WIN + 2.5)
    # Counters step once a frame (SERVE_I) and Prometheus scrapes every
    # second: the samples of a [5s] window span about 4 s of scrapes but
    # 4 +- 1 frames, so rate() is off by up to one frame's worth over the
    # span. The frames' own clock (gilscope_last_update_timestamp_seconds,
    # sampled by the same scrapes) takes that out: increase / delta of it
    # is the held share over exactly the frames the window holds.
    per_frame = '%s(gilscope_gil_%s_seconds_total{pid="%d"}[%ds]) / on(instance) group_left ' \
        'delta(gilscope_last_update_timestamp_seconds[%ds])'
    q = {}
    for key, expr in (
            ("rate_cpu", 'rate(gilscope_gil_held_seconds_total{pid="%d"}[%ds])' % (cpu.pid, WIN)),
            ("rate_duty", 'rate(gilscope_gil_held_seconds_total{pid="%d"}[%ds])' % (duty.pid, WIN)),
            ("held_cpu", per_frame % ("increase", "held", cpu.pid, WIN, WIN)),
            ("handoff_cpu", per_frame % ("increase", "handoff", cpu.pid, WIN, WIN)),
            ("held_duty", per_frame % ("increase", "held", duty.pid, WIN, WIN)),
            ("p50", 'histogram_quantile(0.5, rate(gilscope_gil_hold_duration_seconds_bucket{pid="%d"}[%ds]))'
             % (cpu.pid, WIN)),
            ("holds", 'increase(gilscope_gil_hold_duration_seconds_count{pid="%d"}[%ds])' % (cpu.pid, WIN))):
        q[key] = prom.one(expr)
    d1, t1 = run_delay_s(cpu.pid), time.monotonic()
    m2 = duty_mark(duty, stats, 2)
    ctx.bg = other.cpus()
    for key in q:
        if q[key] is None:
            raise CaseError("prometheus has no %s for the workloads; target: %s" % (key, prom.target()))

    held, handoff = q["held_cpu"], q["handoff_cpu"]
    ctx.check("held_3threads", "%.3f" % held, held >= 0.95, ">=0.95", load=True)
    ctx.check("held+handoff_3threads", "%.3f" % (held + handoff), abs(held + handoff - 1.0) <= 0.05,
              "1.0+-0.05")
    truth = m2["duty_pct"] / 100.0
    ctx.check("held_duty", "%.3f vs measured %.3f (nominal %.2f)" % (q["held_duty"], truth,
                                                                     m2["nominal_pct"] / 100.0),
              abs(q["held_duty"] - truth) <= 0.03, "the workload's own duty +-0.03")
    # plain rate(): the same, give or take one frame over the samples' span
    for key, want, tol in (("rate_cpu", held + handoff, 0.05), ("rate_duty", truth, 0.03)):
        slack = tol + want * SERVE_I / (WIN - 1.0)
        ctx.check(key, "%.3f" % q[key], abs(q[key] - want) <= slack,
                  "%.3f+-%.3f (+-one frame over %ds)" % (want, slack, WIN - 1))
    # 2 D/H: the kernel's run delay per hold over the same stretch
    holds = q["holds"] * (t1 - t0) / WIN
    extra = 2 * (d1 - d0) / holds if holds > 0 else 0.0
    p50 = q["p50"]
    ctx.check("hold_p50", "%.2fms" % (p50 * 1e3), 0.85 * SI <= p50 <= 1.15 * SI + extra,
              "%gms-15%%..+15%%+2*run delay/holds (%.2fms)" % (SI * 1e3, extra * 1e3))
    ctx.detail("duty interval #1 %s, #2 %s" % (m1, m2))

    # a process started after serve: in /metrics, then in Prometheus
    a0 = value(scrape() or [], "gilscope_processes_attached_total")
    late = ctx.workload("cpu_threads.py", 1, SI, 0)
    seen, took = wait_for("late", lambda: listed((late.pid,)), HARD_S)
    ctx.check("new_process_visible", "%.1fs" % took if seen else "not within %.0fs" % HARD_S,
              bool(seen) and took <= QUIET_VISIBLE_S, "<=%.0fs" % QUIET_VISIBLE_S, load=True)
    ctx.check("new_process_visible_hard", "%.1fs" % took if seen else "no", bool(seen), "<=%.0fs" % HARD_S)
    in_prom, ptook = wait_for("late in prometheus", lambda: prom.query('gilscope_threads{pid="%d"}' % late.pid),
                              HARD_S, 0.25)
    ctx.check("new_process_in_prometheus", "%.1fs" % ptook if in_prom else "no", bool(in_prom),
              "<=%.0fs after /metrics" % HARD_S)
    a1 = value(scrape() or [], "gilscope_processes_attached_total")
    ctx.check("attached_total", "%s -> %s" % (a0, a1), a0 is not None and a1 is not None and a1 >= a0 + 1, "+1")

    # ... and when it exits: gone from /metrics, then stale in Prometheus
    e0 = value(scrape() or [], "gilscope_processes_exited_total")
    late.signal(signal.SIGKILL)
    late.wait(10)
    gone, took = wait_for("gone", lambda: unlisted(late.pid), HARD_S)
    ctx.check("exited_process_gone", "%.1fs" % took if gone else "still there after %.0fs" % HARD_S,
              bool(gone) and took <= QUIET_VISIBLE_S, "<=%.0fs" % QUIET_VISIBLE_S, load=True)
    ctx.check("exited_process_gone_hard", "%.1fs" % took if gone else "no", bool(gone), "<=%.0fs" % HARD_S)
    stale, ptook = wait_for("stale", lambda: not prom.query('gilscope_threads{pid="%d"}' % late.pid), HARD_S, 0.25)
    ctx.check("exited_process_stale_in_prometheus", "%.1fs" % ptook if stale else "no", bool(stale),
              "<=%.0fs after /metrics" % HARD_S)
    e1 = value(scrape() or [], "gilscope_processes_exited_total")
    ctx.check("exited_total", "%s -> %s" % (e0, e1), e0 is not None and e1 is not None and e1 >= e0 + 1, "+1")
    still = pids_in(scrape() or []) & {cpu.pid, duty.pid}
    ctx.check("others_still_there", sorted(still), still == {cpu.pid, duty.pid}, "both workloads")

    # Prometheus parsed every scrape (it asks for OpenMetrics first)
    t = prom.target()
    ctx.check("prometheus_target", "%s %r" % (t.get("health"), t.get("lastError")),
              t.get("health") == "up" and not t.get("lastError"), "up, no error")

    # serve stops on SIGINT, exit 0
    serve.send_signal(signal.SIGINT)
    run = ctx.finish_gilscope(serve, 15)
    ctx.check("serve_rc", run.rc, run.rc == 0, "0 on SIGINT")


CASES = [
    Case("serve: prometheus scrapes", case_serve, per_interp=False, budget=150, retries=1),
]
