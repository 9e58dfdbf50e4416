#!/usr/bin/python3
"""gilscope overhead benchmark driver (stdlib only; run as root).

Measures, on one machine and within one run:
  1. CPU-bound threads: throughput untraced vs under gilscope;
  2. GIL-cycle microbenchmark (os.read on /dev/zero): cycles/s untraced,
     under gilscope and under an equivalent bare bpftrace script, and the
     added cost per GIL cycle of each tracer;
  3. gilscope's own CPU time and peak RSS while it traces workload 2.

Speed is only ever compared as ratios between conditions of the same run.
Conditions are interleaved (A B C A B C ...) over several rounds and
summarised by medians, so slow drifts of a shared machine cancel out.
Every workload waits for a start file that is created only once the tracer
is attached, so attach time is never in a throughput window.

Writes a Markdown report to stdout and to BENCHMARKS.md (see --out).
"""
import argparse
import ctypes
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

BASE, GILSCOPE, BPFTRACE, BPF_EMPTY = "untraced", "gilscope", "bpftrace", "bpftrace-empty"

# Children still running and our temporary directories; cleanup() ends and
# removes them whatever happens.
CHILDREN = []
TMPDIRS = []
CHILDREN_LOCK = threading.Lock()


class BenchError(Exception):
    pass


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


# ---------------------------------------------------------------- processes

class Proc:
    """A child with line-by-line readers on its stdout and stderr.

    on_line(stream, line) runs in the reader thread the moment a line
    arrives, for time-critical sampling (window edges)."""

    def __init__(self, argv, name, on_line=None, stdout_file=None):
        self.name = name
        self.argv = argv
        self.lines = {"out": [], "err": []}
        self.cond = threading.Condition()
        self.on_line = on_line
        self.rusage = None
        self.status = None
        self.t_start = time.monotonic()
        self.p = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL,
            stdout=stdout_file if stdout_file else subprocess.PIPE,
            stderr=subprocess.PIPE, close_fds=True)
        self.pid = self.p.pid
        with CHILDREN_LOCK:
            CHILDREN.append(self)
        self.readers = []
        streams = [("err", self.p.stderr)]
        if not stdout_file:
            streams.append(("out", self.p.stdout))
        for key, f in streams:
            t = threading.Thread(target=self._read, args=(key, f), daemon=True)
            t.start()
            self.readers.append(t)

    def _read(self, key, f):
        for raw in iter(f.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if self.on_line:
                try:
                    self.on_line(key, line)
                except Exception as e:  # sampling must never kill the reader
                    log("%s: sampler error: %s" % (self.name, e))
            with self.cond:
                self.lines[key].append((time.monotonic(), line))
                self.cond.notify_all()
        f.close()
        with self.cond:
            self.lines[key].append((time.monotonic(), None))  # EOF mark
            self.cond.notify_all()

    def wait_line(self, key, pred, timeout, what):
        """First line of stream key matching pred; BenchError on EOF,
        exit or timeout."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self.cond:
            while True:
                buf = self.lines[key]
                while seen < len(buf):
                    ts, line = buf[seen]
                    seen += 1
                    if line is None:
                        raise BenchError("%s ended before %s; stderr:\n%s"
                                         % (self.name, what, self.text("err")))
                    if pred(line):
                        return ts, line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError("%s: timed out waiting for %s; stderr:\n%s"
                                     % (self.name, what, self.text("err")))
                self.cond.wait(min(left, 0.2))

    def text(self, key):
        with self.cond:
            return "\n".join(l for _, l in self.lines[key] if l is not None
                             and "RLIMIT_MEMLOCK" not in l)

    def alive(self):
        return not self.wait(0)

    def wait(self, timeout):
        """Reap with wait4 (keeps the child's rusage). True if it exited."""
        if self.status is not None:
            return True
        deadline = time.monotonic() + timeout
        while True:
            try:
                pid, status, ru = os.wait4(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.status = self.p.returncode if self.p.returncode is not None else -1
                break
            if pid == self.pid:
                self.status, self.rusage = status, ru
                self.p.returncode = (os.WEXITSTATUS(status) if os.WIFEXITED(status)
                                     else -os.WTERMSIG(status))
                break
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        for t in self.readers:
            t.join(5)
        with CHILDREN_LOCK:
            if self in CHILDREN:
                CHILDREN.remove(self)
        return True

    def stop(self, sig=signal.SIGINT, grace=10.0):
        """Signal (if still running), wait grace seconds, then SIGKILL."""
        if self.wait(0):
            return
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass
        if not self.wait(grace):
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.wait(5)


def cleanup():
    with CHILDREN_LOCK:
        procs = list(CHILDREN)
    for p in procs:  # workloads first: tracers then stop on the target's exit
        if p.name.startswith("workload"):
            p.stop(signal.SIGKILL, 2)
    for p in procs:
        p.stop(signal.SIGINT, 5)
    while TMPDIRS:
        shutil.rmtree(TMPDIRS.pop(), ignore_errors=True)


# ------------------------------------------------------------- /proc probes

def proc_cpu_ns(pid):
    """CPU time (user+sys) of all threads of pid, in ns; None if gone."""
    total = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def proc_status_kb(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def prog_fd_stats(pid):
    """{prog_id: (run_time_ns, run_cnt)} over pid's BPF program fds."""
    out = {}
    d = "/proc/%d/fdinfo" % pid
    try:
        fds = os.listdir(d)
    except OSError:
        return out
    for fd in fds:
        try:
            with open(os.path.join(d, fd)) as f:
                txt = f.read()
        except OSError:
            continue
        m = re.search(r"^prog_id:\s*(\d+)", txt, re.M)
        if not m:
            continue
        rt = re.search(r"^run_time_ns:\s*(\d+)", txt, re.M)
        rc = re.search(r"^run_cnt:\s*(\d+)", txt, re.M)
        if rt and rc:
            out[int(m.group(1))] = (int(rt.group(1)), int(rc.group(1)))
    return out


def prog_names():
    try:
        r = subprocess.run(["bpftool", "prog", "show", "--json"], capture_output=True,
                           timeout=30)
        return {p["id"]: p.get("name", "?") for p in json.loads(r.stdout or b"[]")}
    except Exception:
        return {}


def perf_attachments(pid):
    """[(prog_id, fd_type)] of the BPF programs pid attached through perf
    event fds (uprobes, tracepoints)."""
    r = subprocess.run(["bpftool", "perf", "show", "--json"], capture_output=True,
                       timeout=30)
    try:
        items = json.loads(r.stdout or b"[]")
    except ValueError:
        return []
    return [(it.get("prog_id"), it.get("fd_type")) for it in items if it.get("pid") == pid]


def perf_uprobes(pid):
    """Number of uprobes/uretprobes attached through pid's perf event fds."""
    return sum(1 for _, kind in perf_attachments(pid) if kind in ("uprobe", "uretprobe"))


class StatsFd:
    """BPF run-time statistics, on while this object's fd is open (the
    kernel turns them off when the last such fd closes, even if we die)."""

    def __init__(self):
        self.fd = -1
        nr = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
        if nr is None:
            return
        libc = ctypes.CDLL(None, use_errno=True)
        attr = ctypes.create_string_buffer(144)  # enable_stats.type = BPF_STATS_RUN_TIME (0)
        self.fd = libc.syscall(nr, 32, attr, 144)  # BPF_ENABLE_STATS

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


# --------------------------------------------------------------- workloads

class Bench:
    def __init__(self, a):
        self.a = a
        self.tmp = tempfile.mkdtemp(prefix="gilscope-bench-")
        self.seq = 0
        self.python = a.python_path
        self.gilscope = a.gilscope
        self.probes = None  # (runtime object, [take symbols], [drop symbols])
        self.errors = []

    def discover_probes(self):
        """Ask gilscope where the GIL probes go in this interpreter, so the
        bpftrace script probes exactly the same functions."""
        target = Proc([self.python, "-c", "import time; time.sleep(60)"], "workload-discover")
        try:
            time.sleep(0.3)
            js = os.path.join(self.tmp, "discover.json")
            r = subprocess.run([self.gilscope, "record", "-p", str(target.pid), "-d", "0.2",
                                "--json", js], capture_output=True, timeout=60)
            if r.returncode != 0:
                raise BenchError("gilscope cannot trace %s: %s"
                                 % (self.python, r.stderr.decode(errors="replace").strip()))
            with open(js) as f:
                t = json.load(f)["target"]
        finally:
            target.stop(signal.SIGKILL, 2)
        objs = {p["object"] for p in t["gil_probes"]}
        if len(objs) != 1:
            raise BenchError("GIL probes span several objects: %s" % sorted(objs))
        self.version = t["python_version"]
        self.probes = (objs.pop(),
                       [p["symbol"] for p in t["gil_probes"] if p["role"] == "take"],
                       [p["symbol"] for p in t["gil_probes"] if p["role"] == "drop"])
        self.nuprobes = 2 * len(self.probes[1]) + len(self.probes[2])

    def bt_script(self, pid, empty):
        obj, takes, drops = self.probes

        def spec(kind, syms):
            return ", ".join('%s:%s:%s' % (kind, obj, s if re.match(r"^\w+$", s) else '"%s"' % s)
                             for s in syms)
        flt = "/pid == %d/" % pid
        if empty:
            body = ["{ }", "{ }", "{ }"]
        else:
            body = ["{ @wait_from[tid] = nsecs; }",
                    "{ @hold_from[tid] = nsecs; }",
                    "{ @drops = count(); }"]
        lines = ["%s %s %s" % (spec("uprobe", takes), flt, body[0]),
                 "%s %s %s" % (spec("uretprobe", takes), flt, body[1]),
                 "%s %s %s" % (spec("uprobe", drops), flt, body[2])]
        if not empty:
            lines.append("END { clear(@wait_from); clear(@hold_from); }")
        return "\n".join(lines) + "\n"

    def run_once(self, script, threads, tracer, warmup, window, bpf_stats=False):
        """One workload run under one condition. Returns a dict."""
        self.seq += 1
        tag = "%03d-%s" % (self.seq, tracer)
        start_file = os.path.join(self.tmp, tag + ".start")
        res = {"tracer": tracer, "threads": threads}
        samples = {}
        tr_box = [None]

        def on_wl_line(key, line):
            # Sample the tracer exactly at the window edges.
            if key != "out" or line not in ("WINDOW_START", "WINDOW_END"):
                return
            tr = tr_box[0]
            s = {"t": time.monotonic()}
            if tr is not None:
                s["cpu"] = proc_cpu_ns(tr.pid)
                s["hwm"] = proc_status_kb(tr.pid, "VmHWM")
                if bpf_stats:
                    s["progs"] = prog_fd_stats(tr.pid)
                    if line == "WINDOW_END":  # the window is over: time to spare
                        s["names"] = prog_names()
                        for pid, kind in perf_attachments(tr.pid):
                            if pid in s["names"] and kind in ("uprobe", "uretprobe"):
                                s["names"][pid] += " (%s)" % kind
            samples[line] = s

        wl = Proc([self.python, "-B", os.path.join(HERE, script), "--threads", str(threads),
                   "--warmup", str(warmup), "--window", str(window),
                   "--start-file", start_file], "workload-" + tag, on_line=on_wl_line)
        tr = None
        try:
            wl.wait_line("out", lambda l: l.startswith("READY"), 30, "READY")
            t0 = time.monotonic()
            if tracer == GILSCOPE:
                tr = Proc([self.gilscope, "record", "-p", str(wl.pid), "--json",
                           os.path.join(self.tmp, tag + ".json")], "gilscope-" + tag,
                          stdout_file=subprocess.DEVNULL)
                tr_box[0] = tr
                tr.wait_line("err", lambda l: l.startswith("gilscope: tracing PID"), 60,
                             "its 'tracing PID' line")
            elif tracer in (BPFTRACE, BPF_EMPTY):
                bt = os.path.join(self.tmp, tag + ".bt")
                with open(bt, "w") as f:
                    f.write(self.bt_script(wl.pid, tracer == BPF_EMPTY))
                tr = Proc(["bpftrace", "-p", str(wl.pid), bt], "bpftrace-" + tag)
                tr_box[0] = tr
                # bpftrace prints nothing once attached: watch its perf
                # event fds until every uprobe is in place.
                deadline = time.monotonic() + 60
                while perf_uprobes(tr.pid) < self.nuprobes:
                    if not tr.alive() or time.monotonic() > deadline:
                        raise BenchError("bpftrace did not attach: %s" % tr.text("err"))
                    time.sleep(0.05)
            if tr is not None:
                res["attach_s"] = time.monotonic() - t0
            open(start_file, "w").close()
            _, line = wl.wait_line("out", lambda l: l.startswith("RESULT"),
                                   warmup + window + 120, "RESULT")
            if not wl.wait(30):
                raise BenchError("workload did not exit after its window")
            if wl.status != 0:
                raise BenchError("workload failed: %s" % wl.text("err"))
            f = line.split()
            kv = dict(x.split("=", 1) for x in f[3:] if "=" in x)
            res["rate"] = float(f[1])
            res["ops"] = int(kv["ops"])
            cpu = float(kv.get("cpu", 0))
            res["cpu_s"] = cpu
            res["rate_cpu"] = res["ops"] / cpu if cpu > 0 else None
            res["cpu_ns_op"] = cpu * 1e9 / res["ops"] if res["ops"] else None
            if "ctxsw" in kv and float(kv["secs"]) > 0:
                res["ctxsw_per_s"] = int(kv["ctxsw"]) / float(kv["secs"])
            if tr is not None:
                # Both tracers end by themselves when the target exits.
                if not tr.wait(60):
                    tr.stop(signal.SIGINT, 15)
                    raise BenchError("%s did not stop after its target exited" % tr.name)
                if tr.status != 0 and tracer != BPF_EMPTY:
                    raise BenchError("%s exited with %s: %s" % (tr.name, tr.status,
                                                                tr.text("err")))
                res["wall_s"] = time.monotonic() - tr.t_start
                ru = tr.rusage
                if ru is not None:
                    res["life_cpu_s"] = ru.ru_utime + ru.ru_stime
                    res["maxrss_kb"] = ru.ru_maxrss
                a, b = samples.get("WINDOW_START"), samples.get("WINDOW_END")
                if a and b and a.get("cpu") is not None and b.get("cpu") is not None:
                    res["win_s"] = b["t"] - a["t"]
                    res["win_cpu_s"] = (b["cpu"] - a["cpu"]) / 1e9
                    res["hwm_kb"] = b.get("hwm")
                    if bpf_stats:
                        res["progs"] = {pid: (b["progs"][pid][0] - a["progs"].get(pid, (0, 0))[0],
                                              b["progs"][pid][1] - a["progs"].get(pid, (0, 0))[1])
                                        for pid in b.get("progs", {})}
                        res["prog_names"] = b.get("names", {})
                self.last_gil_rate = None
                res["events"] = self.events_seen(tracer, tr, tag)
                res["gil_cycles_per_s"] = self.last_gil_rate
            return res
        finally:
            wl.stop(signal.SIGKILL, 2)
            if tr is not None:
                tr.stop(signal.SIGINT, 10)

    def events_seen(self, tracer, tr, tag):
        """GIL releases the tracer counted over its whole life (a sanity
        check that the probes were live during the window)."""
        try:
            if tracer == GILSCOPE:
                with open(os.path.join(self.tmp, tag + ".json")) as f:
                    j = json.load(f)
                g = j["gil"]
                n = g["hold"]["count"] + g["partial_holds"]["count"]
                self.last_gil_rate = n / j["window_s"] if j.get("window_s") else None
                return n
            if tracer == BPFTRACE:
                m = re.search(r"^@drops:\s*(\d+)", tr.text("out"), re.M)
                return int(m.group(1)) if m else None
        except (OSError, ValueError, KeyError):
            return None
        return None

    def series(self, name, script, threads, tracers, rounds, warmup, window):
        """rounds x (each tracer in turn): {tracer: [result per round]}."""
        out = {t: [] for t in tracers}
        for r in range(rounds):
            for t in tracers:
                res = self.run_once(script, threads, t, warmup, window)
                out[t].append(res)
                log("%s r%d/%d %-14s %12.0f %s" % (name, r + 1, rounds, t, res["rate"],
                                                   "" if t == BASE else
                                                   "(attach %.2fs)" % res.get("attach_s", 0)))
        return out


# ----------------------------------------------------------------- report

NAN = float("nan")


def ok(xs):
    """The usable numbers of xs (no None, no NaN)."""
    return [x for x in xs if x is not None and x == x]


def med(xs):
    xs = ok(xs)
    return statistics.median(xs) if xs else NAN


def lo(xs):
    xs = ok(xs)
    return min(xs) if xs else NAN


def hi(xs):
    xs = ok(xs)
    return max(xs) if xs else NAN


def fmt_rate(x):
    return "{:,.0f}".format(x)


def added_ns(traced, base):
    if not traced or not base or traced != traced or base != base:
        return NAN  # a run that made no progress at all (starved machine)
    return 1e9 / traced - 1e9 / base


def div(a, b):
    return a / b if b and b == b and a == a else NAN


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return ""


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def report(b, cfg, w1, w2, diag, elapsed):
    a = b.a
    L = []
    now = datetime.datetime.now(datetime.timezone.utc)
    rev = sh(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"])
    L.append("# gilscope overhead benchmarks")
    L.append("")
    L.append("Generated by `tools/bench/run.sh%s`. Numbers are from one run on the machine "
             "below; rerun to measure yours: `sudo make bench` (about 4 minutes) or "
             "`sudo tools/bench/run.sh --quick` (under a minute); `--python 3.12.1` picks "
             "another pyenv interpreter, `--rounds N`, `--out FILE` ('' = stdout only)."
             % (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""))
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    L.append("| date | %s |" % now.strftime("%Y-%m-%d %H:%M UTC"))
    L.append("| kernel | %s %s |" % (platform.release(), platform.machine()))
    L.append("| CPU | %s, %d logical CPUs |" % (cpu_model(), os.cpu_count()))
    L.append("| interpreter | CPython %s (`%s`) |" % (b.version, b.python))
    L.append("| GIL probes | %s in `%s` |" % (", ".join(b.probes[1] + b.probes[2]), b.probes[0]))
    try:
        built = datetime.datetime.fromtimestamp(os.stat(b.gilscope).st_mtime,
                                                datetime.timezone.utc).strftime("%H:%M UTC")
    except OSError:
        built = "?"
    stale = subprocess.run(["make", "-q", "-C", REPO, "gilscope"], capture_output=True).returncode
    L.append("| gilscope | %s, git %s%s; binary built %s%s |"
             % (sh([b.gilscope, "-V"]) or "?", rev or "?", " + local changes" if dirty else "",
                built, ", older than its sources" if stale == 1 else ""))
    L.append("| bpftrace | %s |" % (sh(["bpftrace", "--version"]) or "?"))
    L.append("| mode | %s: %d interleaved rounds, %.0f s total |"
             % ("quick" if a.quick else "default", cfg["rounds"], elapsed))
    L.append("| load average (1/5/15 min) | %s at start, %s at end (other processes share "
             "this machine) |"
             % (b.load[0], b.load[1]))
    L.append("")
    L.append("## Method")
    L.append("")
    L.append("- Each measurement is a fresh workload process (`tools/bench/wl_*.py`). It "
             "prints `READY`, then waits for a start file. The driver attaches the tracer "
             "(gilscope: `gilscope record -p PID`, ready at its `gilscope: tracing PID` line; "
             "bpftrace: `bpftrace -p PID`, ready once `bpftool perf show` lists all its "
             "uprobes), then creates the start file. Attach time is never measured.")
    L.append("- After the start file the workload runs its threads for a %.1f-%.1f s warm-up "
             "(traced), then counts operations over a fixed wall-time window "
             "(`time.perf_counter`), prints the rate and exits; the tracer stops on the "
             "target's exit (and builds its report, outside the window)."
             % (min(cfg["w1_warmup"], cfg["w2_warmup"]), max(cfg["w1_warmup"], cfg["w2_warmup"])))
    L.append("- Conditions run interleaved (A B C, A B C, ...) for %d rounds; each figure is "
             "the median over rounds. Slowdowns are also given as the median of per-round "
             "ratios (each traced run against the untraced run of the same round), with the "
             "range of those ratios as a noise indicator." % cfg["rounds"])
    L.append("- Added cost per GIL cycle = 1e9/traced_rate - 1e9/untraced_rate (ns), from the "
             "median rates. The bpftrace script probes the same functions gilscope does "
             "(uprobe + uretprobe on take_gil, uprobe on drop_gil, `-p PID` plus a `pid` "
             "filter) and does minimal per-thread work: `@wait_from[tid] = nsecs`, "
             "`@hold_from[tid] = nsecs`, `@drops = count()`. gilscope additionally runs its "
             "sched_switch/sched_process_exit programs and full accounting "
             "(per-thread state machine, histograms).")
    if BPF_EMPTY in cfg["w2_tracers"]:
        L.append("- `bpftrace-empty` attaches the same three probes with empty actions: the "
                 "floor cost of the kernel's uprobe/uretprobe machinery.")
    L.append("- gilscope's own cost: CPU time (user+sys over all its threads, "
             "`/proc/PID/task/*/schedstat`) and VmHWM sampled at the window edges of the "
             "workload-2 gilscope runs; whole-life CPU and max RSS from `wait4`. BPF programs "
             "run in the traced threads' context, so their cost shows up in workload 2's "
             "throughput, not in the tracer's CPU time.")
    L.append("")

    # --- workload 1
    L.append("## 1. CPU-bound threads (%d threads, forced switches only, %.0f ms interval)"
             % (cfg["w1_threads"], cfg["w1_interval_ms"]))
    L.append("")
    base = [r["rate"] for r in w1[BASE]]
    gs = [r["rate"] for r in w1[GILSCOPE]]
    per = [div(g, u) for g, u in zip(gs, base)]
    slow_med = (1 - div(med(gs), med(base))) * 100
    slow_pair = (1 - med(per)) * 100
    L.append("Window %.1f s after %.1f s warm-up. Throughput in thousands of pure-Python "
             "loop iterations per second (all threads)." % (cfg["w1_window"], cfg["w1_warmup"]))
    L.append("")
    base_c = [r["rate_cpu"] for r in w1[BASE] if r.get("rate_cpu")]
    gs_c = [r["rate_cpu"] for r in w1[GILSCOPE] if r.get("rate_cpu")]
    L.append("| condition | median kiter/s | runs (kiter/s, in round order) | "
             "median kiter per CPU-second |")
    L.append("|---|---:|---|---:|")
    L.append("| untraced | %s | %s | %s |" % (fmt_rate(med(base)), " ".join("%.0f" % x for x in base),
                                         fmt_rate(med(base_c))))
    L.append("| gilscope | %s | %s | %s |" % (fmt_rate(med(gs)), " ".join("%.0f" % x for x in gs),
                                         fmt_rate(med(gs_c))))
    L.append("")
    spread = (hi(per) - lo(per)) * 100
    L.append("**Measured slowdown under gilscope: %.2f%%** (wall-clock throughput, from "
             "medians); median of per-round ratios %.2f%%, per-round range %.1f%% .. %.1f%% "
             "(spread %.1f points: run-to-run noise of this shared machine)."
             % (slow_med, slow_pair, (1 - hi(per)) * 100, (1 - lo(per)) * 100, spread))
    if base_c and gs_c:
        L.append("")
        L.append("Work per CPU-second of the workload process (includes the BPF programs, "
                 "which run in its threads; discounts time it was not scheduled, not changes "
                 "in the host's speed): %.2f%% lower under gilscope."
                 % ((1 - div(med(gs_c), med(base_c))) * 100))
    L.append("")
    est = w1_estimate(w1, w2, diag, cfg)
    if est:
        L.append("Expected cost from event counts (much tighter than the direct measurement "
                 "on a noisy machine): under gilscope the workload made "
                 "%.0f GIL acquisitions/s and its threads %.0f context switches/s (medians). "
                 "At the cost per GIL cycle measured in workload 2 (%.0f CPU-ns added, "
                 "1 thread)%s, that is %.3f ms of probe work per second, **%.3f%% of the "
                 "GIL-serialised execution** -- an upper bound on the slowdown, since part of "
                 "it runs in waiting threads rather than the GIL holder."
                 % est)
        L.append("")
    L.append("Target < 1%%: %s." % w1_verdict(slow_med, spread, est))
    L.append("")

    # --- workload 2
    L.append("## 2. GIL-cycle microbenchmark (`os.read(fd, 1)` on /dev/zero)")
    L.append("")
    L.append("Window %.1f s after %.1f s warm-up. Rates are GIL cycles (release + re-take) "
             "per second, all threads." % (cfg["w2_window"], cfg["w2_warmup"]))
    L.append("")
    hdr = "| threads | untraced cycles/s | gilscope cycles/s | bpftrace cycles/s |"
    sep = "|---:|---:|---:|---:|"
    if BPF_EMPTY in cfg["w2_tracers"]:
        hdr += " empty probes cycles/s |"
        sep += "---:|"
    L.append(hdr + " gilscope ns/cycle | bpftrace ns/cycle | gilscope / bpftrace |")
    L.append(sep + "---:|---:|---:|")
    ratio_1 = None
    summary = []
    for n in cfg["w2_threads"]:
        s = w2[n]
        m = {t: med([r["rate"] for r in s[t]]) for t in s}
        cg = added_ns(m[GILSCOPE], m[BASE])
        cb = added_ns(m[BPFTRACE], m[BASE])
        ratio = div(cg, cb) if cb > 0 else NAN
        if n == cfg["w2_threads"][0]:
            ratio_1 = ratio
        row = "| %d | %s | %s | %s |" % (n, fmt_rate(m[BASE]), fmt_rate(m[GILSCOPE]),
                                         fmt_rate(m[BPFTRACE]))
        if BPF_EMPTY in cfg["w2_tracers"]:
            row += " %s |" % (fmt_rate(m[BPF_EMPTY]) if BPF_EMPTY in m else "-")
        row += " %.0f | %.0f | **%.2f** |" % (cg, cb, ratio)
        L.append(row)
        summary.append((n, m, cg, cb, ratio))
    L.append("")
    L.append("Per-round view (median over rounds of the paired added cost, and its range):")
    L.append("")
    L.append("| threads | tracer | added ns/cycle, median | range | slowdown vs untraced |")
    L.append("|---:|---|---:|---|---:|")
    for n in cfg["w2_threads"]:
        s = w2[n]
        for t in [x for x in cfg["w2_tracers"] if x != BASE and x in s]:
            pair = [added_ns(r["rate"], u["rate"]) for r, u in zip(s[t], s[BASE])]
            L.append("| %d | %s | %.0f | %.0f .. %.0f | %.1f%% |"
                     % (n, t, med(pair), lo(pair), hi(pair),
                        (1 - div(med([r["rate"] for r in s[t]]), med([r["rate"] for r in s[BASE]])))
                        * 100))
    L.append("")
    L.append("Same runs, measured in CPU time instead of wall time: CPU-ns the workload "
             "process spends per GIL cycle (user+sys of all its threads, which includes "
             "the uprobe traps and BPF programs; CPU taken by other processes on this "
             "shared machine does not count, so this view is much less noisy):")
    L.append("")
    L.append("| threads | " + " | ".join("%s CPU-ns/cycle" % t for t in cfg["w2_tracers"])
             + " | gilscope added | bpftrace added | gilscope / bpftrace |")
    L.append("|---:|" + "---:|" * (len(cfg["w2_tracers"]) + 3))
    cpu_ratio_1 = None
    for n in cfg["w2_threads"]:
        s = w2[n]
        c = {t: med([r.get("cpu_ns_op") for r in s[t]]) for t in s}
        ag, ab = c[GILSCOPE] - c[BASE], c[BPFTRACE] - c[BASE]
        ratio = div(ag, ab) if ab > 0 else NAN
        if n == cfg["w2_threads"][0]:
            cpu_ratio_1 = ratio
        L.append("| %d | " % n + " | ".join(("%.0f" % c[t]) if t in c else "-"
                                            for t in cfg["w2_tracers"])
                 + " | %.0f | %.0f | **%.2f** |" % (ag, ab, ratio))
    L.append("")
    L.append("**gilscope / bpftrace added cost (1 thread): %.2f wall-clock, %.2f CPU-time.** "
             "Target <= 1.2: %s."
             % (ratio_1, cpu_ratio_1,
                "met" if ratio_1 <= 1.2 and cpu_ratio_1 <= 1.2 else
                "met on %s only" % ("wall-clock" if ratio_1 <= 1.2 else "CPU-time")
                if min(ratio_1, cpu_ratio_1) <= 1.2 else "NOT met"))
    if BPF_EMPTY in cfg["w2_tracers"] and BPF_EMPTY in w2[cfg["w2_threads"][0]]:
        n, m, cg, cb, ratio = summary[0]
        floor = added_ns(m[BPF_EMPTY], m[BASE])
        L.append("")
        L.append("Of that, the bare probe mechanism (empty programs) costs %.0f ns per cycle; "
                 "the programs themselves add about %.0f ns (gilscope) and %.0f ns (bpftrace)."
                 % (floor, cg - floor, cb - floor))
    sanity = []
    for n in cfg["w2_threads"]:
        for t in (GILSCOPE, BPFTRACE):
            for r in w2[n][t]:
                ev = r.get("events")
                if ev is not None and ev < r["ops"]:
                    sanity.append("%s %d threads: saw %d releases < %d window ops"
                                  % (t, n, ev, r["ops"]))
    L.append("")
    if sanity:
        L.append("WARNING, probes not live for the whole window in some runs: "
                 + "; ".join(sanity[:5]))
    else:
        L.append("Sanity check: in every traced run the tracer counted at least as many GIL "
                 "releases as the workload made calls in its window.")
    L.append("")

    # --- workload 3
    L.append("## 3. gilscope's own cost (during workload 2)")
    L.append("")
    L.append("| threads | tracer | GIL cycles/s traced | CPU ms per s of tracing (window) | "
             "whole-life CPU s (attach+trace+report) | lifetime s | peak RSS (VmHWM) | attach s |")
    L.append("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n in cfg["w2_threads"]:
        for t in (GILSCOPE, BPFTRACE):
            rs = w2[n][t]
            win = [r["win_cpu_s"] / r["win_s"] * 1000 for r in rs if r.get("win_s")]
            hwm = [r.get("hwm_kb") for r in rs if r.get("hwm_kb")]
            L.append("| %d | %s | %s | %.2f (max %.2f) | %.3f | %.1f | %.1f MiB | %.2f |"
                     % (n, t, fmt_rate(med([r["rate"] for r in rs])), med(win),
                        hi(win),
                        med([r.get("life_cpu_s") for r in rs]),
                        med([r.get("wall_s") for r in rs]),
                        hi(hwm) / 1024,
                        med([r.get("attach_s") for r in rs])))
    L.append("")

    if diag:
        L.append("## BPF program run time (diagnostic)")
        L.append("")
        L.append("One extra run of workload 2 (1 thread) per tracer with kernel BPF statistics "
                 "on (`BPF_ENABLE_STATS`; this adds its own timing overhead, so these runs are "
                 "not used above). Average run time per program invocation inside the window:")
        L.append("")
        L.append("| tracer | program | runs in window | avg ns/run |")
        L.append("|---|---|---:|---:|")
        for t in (GILSCOPE, BPFTRACE):
            r = diag.get(t)
            if not r or "progs" not in r:
                continue
            names = r.get("prog_names", {})
            for pid, (ns, cnt) in sorted(r["progs"].items()):
                if cnt:
                    L.append("| %s | %s | %d | %.0f |" % (t, names.get(pid, pid), cnt, ns / cnt))
        L.append("")
    if b.errors:
        L.append("## Errors")
        L.append("")
        for e in b.errors:
            L.append("- %s" % e)
        L.append("")
    return "\n".join(L) + "\n"


def w1_estimate(w1, w2, diag, cfg):
    """(gil/s, ctxsw/s, ns/cycle, sched text, ms/s, pct) or None."""
    gil = med([r.get("gil_cycles_per_s") for r in w1[GILSCOPE]])
    sw = med([r.get("ctxsw_per_s") for r in w1[GILSCOPE]])
    s = w2.get(cfg["w2_threads"][0])
    if s is None or gil != gil or sw != sw:
        return None
    per_cycle = (med([r.get("cpu_ns_op") for r in s[GILSCOPE]])
                 - med([r.get("cpu_ns_op") for r in s[BASE]]))
    sched_ns = None
    r = (diag or {}).get(GILSCOPE) or {}
    for pid, (ns, cnt) in r.get("progs", {}).items():
        if r.get("prog_names", {}).get(pid) == "sched_switch" and cnt:
            sched_ns = ns / cnt
    ns_per_s = gil * per_cycle + sw * (sched_ns or 0)
    txt = (" and the sched_switch program's %.0f ns per run (diagnostic below)" % sched_ns
           if sched_ns else " (sched_switch program cost not measured)")
    return (gil, sw, per_cycle, txt, ns_per_s / 1e6, ns_per_s / 1e9 * 100)


def w1_verdict(measured, spread, est):
    """Verdict on the < 1% target from the direct measurement (with its
    spread, in points) and the event-count estimate."""
    if est is None:
        if measured < 1.0:
            return "met (measured)"
        return ("NOT met as measured, but within this run's noise" if spread > 2 * measured
                else "NOT met")
    pct = est[-1]
    if pct >= 1.0:
        return "NOT met (estimate %.2f%%)" % pct
    if measured < 1.0:
        return "met (estimate %.3f%%, measured %.2f%%)" % (pct, measured)
    if spread > 2 * measured:
        return ("met by the estimate (%.3f%%); the measured %.2f%% is within this run's "
                "noise" % (pct, measured))
    return ("met by the estimate (%.3f%%), but the measured %.2f%% is not explained by "
            "noise: rerun" % (pct, measured))


# ------------------------------------------------------------------- main

def resolve_python(spec):
    if os.sep in spec:
        return spec
    root = os.environ.get("PYENV_ROOT") or sh(["pyenv", "root"]) or os.path.expanduser("~/.pyenv")
    for name in ("python3", "python"):
        p = os.path.join(root, "versions", spec, "bin", name)
        if os.access(p, os.X_OK):
            return p
    p = shutil.which(spec)
    if p:
        return p
    raise BenchError("no interpreter %r (looked in %s/versions)" % (spec, root))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python", default="3.11.7",
                    help="pyenv version (e.g. 3.12.1) or interpreter path (default 3.11.7)")
    ap.add_argument("--quick", action="store_true", help="~1 minute: fewer rounds, shorter "
                    "windows, 1 thread only in workload 2")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 7, quick 3)")
    ap.add_argument("--gilscope", default=os.path.join(REPO, "gilscope"))
    ap.add_argument("--out", default=os.path.join(REPO, "BENCHMARKS.md"),
                    help="report file ('' for stdout only)")
    a = ap.parse_args()

    if os.geteuid() != 0:
        raise BenchError("run as root (BPF tracing)")
    if not os.access(a.gilscope, os.X_OK):
        raise BenchError("%s not built: run 'make gilscope'" % a.gilscope)
    for tool in ("bpftrace", "bpftool"):
        if not shutil.which(tool):
            raise BenchError("%s is not installed" % tool)
    if not os.path.ismount("/sys/kernel/tracing") and os.path.isdir("/sys/kernel/tracing"):
        subprocess.run(["mount", "-t", "tracefs", "tracefs", "/sys/kernel/tracing"],
                       capture_output=True)
    a.python_path = resolve_python(a.python)

    if a.quick:
        cfg = dict(rounds=a.rounds or 3, w1_window=1.5, w1_warmup=0.5, w2_window=1.0,
                   w2_warmup=0.3, w2_threads=[1], w2_tracers=[BASE, GILSCOPE, BPFTRACE],
                   diag=True)
    else:
        cfg = dict(rounds=a.rounds or 7, w1_window=3.0, w1_warmup=0.5, w2_window=1.5,
                   w2_warmup=0.3, w2_threads=[1, 2, 4],
                   w2_tracers=[BASE, GILSCOPE, BPFTRACE, BPF_EMPTY], diag=True)
    cfg["w1_threads"] = 4
    cfg["w1_interval_ms"] = 5.0

    b = Bench(a)
    TMPDIRS.append(b.tmp)
    b.load = [loadavg(), None]
    t_start = time.monotonic()
    try:
        b.discover_probes()
        log("CPython %s, probes %s in %s" % (b.version, b.probes[1] + b.probes[2], b.probes[0]))
        w1 = b.series("cpu", "wl_cpu.py", cfg["w1_threads"], [BASE, GILSCOPE],
                      cfg["rounds"], cfg["w1_warmup"], cfg["w1_window"])
        w2 = {}
        for n in cfg["w2_threads"]:
            tracers = cfg["w2_tracers"] if n == 1 else [BASE, GILSCOPE, BPFTRACE]
            w2[n] = b.series("gilcycle-%dt" % n, "wl_gilcycle.py", n, tracers, cfg["rounds"],
                             cfg["w2_warmup"], cfg["w2_window"])
        diag = None
        if cfg["diag"]:
            sf = StatsFd()
            if sf.fd >= 0:
                try:
                    diag = {}
                    for t in (GILSCOPE, BPFTRACE):
                        diag[t] = b.run_once("wl_gilcycle.py", 1, t, cfg["w2_warmup"],
                                             cfg["w2_window"], bpf_stats=True)
                        log("diag %s done" % t)
                finally:
                    sf.close()
            else:
                b.errors.append("BPF_ENABLE_STATS unavailable: no per-program run times")
    finally:
        cleanup()
    elapsed = time.monotonic() - t_start
    b.load[1] = loadavg()
    text = report(b, cfg, w1, w2, diag, elapsed)
    sys.stdout.write(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
        log("wrote %s" % a.out)
    return 0


def on_signal(sig, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    # SIGINT too: a shell starts background jobs with SIGINT ignored.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        sys.exit(main())
    except BenchError as e:
        log("error: %s" % e)
        sys.exit(1)
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
    finally:
        cleanup()
