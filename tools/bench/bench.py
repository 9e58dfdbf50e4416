#!/usr/bin/python3
"""gilscope overhead benchmark driver (stdlib only; run as root).

Measures, on one machine and within one run, gilscope against its peers
(untraced; gilscope; gilscope --light, no uprobe; gilscope with Python
stacks; the trap floor: empty
uprobes at gilscope's own probe sites; a naive bpftrace script with
hold/wait histograms; `perf record` of the same uprobes):
  1. GIL-cycle microbenchmark (os.read on /dev/zero), 1, 2 and 4 threads:
     added cost per GIL cycle of each tracer;
  2. 4 CPU-bound threads (forced switches only): slowdown;
  3. a threaded HTTP server under wrk: requests/s and p99 latency;
  4. scale: 1..1000 mostly idle threads plus 4 busy ones: gilscope's own
     CPU and memory; and a long GIL-cycle run showing that its memory
     does not grow with the number of events;
  5. a gunicorn gthread Flask app (Debian's python3, 2 workers x 8
     threads) under wrk: untraced, exact and light mode with --children;
  plus one diagnostic run per tracer mode with BPF run-time statistics.

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
import http.client
import json
import os
import pickle
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
WORKLOADS = os.path.join(REPO, "tools", "workloads")   # wl_*.py, _wl.py
# The trap-floor tool, as `make bench-floor` builds it.
FLOOR_TOOL = os.path.join(REPO, ".output", "bench", "floor")
# What one uprobe hit costs by instruction kind (tools/bench/trapprice.c),
# built next to the floor tool.
TRAPPRICE_TOOL = os.path.join(REPO, ".output", "bench", "trapprice")
# Workload 5, gunicorn: Debian's interpreter with Debian's python3-gunicorn
# and python3-flask (tools/bench/run.sh installs them).
GUNI_PYTHON = "/usr/bin/python3"

BASE, GS, GSS = "untraced", "gilscope", "gilscope-stacks"
# `record --light`: no uprobe; futex tracepoints on the GIL's words, GIL
# reads at switch-outs and CPU-sampling ticks (bpf/light.bpf.h).
GSL = "gilscope-light"
BT, BTE, PERF = "bpftrace", "bpftrace-empty", "perf"
# Empty BPF uprobes at exactly gilscope's probe sites (tools/bench/floor.c):
# the cost of the traps alone.
FLOOR = "trap-floor"
# Empty BPF programs on the tracepoints --light attaches (floor -t: futex
# syscall entry/exit, sched_switch; they fire for every process): the cost
# of --light's events alone, its floor as the trap floor is exact mode's.
LFLOOR = "tracepoint-floor"
PEERS = (BT, BTE, PERF, FLOOR, LFLOOR)
GS_MODES = (GS, GSL, GSS)
# Tracers of the timed rounds, in round order.
TRACERS = [BASE, GS, GSL, GSS, FLOOR, BT, PERF]
# The servers (workloads 3 and 5) also run under --light's tracepoint floor.
SERVER_TRACERS = TRACERS + [LFLOOR]
# The gunicorn app (workload 5): gilscope on the master and its workers.
GUNI_TRACERS = [BASE, GS, GSL, LFLOOR]

# perf probe group of our own, so that cleaning up removes only ours.
PERF_GROUP = "gilscope_bench"

# Children still running and our temporary directories; cleanup() ends and
# removes them whatever happens. CLEANUPS: more functions to run then.
CHILDREN = []
TMPDIRS = []
CLEANUPS = []
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
    while CLEANUPS:
        try:
            CLEANUPS.pop()()
        except Exception as e:
            log("cleanup: %s" % e)
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


def proc_cpu_total_s(pid):
    """CPU time (user+sys) of pid including its exited threads, in s (10 ms
    resolution); None if gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def proc_status_kb(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def fdinfos(pid):
    """The text of each of pid's /proc/PID/fdinfo entries (None when pid is
    gone)."""
    d = "/proc/%d/fdinfo" % pid
    try:
        fds = os.listdir(d)
    except OSError:
        return None
    out = []
    for fd in fds:
        try:
            with open(os.path.join(d, fd)) as f:
                out.append(f.read())
        except OSError:
            continue
    return out


def prog_fd_stats(pid):
    """{prog_id: (run_time_ns, run_cnt)} over pid's BPF program fds."""
    out = {}
    for txt in fdinfos(pid) or []:
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


def map_memlock(pid):
    """(maps, bytes) of the BPF maps pid holds: their memlock is fixed when
    they are created, whatever the number of events."""
    ids = {}
    texts = fdinfos(pid)
    if texts is None:
        return None
    for txt in texts:
        m = re.search(r"^map_id:\s*(\d+)", txt, re.M)
        k = re.search(r"^memlock:\s*(\d+)", txt, re.M)
        if m and k:
            ids[int(m.group(1))] = int(k.group(1))
    return len(ids), sum(ids.values())


def breakpoints(pid, spots):
    """For each (file, offset) in spots: is there a breakpoint (int3) at it
    in pid's memory, i.e. has the kernel installed a uprobe there for this
    process? None where it cannot tell."""
    out = [None] * len(spots)
    try:
        with open("/proc/%d/maps" % pid) as f:
            maps = [l.split() for l in f]
        with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
            for i, (path, off) in enumerate(spots):
                for m in maps:
                    if len(m) < 6 or m[5] != path or "x" not in m[1]:
                        continue
                    lo, hi = (int(x, 16) for x in m[0].split("-"))
                    foff = int(m[2], 16)
                    if foff <= off < foff + hi - lo:
                        mem.seek(lo + off - foff)
                        out[i] = mem.read(1) == b"\xcc"
                        break
    except (OSError, ValueError):
        pass
    return out


def uprobes_live(pid, spots):
    """True once all of spots have their breakpoint in pid (the uprobes
    are installed when a perf event on them opens for this process)."""
    return all(breakpoints(pid, spots))


def foreign_tracers(mine):
    """'comm[pid]' of other processes with uprobes attached (not in mine)."""
    out = []
    for pid in sorted({p for p, _ in uprobe_owners()} - set(mine)):
        try:
            with open("/proc/%d/comm" % pid) as f:
                out.append("%s[%d]" % (f.read().strip(), pid))
        except OSError:
            out.append("[%d]" % pid)
    return out


def other_gilscopes():
    """'pid: command line' of gilscope processes this driver did not start
    (another session's `top -a` or `serve -a` traces every CPython process
    on the host, ours included; in light mode it leaves no breakpoint to
    see, so look for the process)."""
    with CHILDREN_LOCK:
        mine = {p.pid for p in CHILDREN}
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in mine:
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                if f.read().strip() != "gilscope":
                    continue
            with open("/proc/%s/cmdline" % d, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        args = [a.decode("utf-8", "replace") for a in args[1:] if a]
        if "-a" in args or "--all" in args:  # others trace their own pids
            out.append("%s: gilscope %s" % (d, " ".join(args)))
    return out


def uprobe_owners():
    r = subprocess.run(["bpftool", "perf", "show", "--json"], capture_output=True, timeout=30)
    try:
        items = json.loads(r.stdout or b"[]")
    except ValueError:
        return []
    return [(it.get("pid"), it.get("fd_type")) for it in items
            if it.get("fd_type") in ("uprobe", "uretprobe")]


def parse_wrk(text):
    """requests/s, latency percentiles (ms), errors from `wrk --latency`."""
    out = {}
    m = re.search(r"^Requests/sec:\s*([\d.]+)", text, re.M)
    if m:
        out["rps"] = float(m.group(1))
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
    for pct, val, u in re.findall(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M):
        out["p%s" % pct] = float(val) * unit[u]
    m = re.search(r"^\s*(\d+) requests in", text, re.M)
    if m:
        out["requests"] = int(m.group(1))
    errs = []
    m = re.search(r"Socket errors:(.*)", text)
    if m:
        errs.append("socket errors:" + m.group(1).strip())
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    if m:
        errs.append("%s non-2xx responses" % m.group(1))
    if errs:
        out["wrk_errors"] = "; ".join(errs)
    return out


def bt_hist_counts(text):
    """{map name: total count} over the hist() maps bpftrace printed."""
    tot = {}
    name = None
    for line in text.splitlines():
        m = re.match(r"^(@\w+)", line)
        if m:
            name = m.group(1)
            continue
        m = re.match(r"^[\[(][^\])]*[\])]\s+(\d+)\s*\|", line)
        if m and name:
            tot[name] = tot.get(name, 0) + int(m.group(1))
    return tot


class Unavailable(BenchError):
    """A peer that cannot run on this machine (the report says why)."""


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
        self.unavailable = {}  # tracer -> why it cannot run here
        self.perf_events = []
        self.perf_spots = []
        self.floor = a.floor
        self.floor_specs = []

    def path(self, tag, ext):
        return os.path.join(self.tmp, "%s.%s" % (tag, ext))

    def discover_probes(self):
        """Ask gilscope which functions take and drop the GIL in this
        interpreter, so that the peers probe the same ones (function entry
        and return, the naive way, whatever gilscope's own placement)."""
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
        self.version = t["python_version"]
        self.gs_probes = t["gil_probes"]
        objs = {p["object"] for p in t["gil_probes"]}
        if len(objs) != 1:
            raise BenchError("GIL probes span several objects: %s" % sorted(objs))

        def syms(role):
            out = []
            for p in t["gil_probes"]:
                if p["role"].startswith(role) and re.match(r"^[\w.]+$", p["symbol"]) \
                        and p["symbol"] not in out:
                    out.append(p["symbol"])
            return out
        takes, drops = syms("take"), syms("drop")
        if not takes or not drops:
            raise BenchError("no take/drop GIL functions in %s" % t["gil_probes"])
        self.probes = (objs.pop(), takes, drops)
        # Function entries, to spot other tracers' uprobes in untraced runs.
        self.entry_spots = [(p["object"], p["offset"]) for p in t["gil_probes"]
                            if p["symbol"] in takes + drops and "offset" in p]
        self.nuprobes = 2 * len(takes) + len(drops)
        # The trap floor probes what gilscope attaches: every probe it
        # reports attached, and take_gil's return where it uses it (a take
        # probe is attached only when there are no call sites, and then
        # with a uretprobe).
        for p in t["gil_probes"]:
            if not p.get("attached", True) or "offset" not in p:
                continue
            spec = "%s:%#x" % (p["object"], p["offset"])
            self.floor_specs.append(spec)
            if p["role"] == "take":
                self.floor_specs.append(spec + "%return")

    def measure_trap_price(self):
        """The price of one uprobe hit on an emulated int3 and on a 5-byte
        nop, timed now (tools/bench/trapprice.c): self.trap_price."""
        self.trap_price = {}
        tool = os.path.join(os.path.dirname(self.floor), "trapprice")
        if not os.access(tool, os.X_OK):
            tool = TRAPPRICE_TOOL
        if not os.access(tool, os.X_OK):
            self.trap_price["error"] = "%s is not built (`make bench-floor`)" % tool
            return
        r = subprocess.run([tool], capture_output=True, text=True, timeout=300)
        for m in re.finditer(r"^trapprice: (site_\w+) (-?\d+) ns$", r.stdout, re.M):
            self.trap_price[m.group(1)] = int(m.group(2))
        if r.returncode != 0 or not self.trap_price:
            self.trap_price["error"] = ((r.stdout + r.stderr).strip().splitlines() or ["rc=%d" % r.returncode])[-1]

    def setup_floor(self):
        """Find (or build, at its default place) the trap-floor tool."""
        if not os.access(self.floor, os.X_OK) and self.floor == FLOOR_TOOL:
            r = subprocess.run(["make", "-C", REPO, "-s", "bench-floor"], capture_output=True,
                               text=True, timeout=300)
            if r.returncode != 0:
                err = [l for l in (r.stderr or r.stdout).splitlines() if l.strip()]
                self.unavailable[FLOOR] = ("`make bench-floor` failed: %s"
                                           % (err[-1] if err else r.returncode))
                return
        if not os.access(self.floor, os.X_OK):
            self.unavailable[FLOOR] = "%s is not built (`make bench-floor`)" % self.floor
        elif not self.floor_specs:
            self.unavailable[FLOOR] = "gilscope reported no attached probe"

    # ------------------------------------------------------------ perf peer

    def setup_perf(self):
        """Create the perf uprobes once (the per4m way: `perf probe -x LIB
        take_gil`, `take_gil%return`, `drop_gil`); remove them at exit."""
        if not shutil.which("perf"):
            self.unavailable[PERF] = ("perf is not installed (`apt-get install linux-perf` "
                                      "failed or was not run)")
            return
        self.perf_version = sh(["perf", "--version"])
        obj, takes, drops = self.probes
        subprocess.run(["perf", "probe", "-q", "-d", PERF_GROUP + ":*"], capture_output=True)
        CLEANUPS.append(self.teardown_perf)
        specs = []
        for s in takes:
            specs += ["%s:%s=%s" % (PERF_GROUP, s, s),
                      "%s:%s_ret=%s%%return" % (PERF_GROUP, s, s)]
        for s in drops:
            specs.append("%s:%s=%s" % (PERF_GROUP, s, s))
        argv = ["perf", "probe", "-x", obj]
        for sp in specs:
            argv += ["-a", sp]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            err = [l for l in r.stderr.splitlines() if l.strip()]
            self.unavailable[PERF] = "`perf probe` failed: %s" % (err[-1] if err else r.returncode)
            return
        # The events perf created, and where: from the kernel's own list.
        try:
            with open("/sys/kernel/tracing/uprobe_events") as f:
                lines = f.read().splitlines()
        except OSError:
            try:
                with open("/sys/kernel/debug/tracing/uprobe_events") as f:
                    lines = f.read().splitlines()
            except OSError as e:
                self.unavailable[PERF] = "cannot read uprobe_events: %s" % e
                return
        for l in lines:
            m = re.match(r"^[pr]:%s/(\S+)\s+(\S+):(0x[0-9a-f]+)" % PERF_GROUP, l)
            if m:
                self.perf_events.append("%s:%s" % (PERF_GROUP, m.group(1)))
                self.perf_spots.append((m.group(2), int(m.group(3), 16)))
        if len(self.perf_events) != len(specs):
            self.unavailable[PERF] = ("perf probe made %d events of %d: %s"
                                      % (len(self.perf_events), len(specs), lines))
        self.perf_drop_events = ["%s:%s" % (PERF_GROUP, s) for s in drops]

    def teardown_perf(self):
        r = subprocess.run(["perf", "probe", "-q", "-d", PERF_GROUP + ":*"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0 and self.perf_events:
            log("could not remove perf probes: %s" % r.stderr.strip())

    # -------------------------------------------------------------- tracers

    def bt_script(self, pid, empty):
        """The naive full bpftrace script: per-thread hold and wait
        histograms from take_gil entry/return and drop_gil entry."""
        obj, takes, drops = self.probes

        def spec(kind, syms):
            return ", ".join('%s:%s:%s' % (kind, obj, s) for s in syms)
        flt = "pid == %d" % pid
        if empty:
            return "\n".join(["%s /%s/ { }" % (spec("uprobe", takes), flt),
                              "%s /%s/ { }" % (spec("uretprobe", takes), flt),
                              "%s /%s/ { }" % (spec("uprobe", drops), flt)]) + "\n"
        return "\n".join([
            "%s /%s/ { @wait_from[tid] = nsecs; }" % (spec("uprobe", takes), flt),
            "%s /%s && @wait_from[tid]/ {" % (spec("uretprobe", takes), flt),
            "  @wait[tid] = hist(nsecs - @wait_from[tid]);",
            "  delete(@wait_from[tid]);",
            "  @acq[tid] = nsecs;",
            "}",
            "%s /%s && @acq[tid]/ {" % (spec("uprobe", drops), flt),
            "  @hold[tid] = hist(nsecs - @acq[tid]);",
            "  delete(@acq[tid]);",
            "}",
            "END { clear(@wait_from); clear(@acq); }"]) + "\n"

    def attach(self, tracer, pid, tag, bpf_stats=False, children=False):
        """Start tracer on pid (children: and its descendants, gilscope
        only); returns its Proc once its probes are live (None untraced)."""
        if tracer == BASE:
            return None
        if tracer in self.unavailable:
            raise Unavailable(self.unavailable[tracer])
        t0 = time.monotonic()
        if tracer in GS_MODES:
            argv = [self.gilscope, "record", "-p", str(pid), "--json", self.path(tag, "json")]
            if tracer == GSL:
                argv.append("--light")
            if children:
                argv.append("--children")
            if tracer == GSS:
                argv += ["--folded", self.path(tag, "folded")]
            if bpf_stats:
                argv.append("--bpf-stats")
            tr = Proc(argv, tracer + "-" + tag, stdout_file=subprocess.DEVNULL)
            tr.wait_line("err", lambda l: l.startswith("gilscope: tracing PID"), 120,
                         "its 'tracing PID' line")
        elif tracer in (BT, BTE):
            bt = self.path(tag, "bt")
            with open(bt, "w") as f:
                f.write(self.bt_script(pid, tracer == BTE))
            tr = Proc(["bpftrace", "-p", str(pid), bt], tracer + "-" + tag)
            # bpftrace prints nothing once attached: watch its perf event
            # fds until every uprobe is in place.
            deadline = time.monotonic() + 60
            while perf_uprobes(tr.pid) < self.nuprobes:
                if not tr.alive() or time.monotonic() > deadline:
                    raise BenchError("bpftrace did not attach: %s" % tr.text("err"))
                time.sleep(0.05)
        elif tracer == FLOOR:
            tr = Proc([self.floor, "-p", str(pid)] + self.floor_specs, tracer + "-" + tag)
            tr.wait_line("err", lambda l: l.startswith("floor: attached"), 60,
                         "its 'attached' line")
        elif tracer == LFLOOR:
            if FLOOR in self.unavailable and not os.access(self.floor, os.X_OK):
                raise BenchError(self.unavailable[FLOOR])
            tr = Proc([self.floor, "-t", "-p", str(pid)], tracer + "-" + tag)
            tr.wait_line("err", lambda l: l.startswith("floor: attached"), 60,
                         "its 'attached' line")
        elif tracer == PERF:
            argv = ["perf", "record", "-k", "CLOCK_MONOTONIC"]
            for e in self.perf_events:
                argv += ["-e", e]
            argv += ["-p", str(pid), "-o", self.path(tag, "perf.data")]
            tr = Proc(argv, tracer + "-" + tag)
            # perf prints nothing once attached: wait for its breakpoints
            # in the target, then a little for the events' enabling.
            deadline = time.monotonic() + 60
            while not uprobes_live(pid, self.perf_spots):
                if not tr.alive() or time.monotonic() > deadline:
                    raise BenchError("perf record did not attach: %s" % tr.text("err"))
                time.sleep(0.02)
            time.sleep(0.05)
        else:
            raise BenchError("unknown tracer %s" % tracer)
        tr.attach_s = time.monotonic() - t0
        return tr

    def detach(self, tracer, tr, tag, res):
        """Wait for tracer to end (it stops on its target's exit) and collect
        its own cost and what it saw."""
        if not tr.wait(60):
            tr.stop(signal.SIGINT, 15)
            raise BenchError("%s did not stop after its target exited" % tr.name)
        if tracer in GS_MODES and tr.p.returncode == 3:
            # The report was written but its self-check failed: keep the
            # run (its cost is what is measured here), say so.
            res["check_failed"] = tr.text("err").strip().splitlines()[-1:] or ["exit 3"]
        elif tr.status != 0 and tracer != BTE:
            raise BenchError("%s exited with %s: %s" % (tr.name, tr.status, tr.text("err")))
        res["attach_s"] = tr.attach_s
        res["wall_s"] = time.monotonic() - tr.t_start
        if tr.rusage is not None:
            res["life_cpu_s"] = tr.rusage.ru_utime + tr.rusage.ru_stime
            res["maxrss_kb"] = tr.rusage.ru_maxrss
        try:
            if tracer in GS_MODES:
                with open(self.path(tag, "json")) as f:
                    j = json.load(f)
                g = j["gil"]
                n = g["hold"]["count"] + g.get("partial_holds", {}).get("count", 0)
                if j.get("mode"):
                    res["mode"] = j["mode"]
                if j.get("children") is not None:
                    res["children_traced"] = len(j["children"])
                    for c in j["children"]:
                        cg = c.get("gil") or {}
                        n += ((cg.get("hold") or {}).get("count") or 0) + \
                            ((cg.get("partial_holds") or {}).get("count") or 0)
                res["events"] = n
                res["hold_count"] = g["hold"]["count"]
                res["gs_window_s"] = j.get("window_s")
                if j.get("window_s"):
                    res["gil_cycles_per_s"] = n / j["window_s"]
                res["threads_seen"] = len(j.get("threads") or [])
                res["lost"] = j.get("lost")
                if "bpf" in j:
                    res["bpf"] = j["bpf"]
            elif tracer == BT:
                c = bt_hist_counts(tr.text("out"))
                res["events"] = c.get("@hold")
            elif tracer == PERF:
                data = self.path(tag, "perf.data")
                try:
                    res["perf_mb"] = os.path.getsize(data) / 1e6
                    r = subprocess.run(["perf", "report", "-i", data, "--stats"],
                                       capture_output=True, text=True, timeout=120)
                    ev = dict(re.findall(r"^(\S+) stats:\s*\n\s*SAMPLE events:\s*(\d+)",
                                         r.stdout, re.M))
                    res["events"] = sum(int(ev.get(e, 0)) for e in self.perf_drop_events)
                    m = re.search(r"^\s*LOST events:\s*(\d+)", r.stdout, re.M)
                    res["lost"] = int(m.group(1)) if m else 0
                    m = re.search(r"^\s*LOST_SAMPLES events:\s*(\d+)", r.stdout, re.M)
                    if m:
                        res["lost"] += int(m.group(1))
                finally:
                    if os.path.exists(data):
                        os.unlink(data)
        except (OSError, ValueError, KeyError) as e:
            log("%s: cannot read what it saw: %s" % (tr.name, e))

    # ------------------------------------------------------------ run kinds

    def run_wl(self, script, threads, tracer, warmup, window, bpf_stats=False,
               kernel_stats=False, rss_every=None, extra=()):
        """One run of a workload of the _wl.run protocol under one condition."""
        self.seq += 1
        tag = "%03d-%s" % (self.seq, tracer)
        start_file = self.path(tag, "start")
        res = {"tracer": tracer, "threads": threads}
        samples = {}
        tr_box = [None]
        rss = []
        rss_stop = threading.Event()

        def rss_sampler(pid):
            while not rss_stop.wait(rss_every):
                v = proc_status_kb(pid, "VmRSS")
                if v is not None:
                    rss.append((time.monotonic(), v))

        def on_wl_line(key, line):
            # Sample the tracer exactly at the window edges.
            if key != "out" or line not in ("WINDOW_START", "WINDOW_END"):
                return
            tr = tr_box[0]
            s = {"t": time.monotonic()}
            if tracer == BASE and any(breakpoints(wl.pid, self.entry_spots)):
                s["foreign"] = True
            if tr is not None:
                s["cpu"] = proc_cpu_ns(tr.pid)
                s["hwm"] = proc_status_kb(tr.pid, "VmHWM")
                s["rss"] = proc_status_kb(tr.pid, "VmRSS")
                if kernel_stats:
                    s["progs"] = prog_fd_stats(tr.pid)
                if line == "WINDOW_END":  # the window is over: time to spare
                    if tracer in GS_MODES:
                        s["maps"] = map_memlock(tr.pid)
                    if kernel_stats:
                        s["names"] = prog_names()
                        for pid, kind in perf_attachments(tr.pid):
                            if pid in s["names"] and kind in ("uprobe", "uretprobe"):
                                s["names"][pid] += " (%s)" % kind
                if rss_every:
                    if line == "WINDOW_START":
                        rss.append((s["t"], s["rss"]))
                        threading.Thread(target=rss_sampler, args=(tr.pid,),
                                         daemon=True).start()
                    else:
                        rss_stop.set()
                        rss.append((s["t"], s["rss"]))
            samples[line] = s

        argv = [self.python, "-B", os.path.join(WORKLOADS, script)]
        if threads is not None:
            argv += ["--threads", str(threads)]
        argv += ["--warmup", str(warmup), "--window", str(window),
                 "--start-file", start_file] + list(extra)
        wl = Proc(argv, "workload-" + tag, on_line=on_wl_line)
        tr = None
        try:
            wl.wait_line("out", lambda l: l.startswith("READY"), 120, "READY")
            tr = tr_box[0] = self.attach(tracer, wl.pid, tag, bpf_stats)
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
            if any(x.get("foreign") for x in samples.values()):
                self.foreign(res, tag)
            res["others"] = other_gilscopes()
            cpu = float(kv.get("cpu", 0))
            res["cpu_s"] = cpu
            res["rate_cpu"] = res["ops"] / cpu if cpu > 0 else None
            res["cpu_ns_op"] = cpu * 1e9 / res["ops"] if res["ops"] else None
            if "ctxsw" in kv and float(kv["secs"]) > 0:
                res["ctxsw_per_s"] = int(kv["ctxsw"]) / float(kv["secs"])
            if tr is not None:
                rss_stop.set()
                a, b = samples.get("WINDOW_START"), samples.get("WINDOW_END")
                if a and b and a.get("cpu") is not None and b.get("cpu") is not None:
                    res["win_s"] = b["t"] - a["t"]
                    res["win_cpu_s"] = (b["cpu"] - a["cpu"]) / 1e9
                    res["hwm_kb"] = b.get("hwm")
                    res["maps"] = b.get("maps")
                    if kernel_stats:
                        res["progs"] = {pid: (b["progs"][pid][0] - a["progs"].get(pid, (0, 0))[0],
                                              b["progs"][pid][1] - a["progs"].get(pid, (0, 0))[1])
                                        for pid in b.get("progs", {})}
                        res["prog_names"] = b.get("names", {})
                if rss_every:
                    res["rss"] = [(t - rss[0][0], v) for t, v in rss if v is not None]
                self.detach(tracer, tr, tag, res)
            return res
        finally:
            rss_stop.set()
            wl.stop(signal.SIGKILL, 2)
            if tr is not None:
                tr.stop(signal.SIGINT, 10)

    def foreign(self, res, tag):
        """An untraced run found uprobes on the GIL functions: some other
        process on this machine traces this libpython (its probes then
        trap in every process that maps it)."""
        who = foreign_tracers([])
        res["foreign"] = who or ["?"]
        log("%s: WARNING: uprobes of another tracer in the untraced run (%s)"
            % (tag, ", ".join(who) or "owner unknown"))

    @staticmethod
    def wrk(port, cfg):
        """One wrk run against 127.0.0.1:port, as cfg says."""
        return subprocess.run(["wrk", "-t%d" % cfg["wrk_threads"], "-c%d" % cfg["wrk_conns"],
                               "-d%ds" % cfg["wrk_secs"], "--latency",
                               "http://127.0.0.1:%d/" % port],
                              capture_output=True, text=True, timeout=cfg["wrk_secs"] + 60)

    @staticmethod
    def wrk_result(r, res, tr, tr_cpu0, t0, t1):
        """Into res: the tracer's CPU over the run [t0, t1] and its peak
        memory, and wrk's figures (requests/s, latencies)."""
        if tr is not None:
            c1 = proc_cpu_ns(tr.pid)
            if tr_cpu0 is not None and c1 is not None:
                res["win_s"], res["win_cpu_s"] = t1 - t0, (c1 - tr_cpu0) / 1e9
            res["hwm_kb"] = proc_status_kb(tr.pid, "VmHWM")
        if r.returncode != 0:
            raise BenchError("wrk failed: %s" % (r.stderr or r.stdout).strip())
        res.update(parse_wrk(r.stdout))
        if "rps" not in res or "p99" not in res:
            raise BenchError("cannot read wrk's output:\n%s" % r.stdout)
        res["rate"] = res["rps"]

    def run_http(self, tracer, cfg, bpf_stats=False):
        """One wrk run against a fresh threaded HTTP server."""
        self.seq += 1
        tag = "%03d-%s" % (self.seq, tracer)
        res = {"tracer": tracer}
        srv = Proc([self.python, "-B", os.path.join(WORKLOADS, "wl_http.py")], "workload-" + tag)
        tr = None
        try:
            srv.wait_line("out", lambda l: l.startswith("READY"), 60, "READY")
            _, line = srv.wait_line("out", lambda l: l.startswith("PORT "), 1, "PORT")
            port = int(line.split()[1])
            tr = self.attach(tracer, srv.pid, tag, bpf_stats)
            # A few requests first (traced), so that the server is warm.
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for _ in range(cfg["http_warm_requests"]):
                c.request("GET", "/")
                c.getresponse().read()
            c.close()
            t0 = time.monotonic()
            tr_cpu0 = proc_cpu_ns(tr.pid) if tr else None
            srv_cpu0 = proc_cpu_total_s(srv.pid)  # handler threads exit with wrk
            r = self.wrk(port, cfg)
            t1 = time.monotonic()
            srv_cpu1 = proc_cpu_total_s(srv.pid)
            if tracer == BASE and any(breakpoints(srv.pid, self.entry_spots)):
                self.foreign(res, tag)
            self.wrk_result(r, res, tr, tr_cpu0, t0, t1)
            res["others"] = other_gilscopes()
            if srv_cpu0 is not None and srv_cpu1 is not None and res.get("requests"):
                res["srv_cpu_us_req"] = (srv_cpu1 - srv_cpu0) * 1e6 / res["requests"]
            srv.stop(signal.SIGTERM, 10)
            if tr is not None:
                self.detach(tracer, tr, tag, res)
            return res
        finally:
            srv.stop(signal.SIGKILL, 2)
            if tr is not None:
                tr.stop(signal.SIGINT, 10)

    def discover_sites(self, python):
        """gilscope's attached GIL probe sites [(object, offset)] in
        another interpreter (python), to see its uprobes in a process."""
        target = Proc([python, "-c", "import time; time.sleep(60)"], "workload-discover")
        try:
            time.sleep(0.3)
            js = os.path.join(self.tmp, "discover-%d.json" % target.pid)
            r = subprocess.run([self.gilscope, "record", "-p", str(target.pid), "-d", "0.2",
                                "--json", js], capture_output=True, timeout=60)
            if r.returncode != 0:
                raise BenchError("gilscope cannot trace %s: %s"
                                 % (python, r.stderr.decode(errors="replace").strip()))
            with open(js) as f:
                t = json.load(f)["target"]
        finally:
            target.stop(signal.SIGKILL, 2)
        return t["python_version"], [(p["object"], p["offset"]) for p in t["gil_probes"]
                                     if p.get("attached", True) and "offset" in p]

    def setup_gunicorn(self):
        """Debian's python3 with python3-gunicorn and python3-flask (run.sh
        installs them), and where gilscope probes it."""
        py = GUNI_PYTHON
        if not os.access(py, os.X_OK):
            self.unavailable["gunicorn"] = "%s is not there" % py
            return
        r = subprocess.run([py, "-c", "import gunicorn, flask, sys; print(gunicorn.__version__, "
                            "flask.__version__, sys.version.split()[0])"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            err = [l for l in r.stderr.splitlines() if l.strip()]
            self.unavailable["gunicorn"] = ("%s cannot import gunicorn and flask (Debian's "
                                            "python3-gunicorn, python3-flask): %s"
                                            % (py, err[-1] if err else r.returncode))
            return
        self.guni_versions = r.stdout.split()
        try:
            self.guni_pyver, self.guni_spots = self.discover_sites(py)
        except BenchError as e:
            self.unavailable["gunicorn"] = str(e).splitlines()[0]

    def run_gunicorn(self, tracer, cfg, bpf_stats=False):
        """One wrk run against a fresh gunicorn gthread app (2 workers x 8
        threads): requests/s, latency, and the CPU of master + workers per
        request. gilscope traces the master with --children."""
        if "gunicorn" in self.unavailable:
            raise Unavailable(self.unavailable["gunicorn"])
        self.seq += 1
        tag = "%03d-guni-%s" % (self.seq, tracer)
        res = {"tracer": tracer}
        argv = [GUNI_PYTHON, "-B", "-m", "gunicorn", "-k", "gthread",
                "-w", str(cfg["guni_workers"]), "--threads", str(cfg["guni_threads"]),
                "-b", "127.0.0.1:0", "--chdir", WORKLOADS, "wl_flask:app"]
        srv = Proc(argv, "workload-" + tag)
        tr = None
        try:
            _, line = srv.wait_line("err", lambda l: "Listening at: http://" in l, 60,
                                    "its 'Listening at' line")
            port = int(re.search(r"Listening at: http://[\d.]+:(\d+)", line).group(1))
            workers = []
            deadline = time.monotonic() + 60
            while len(workers) < cfg["guni_workers"]:
                _, line = srv.wait_line(
                    "err", lambda l: "Booting worker with pid" in l
                    and int(l.rsplit(None, 1)[1]) not in workers,
                    max(1, deadline - time.monotonic()), "its workers")
                workers.append(int(line.rsplit(None, 1)[1]))
            pids = [srv.pid] + workers
            # The workers import Flask and the app after their boot line:
            # answered requests from each say they are serving.
            tr = self.attach(tracer, srv.pid, tag, bpf_stats, children=True)
            if tracer == GS:
                # --children attaches to the running workers: wait for
                # their breakpoints (not timed).
                deadline = time.monotonic() + 60
                while not all(uprobes_live(w, self.guni_spots) for w in workers):
                    if not tr.alive() or time.monotonic() > deadline:
                        raise BenchError("gilscope --children did not reach the workers")
                    time.sleep(0.05)
            c = None
            for _ in range(cfg["http_warm_requests"]):
                for attempt in range(50):
                    try:
                        if c is None:
                            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                        c.request("GET", "/")
                        c.getresponse().read()
                        break
                    except (OSError, http.client.HTTPException):
                        if c is not None:
                            c.close()
                        c = None
                        time.sleep(0.1)
                else:
                    raise BenchError("gunicorn does not answer")
            if c is not None:
                c.close()
            tr_cpu0 = proc_cpu_ns(tr.pid) if tr else None
            # gthread's threads live as long as their worker: the sum of
            # their schedstat run times (ns) is the processes' CPU time.
            cpu0 = [proc_cpu_ns(p) for p in pids]
            tick0 = [proc_cpu_total_s(p) for p in pids]
            t0 = time.monotonic()
            r = self.wrk(port, cfg)
            t1 = time.monotonic()
            cpu1 = [proc_cpu_ns(p) for p in pids]
            tick1 = [proc_cpu_total_s(p) for p in pids]
            if tracer == BASE and any(any(breakpoints(w, self.guni_spots)) for w in workers):
                self.foreign(res, tag)
            self.wrk_result(r, res, tr, tr_cpu0, t0, t1)
            if None in cpu0 or None in cpu1 or None in tick0 or None in tick1:
                raise BenchError("a gunicorn process exited during the run (worker restart?)")
            res["srv_cpu_us_req"] = (sum(cpu1) - sum(cpu0)) / 1e3 / res["requests"]
            # The same from /proc/PID/stat (counts exited threads too; 10 ms
            # ticks): a cross-check.
            res["srv_cpu_us_req_stat"] = (sum(tick1) - sum(tick0)) * 1e6 / res["requests"]
            res["cpu_split_s"] = [(b - a) / 1e9 for a, b in zip(cpu0, cpu1)]
            res["others"] = other_gilscopes()
            srv.stop(signal.SIGTERM, 30)
            if tr is not None:
                self.detach(tracer, tr, tag, res)
            return res
        finally:
            srv.stop(signal.SIGKILL, 2)
            for w in locals().get("workers") or []:
                try:  # a worker left behind (its master was killed)
                    with open("/proc/%d/cmdline" % w, "rb") as f:
                        if b"gunicorn" in f.read():
                            os.kill(w, signal.SIGKILL)
                except OSError:
                    pass
            if tr is not None:
                tr.stop(signal.SIGINT, 10)

    def series(self, name, tracers, rounds, fn):
        """rounds x (each tracer in turn): {tracer: [result per round]}.
        A peer that fails (or cannot run here) gets {"error": why}."""
        out = {t: [] for t in tracers}
        self.load_seen = getattr(self, "load_seen", []) + [loadavg()]
        for r in range(rounds):
            for t in tracers:
                if t in self.unavailable:
                    out[t].append({"error": self.unavailable[t]})
                    continue
                try:
                    res = fn(t)
                except BenchError as e:
                    if t not in PEERS and t != GSL:
                        raise
                    msg = str(e).strip().splitlines()
                    res = {"error": msg[0] if msg else "failed"}
                    self.errors.append("%s, %s, round %d: %s" % (name, t, r + 1, str(e).strip()))
                out[t].append(res)
                if "error" in res:
                    log("%s r%d/%d %-16s FAILED: %s" % (name, r + 1, rounds, t, res["error"]))
                else:
                    log("%s r%d/%d %-16s %12.0f %s" % (name, r + 1, rounds, t, res["rate"],
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


def col(rs, key):
    """key of every successful result in rs."""
    return [r.get(key) for r in rs if "error" not in r]


def fmt_rate(x):
    return "-" if x != x else "{:,.0f}".format(x)


def f0(x):
    return "-" if x is None or x != x else "%.0f" % x


def f1(x):
    return "-" if x is None or x != x else "%.1f" % x


def f2(x):
    return "-" if x is None or x != x else "%.2f" % x


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


def failed(b, rs, t):
    """Why every run of tracer t in rs failed (None if some succeeded)."""
    if any("error" not in r for r in rs):
        return None
    return b.unavailable.get(t) or (rs[0].get("error") if rs else "not run")


def yes(cond):
    return "**met**" if cond else "**NOT met**"


def gil_cost(w1, n, t):
    """(added wall ns/cycle from medians, added CPU-ns/cycle) of tracer t
    at n threads in workload 1."""
    s = w1.get(n, {})
    if t not in s or BASE not in s:
        return NAN, NAN
    return (added_ns(med(col(s[t], "rate")), med(col(s[BASE], "rate"))),
            med(col(s[t], "cpu_ns_op")) - med(col(s[BASE], "cpu_ns_op")))


def non_gil_ns_per_s(d):
    """BPF time per second (ns) of the programs not on the GIL functions
    (scheduler tracepoints, CPU sampling), from a --bpf-stats run."""
    if not d or "bpf" not in d or not d.get("gs_window_s"):
        return None, []
    tot, parts = 0.0, []
    for p in d["bpf"].get("programs", []):
        if "gil" in p["name"] or not p.get("runs"):
            continue
        rate = p["runs"] / d["gs_window_s"]
        tot += p["run_ns"] / d["gs_window_s"]
        parts.append("%s %.0f/s x %.0f ns" % (p["name"], rate, p["run_ns"] / p["runs"]))
    return tot, parts


def estimate(gil_per_s, per_cycle_ns, other_ns_per_s):
    """Share (%) of one GIL-serialised second spent in probes."""
    if gil_per_s != gil_per_s or per_cycle_ns != per_cycle_ns:
        return NAN
    return (gil_per_s * per_cycle_ns + (other_ns_per_s or 0)) / 1e9 * 100


def trap_ns(w1, diag, n1):
    """Cost of one uprobe hit without its BPF program (ns): gilscope's added
    CPU-ns per GIL cycle in workload 1 minus the BPF time of its GIL
    programs per cycle (--bpf-stats run), per probe hit. Also returns the
    hits per cycle."""
    d = (diag or {}).get("gil", {}).get(GS)
    _, added = gil_cost(w1 or {}, n1, GS)
    if not d or not d.get("bpf") or added != added:
        return NAN, NAN
    cyc = d.get("hold_count") or d.get("events")
    gil = [p for p in d["bpf"].get("programs", []) if "gil" in p["name"]]
    hits = div(sum(p["runs"] for p in gil), cyc)
    bpf = div(sum(p["run_ns"] for p in gil), cyc)
    return max(0.0, div(added - bpf, hits)), hits


def http_estimate(b, cfg, w1, diag, base_rps):
    """(hits/req, BPF ns/req, trap ns, added µs/req, serial µs/req, loss %,
    latency increase %) for gilscope on workload 3, or None."""
    d = (diag or {}).get("http", {}).get(GS)
    trap, _ = trap_ns(w1, diag, cfg["w1_threads"][0])
    if not d or not d.get("bpf") or not d.get("requests") or trap != trap or base_rps != base_rps:
        return None
    nreq = d["requests"] + cfg["http_warm_requests"]
    progs = d["bpf"].get("programs", [])
    hits = sum(p["runs"] for p in progs if "gil" in p["name"]) / nreq
    bpf_ns = sum(p["run_ns"] for p in progs) / nreq
    add_us = (bpf_ns + hits * trap) / 1e3
    serial_us = 1e6 / base_rps
    loss = add_us / (serial_us + add_us) * 100
    return hits, bpf_ns, trap, add_us, serial_us, loss, (1 / (1 - loss / 100) - 1) * 100


def verdict_pct(measured, spread, est, limit):
    """Verdict on a slowdown target from the direct measurement (with its
    spread in points) and the event-count estimate (NaN if none)."""
    if est != est:
        if measured < limit:
            return "met (measured)"
        return ("NOT met as measured (%.2f%%), within this run's noise (spread %.0f points)"
                % (measured, spread) if spread > 2 * abs(measured) else "NOT met")
    # A tracer cannot speed its target up: a slowdown below -limit is the
    # machine's drift between rounds, however tight the rounds look.
    noisy = spread > 2 * abs(measured) or measured < -limit
    if est >= limit:
        if measured < limit and noisy:
            return ("NOT met by the event-count estimate (%.2f%%); the direct measurement "
                    "(%.2f%%) is within this run's noise (spread %.0f points)"
                    % (est, measured, spread))
        return "NOT met (estimate %.2f%%, measured %.2f%%)" % (est, measured)
    if measured < limit and not noisy:
        return "met (measured %.2f%%, estimate %.3f%%)" % (measured, est)
    if noisy:
        return ("met by the event-count estimate (%.3f%%); the direct measurement (%.2f%%) "
                "is within this run's noise (spread %.0f points)" % (est, measured, spread))
    return ("met by the estimate (%.3f%%) but NOT by the direct measurement (%.2f%%, "
            "beyond the noise)" % (est, measured))


def verdict_range(median, low, high, limit):
    """Verdict on an overhead target (%) from the median of per-round paired
    ratios and their range over rounds."""
    if median != median:
        return "not measured"
    rng = "rounds %.1f .. %.1f" % (low, high)
    if high <= limit:
        return "met (every round; %s)" % rng
    if low > limit:
        return "NOT met (every round; %s)" % rng
    # Rounds spread over more than twice the target: this run cannot tell.
    noise = ("; the rounds spread over %.0f points, more than twice the target: within this "
             "run's noise" % (high - low)) if high - low > 2 * limit else ""
    if median <= limit:
        if noise:
            return "not shown (median %.1f%%, %s%s)" % (median, rng, noise)
        return "met by the median, not in every round (%s)" % rng
    return "NOT met by the median (%s%s)" % (rng, noise)


def paired(s, t, key, base=None):
    """Per-round ratios traced/untraced of key for tracer t in series s,
    minus 1, in %: (median, min, max), NaN when not measured."""
    xs = [div(r.get(key), u.get(key)) for r, u in zip(s.get(t, []), s.get(base or BASE, []))
          if "error" not in r and "error" not in u]
    xs = [(x - 1) * 100 for x in ok(xs)]
    return med(xs), lo(xs), hi(xs)


def server_costs(s, t):
    """For a server series s (w3, w5) and tracer t against untraced: dict of
    the medians and the paired per-round figures (%): CPU per request
    increase, throughput loss, p99 increase."""
    c, clo, chi = paired(s, t, "srv_cpu_us_req")
    r, rlo, rhi = paired(s, t, "rps")
    p, plo, phi = paired(s, t, "p99")
    return dict(cpu=(c, clo, chi), loss=(-r, -rhi, -rlo), p99=(p, plo, phi),
                rps=med(col(s.get(t, []), "rps")), p99ms=med(col(s.get(t, []), "p99")),
                cpu_us=med(col(s.get(t, []), "srv_cpu_us_req")))


def public_args():
    """This run's command-line arguments, without the development ones."""
    out, skip = [], False
    for x in sys.argv[1:]:
        if skip:
            skip = False
        elif x in ("--dump", "--report", "--only"):
            skip = True
        elif not x.startswith(("--dump=", "--report=", "--only=")):
            out.append(x)
    return out


def report_head(b, cfg, elapsed):
    """The title and the machine table."""
    a = b.a
    L = []
    now = datetime.datetime.now(datetime.timezone.utc)
    rev = sh(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"])
    L.append("# gilscope overhead benchmarks")
    L.append("")
    L.append("Generated by `tools/bench/run.sh%s`. Numbers are from one run on the machine "
             "below; rerun to measure yours: `sudo make bench` (about 15 minutes) or "
             "`sudo tools/bench/run.sh --quick` (about 3 minutes); `--python 3.12.1` picks "
             "another pyenv interpreter, `--rounds N`, `--out FILE` ('' = stdout only). "
             "run.sh installs the peers it needs (bpftrace, linux-perf, wrk, and Debian's "
             "python3-gunicorn and python3-flask for workload 5) with apt-get when they are "
             "missing."
             % "".join(" " + x for x in public_args()))
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    L.append("| date | %s |" % now.strftime("%Y-%m-%d %H:%M UTC"))
    L.append("| kernel | %s %s |" % (platform.release(), platform.machine()))
    L.append("| CPU | %s, %d logical CPUs |" % (cpu_model(), os.cpu_count()))
    L.append("| interpreter | CPython %s (`%s`) |" % (b.version, b.python))
    L.append("| GIL functions | %s in `%s` |" % (", ".join(b.probes[1] + b.probes[2]), b.probes[0]))
    L.append("| gilscope's probes | %s |" % ", ".join(
        "%s `%s`" % (p["role"], p["symbol"]) for p in b.gs_probes))
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
    L.append("| perf | %s%s |" % (getattr(b, "perf_version", None) or "-",
                                  "" if PERF not in b.unavailable else
                                  "; **unavailable: %s**" % b.unavailable[PERF]))
    tp = getattr(b, "trap_price", None) or {}
    if tp.get("error"):
        L.append("| uprobe hit price (`tools/bench/trapprice`) | **not measured: %s** |" % tp["error"])
    elif tp:
        L.append("| uprobe hit price (`tools/bench/trapprice`, at start) | %s on an int3 the kernel emulates "
                 "(a function entry's `push %%rbp`); %s on a 5-byte nop (`0f 1f 44 00 00`, which this "
                 "kernel %s) |" % (
                     "%s ns" % tp["site_push"] if "site_push" in tp else "?",
                     "%s ns" % tp["site_nop5"] if "site_nop5" in tp else "?",
                     "turns into a call to its uprobe trampoline" if "site_nop5" in tp and "site_push" in tp
                     and tp["site_nop5"] < 0.5 * tp["site_push"] else "does not optimize: the same int3"))
    L.append("| wrk | %s |" % ((sh(["sh", "-c", "wrk -v 2>&1 | head -1"]) or "?").split(" [")[0]
                               if shutil.which("wrk") else "not installed"))
    if getattr(b, "guni_versions", None):
        L.append("| gunicorn app (workload 5) | gunicorn %s, Flask %s on Debian's CPython %s "
                 "(`%s`, python3-gunicorn, python3-flask) |"
                 % tuple(b.guni_versions[:3] + [GUNI_PYTHON]))
    elif getattr(b, "unavailable", {}).get("gunicorn"):
        L.append("| gunicorn app (workload 5) | **unavailable: %s** |" % b.unavailable["gunicorn"])
    L.append("| mode | %s: %d interleaved rounds (HTTP: %d), %.0f s total |"
             % ("quick" if a.quick else "default", cfg["rounds"], cfg["http_rounds"], elapsed))
    L.append("| load average (1/5/15 min) | %s at start, %s at end (other processes share "
             "this machine%s) |" % (b.load[0], b.load[1], getattr(b, "busy_note", "")))
    L.append("")
    return L


def report_method(b, cfg):
    """## Method."""
    L = []
    L.append("## Method")
    L.append("")
    L.append("- Each measurement is a fresh workload process (`tools/workloads/wl_*.py`). It "
             "prints `READY`, then waits for a start file. The driver attaches the tracer, "
             "waits until its probes are live, then creates the start file: gilscope at its "
             "`gilscope: tracing PID` line; bpftrace once `bpftool perf show` lists all its "
             "uprobes; perf once the uprobe breakpoints are in the target's memory. Attach "
             "time is never measured.")
    L.append("- After the start file the workload runs its threads for a warm-up (traced), "
             "then counts operations over a fixed wall-time window (`time.perf_counter`), "
             "prints the rate and exits; the tracer stops on the target's exit (and writes "
             "its report, outside the window). The HTTP server is instead loaded by `wrk` "
             "after %d warm-up requests, then stopped." % cfg["http_warm_requests"])
    L.append("- Conditions run interleaved (A B C D E, A B C D E, ...), %d rounds (HTTP %d); "
             "each figure is the median over rounds. Slowdowns are also given as the median "
             "of per-round ratios (each traced run against the untraced run of the same "
             "round), with their range as a noise indicator." % (cfg["rounds"], cfg["http_rounds"]))
    L.append("- Conditions: `untraced`; `gilscope` = `gilscope record -p PID --json F`; "
             "`gilscope-stacks` = the same plus `--folded F` (Python stacks walked in BPF at "
             "every wait start and every GIL drop made while a thread waits, plus CPU sampling at 199 Hz); "
             "`%s` = `gilscope record --light -p PID --json F` (issue 16: no uprobe at all; "
             "futex syscall tracepoints filtered in BPF to the GIL's words, the GIL's state "
             "read at the target's switch-outs and at CPU-sampling ticks, 499 Hz; a GIL taken "
             "and dropped with nobody waiting runs no probe; docs/light-mode.md); `bpftrace` = the "
             "naive full script: uprobe + uretprobe on take_gil, uprobe on drop_gil, "
             "`-p PID` and a `pid` filter, `@wait[tid] = hist(nsecs - @wait_from[tid])` on "
             "take_gil's return and `@hold[tid] = hist(nsecs - @acq[tid])` on drop_gil (the "
             "script is in `bench.py`, `bt_script`); `perf` = per4m's way: `perf probe -x "
             "LIB take_gil`, `take_gil%%return` and `drop_gil` (group `%s`, removed with "
             "`perf probe -d` at the end), then `perf record -k CLOCK_MONOTONIC -e ... -p PID` "
             "to a file (its later `perf script` is not counted)." % (GSL, PERF_GROUP))
    L.append("- `%s` (the trap floor) = `tools/bench/floor -p PID OBJECT:OFFSET ...`: one "
             "empty BPF program (`return 0`) attached as a uprobe, for that PID only and the "
             "same way gilscope attaches (perf-event uprobe link), at exactly the sites "
             "gilscope probes in this interpreter (%d: the entries of gilscope's JSON "
             "`target.gil_probes` marked attached, call-site probes included, plus take_gil's "
             "return where gilscope uses a uretprobe), so the target takes the same traps per "
             "GIL cycle with no BPF work and no tracepoints; ready at its `floor: attached` "
             "line. On a machine where the trap itself is expensive (a nested, paravirtualised "
             "VM here), the floor is what any exact tracer with one probe per GIL event pays; "
             "gilscope minus the floor is what its own BPF programs and scheduler tracepoints "
             "cost." % (FLOOR, len(getattr(b, "floor_specs", []))))
    L.append("- Added cost per GIL cycle = 1e9/traced_rate - 1e9/untraced_rate (ns), from the "
             "median rates. The CPU-time view divides the workload process's own CPU time "
             "(user+sys of all its threads, which includes the uprobe traps and BPF programs) "
             "by its operations: CPU taken by other processes on this shared machine does not "
             "count, so it is much less noisy than wall-clock rates.")
    L.append("- Every untraced run checks that no other tracer on this shared machine has "
             "uprobes on the GIL functions (a breakpoint at their entry in the workload's "
             "memory); the report warns about any run that had.")
    L.append("- Verdicts on a noisy machine: when the per-round spread of a direct measurement "
             "is larger than the effect, the verdict rests on an event-count estimate (events "
             "per operation x cost per event, from workload 1 and the `--bpf-stats` "
             "diagnostic runs) and says so.")
    L.append("- Issue 16's targets for `%s` (HTTP server <= 2%% by server CPU per request and "
             "p99 <= +5%%; gunicorn app <= 2%%; CPU-bound threads < 0.5%%) are judged on the "
             "median of per-round paired ratios (each light run against the untraced run of "
             "the same round, so that drifts of the shared machine between rounds cancel); the "
             "verdict gives the range over rounds and says whether every round met the target. "
             "For CPU-bound threads the wall-clock verdict follows the rule above, and the "
             "CPU-time view (the workload's own CPU per iteration) gets its own verdict. Nothing "
             "is tuned for these runs: the same workloads, rounds and windows as the other "
             "conditions." % GSL)
    L.append("- Another session's `gilscope top -a` or `serve -a` would trace this benchmark's "
             "processes too (in light mode without a breakpoint to see): every run lists the "
             "gilscope processes with `-a` running at its end, and the report warns about them.")
    L.append("- Tracers' own cost: CPU time (`/proc/PID/task/*/schedstat`) and VmHWM of the "
             "tracer process sampled at the workload's window edges; whole-life CPU from "
             "`wait4`. BPF programs run in the traced threads, so their cost shows up in the "
             "workload's throughput, not in the tracer's CPU time.")
    L.append("")
    return L


def report_w1(b, cfg, w1, diag, targets):
    """## 1. GIL-cycle microbenchmark (appends to targets)."""
    L = []
    n1 = cfg["w1_threads"][0]
    if w1:
        L.append("## 1. GIL-cycle microbenchmark (`os.read(fd, 1)` on /dev/zero)")
        L.append("")
        L.append("Window %.1f s after %.1f s warm-up. Rates are GIL cycles (release + re-take) "
                 "per second, all threads." % (cfg["w1_window"], cfg["w1_warmup"]))
        L.append("")
        L.append("| threads | condition | cycles/s | slowdown | added ns/cycle (wall) | "
                 "per-round range | CPU-ns/cycle | added CPU-ns/cycle | ÷ bpftrace (wall) | "
                 "÷ bpftrace (CPU) |")
        L.append("|---:|---|---:|---:|---:|---|---:|---:|---:|---:|")
        for n in cfg["w1_threads"]:
            s = w1[n]
            base_rate = med(col(s[BASE], "rate"))
            bw, bc = gil_cost(w1, n, BT)
            for t in s:
                why = failed(b, s[t], t)
                if why:
                    L.append("| %d | %s | n/a: %s | | | | | | | |" % (n, t, why))
                    continue
                rate = med(col(s[t], "rate"))
                cpu = med(col(s[t], "cpu_ns_op"))
                if t == BASE:
                    L.append("| %d | %s | %s | | | | %.0f | | | |" % (n, t, fmt_rate(rate), cpu))
                    continue
                gw, gc = gil_cost(w1, n, t)
                pair = [added_ns(r.get("rate"), u.get("rate")) for r, u in zip(s[t], s[BASE])
                        if "error" not in r]
                L.append("| %d | %s | %s | %.1f%% | %s | %s .. %s | %.0f | %s | %s | %s |"
                         % (n, t, fmt_rate(rate), (1 - div(rate, base_rate)) * 100, f0(gw),
                            f0(lo(pair)), f0(hi(pair)), cpu, f0(gc),
                            f2(div(gw, bw)) if t != BT else "", f2(div(gc, bc)) if t != BT else ""))
        L.append("")
        gw, gc = gil_cost(w1, n1, GS)
        bw, bc = gil_cost(w1, n1, BT)
        rw, rc = div(gw, bw), div(gc, bc)
        others = ", ".join("%d threads %s wall / %s CPU" % (n, f2(div(gil_cost(w1, n, GS)[0],
                                                                        gil_cost(w1, n, BT)[0])),
                                                           f2(div(gil_cost(w1, n, GS)[1],
                                                                  gil_cost(w1, n, BT)[1])))
                           for n in cfg["w1_threads"][1:])
        if rw == rw or rc == rc:
            v = ("met" if rw <= 0.8 and rc <= 0.8 else
                 "met on %s only" % ("wall-clock" if rw <= 0.8 else "CPU-time")
                 if min(ok([rw, rc]) or [9]) <= 0.8 else "NOT met")
        else:
            v = "not measured (bpftrace failed)"
        L.append("**gilscope / naive bpftrace added cost per GIL cycle (%d thread): %s wall-clock, "
                 "%s CPU-time** (%s). Target <= 0.8: **%s**."
                 % (n1, f2(rw), f2(rc), others or "-", v))
        targets.append(("1. GIL-cycle: gilscope added cost per cycle <= 0.8x the naive bpftrace "
                        "script's (%d thread)" % n1,
                        "%s ns vs %s ns wall (%s); %s vs %s CPU-ns (%s)"
                        % (f0(gw), f0(bw), f2(rw), f0(gc), f0(bc), f2(rc)), v))
        sw, sc = gil_cost(w1, n1, GSS)
        targets.append(("1. GIL-cycle, record mode with stacks (`--folded`): cost per cycle "
                        "(no target on this stress test; see 2. for the 2% one)",
                        "%s ns wall, %s CPU-ns per cycle (%s / %s x bpftrace)"
                        % (f0(sw), f0(sc), f2(div(sw, bw)), f2(div(sc, bc))), "informational"))
        if BTE in w1[n1] and not failed(b, w1[n1][BTE], BTE):
            ew, ec = gil_cost(w1, n1, BTE)
            L.append("")
            trap, hits = trap_ns(w1, diag, n1)
            L.append("The bare probe mechanism of the naive placement (bpftrace with empty "
                     "actions on the same three probes: 3 uprobe hits per cycle, one a "
                     "uretprobe) costs %.0f ns (%.0f CPU-ns) per cycle; the naive script's "
                     "programs add %.0f ns to that. gilscope, with its own placement (%s probe "
                     "hits per cycle, diagnostic section) and its full programs, costs %.0f ns "
                     "(%.0f CPU-ns): %.2fx the empty naive probes. One uprobe hit, without its "
                     "program, costs about %.0f CPU-ns here (from gilscope's figures)."
                     % (ew, ec, bw - ew, f2(hits), gw, gc, div(gc, ec), trap))
        if FLOOR in w1[n1] and not failed(b, w1[n1][FLOOR], FLOOR):
            parts = []
            for n in cfg["w1_threads"]:
                fw, fc = gil_cost(w1, n, FLOOR)
                gw_n, gc_n = gil_cost(w1, n, GS)
                parts.append("%d thread%s: floor %s ns wall / %s CPU-ns, gilscope **%s ns wall / "
                             "%s CPU-ns above it** (the traps are %s%% of gilscope's added CPU)"
                             % (n, "" if n == 1 else "s", f0(fw), f0(fc), f0(gw_n - fw),
                                f0(gc_n - fc), f0(div(fc, gc_n) * 100)))
            _, hits = trap_ns(w1, diag, n1)
            fw1, fc = gil_cost(w1, n1, FLOOR)
            gw1, gc1 = gil_cost(w1, n1, GS)
            rw1, rc1 = div(gw1, fw1), div(gc1, fc)
            targets.append(("1. GIL-cycle: exact mode's added cost per cycle <= 1.25x the trap "
                            "floor's (issue 16; %d thread)" % n1,
                            "%s vs %s ns wall (%s); %s vs %s CPU-ns (%s)"
                            % (f0(gw1), f0(fw1), f2(rw1), f0(gc1), f0(fc), f2(rc1)),
                            "met" if rw1 <= 1.25 and rc1 <= 1.25 else
                            "met on %s only" % ("wall-clock" if rw1 <= 1.25 else "CPU-time")
                            if min(ok([rw1, rc1]) or [9]) <= 1.25 else "NOT met"))
            L.append("")
            L.append("Trap floor (`%s`: empty uprobes at gilscope's own probe sites, the traps "
                     "alone) and gilscope's added cost per GIL cycle above it (its BPF programs "
                     "and scheduler tracepoints): %s.%s"
                     % (FLOOR, "; ".join(parts),
                        "" if hits != hits else
                        " With %.2f probe hits per cycle (diagnostic section), one trap costs "
                        "about %.0f CPU-ns here." % (hits, div(fc, hits))))
            if GSL in w1[n1] and not failed(b, w1[n1][GSL], GSL):
                parts = []
                for n in cfg["w1_threads"]:
                    lw, lc = gil_cost(w1, n, GSL)
                    gw_n, gc_n = gil_cost(w1, n, GS)
                    fw, fc = gil_cost(w1, n, FLOOR)
                    parts.append("%d thread%s: light %s ns wall / %s CPU-ns, exact %s / %s, "
                                 "trap floor %s / %s"
                                 % (n, "" if n == 1 else "s", f0(lw), f0(lc), f0(gw_n), f0(gc_n),
                                    f0(fw), f0(fc)))
                L.append("")
                L.append("`%s` (`record --light`: no uprobe; futex tracepoints on the GIL's "
                         "words, GIL reads at switch-outs and %s Hz sampling ticks), added cost "
                         "per GIL cycle: %s. With 1 thread nobody waits: a light cycle takes no "
                         "probe at all, so its figure is this run's noise around zero; with "
                         "more threads the cycles that hand the GIL to a waiter go through "
                         "futex calls and the scheduler, which light mode does watch."
                         % (GSL, 499, "; ".join(parts)))
            if any(gil_cost(w1, n, GS)[1] < gil_cost(w1, n, FLOOR)[1] for n in cfg["w1_threads"]):
                L.append("")
                L.append("Where gilscope comes out below the floor, the threads contend for the "
                         "GIL: a tracer's own time in the probes changes how often the GIL "
                         "changes hands (and how often waiters sleep and wake), so costs do not "
                         "simply add there; the 1-thread figures are the clean comparison.")
        sanity, lost = [], []
        for n in cfg["w1_threads"]:
            for t in (GS, GSS, BT, PERF):
                for r in w1[n].get(t, []):
                    ev = r.get("events")
                    if t == PERF and r.get("lost"):
                        lost.append("%d threads: %d" % (n, r["lost"]))
                    if "error" in r or ev is None:
                        continue
                    # (light mode sees only the cycles that go through the
                    # kernel: it is not in this check.)
                    if ev < r["ops"] and not (t == PERF and r.get("lost")):
                        sanity.append("%s %d threads: saw %d releases < %d window ops"
                                      % (t, n, ev, r["ops"]))
        L.append("")
        if sanity:
            L.append("WARNING, probes not live for the whole window in some runs: "
                     + "; ".join(sanity[:5]))
        else:
            L.append("Sanity check: in every traced run the tracer counted at least as many GIL "
                     "releases as the workload made calls in its window%s."
                     % (" (perf: unless it lost events)" if lost else ""))
        if lost:
            L.append("")
            L.append("perf record lost events (ring buffer full) in some runs: %s."
                     % "; ".join(lost[:6]))
        perf_mb = [r.get("perf_mb") for n in cfg["w1_threads"] for r in w1[n].get(PERF, [])
                   if r.get("perf_mb")]
        if perf_mb:
            L.append("")
            L.append("perf.data written per run: %.0f MB median (%.1f s traced), to be decoded "
                     "by `perf script` afterwards." % (med(perf_mb), cfg["w1_window"]
                                                       + cfg["w1_warmup"]))
        L.append("")
        L.append("Tracers' own cost during workload 1:")
        L.append("")
        L.append("| threads | tracer | CPU ms per s of tracing (window) | whole-life CPU s | "
                 "peak RSS (VmHWM) | attach s |")
        L.append("|---:|---|---:|---:|---:|---:|")
        for n in cfg["w1_threads"]:
            for t in (GS, GSL, GSS, FLOOR, BT, PERF):
                rs = [r for r in w1[n].get(t, []) if "error" not in r]
                if not rs:
                    continue
                win = [r["win_cpu_s"] / r["win_s"] * 1000 for r in rs if r.get("win_s")]
                hwm = [r.get("hwm_kb") for r in rs]
                L.append("| %d | %s | %s (max %s) | %s | %s MiB | %s |"
                         % (n, t, f2(med(win)), f2(hi(win)), "%.3f" % med(col(rs, "life_cpu_s")),
                            f1(hi(hwm) / 1024), f2(med(col(rs, "attach_s")))))
        L.append("")
    return L


def report_w2(b, cfg, w1, w2, diag, targets):
    """## 2. CPU-bound threads (appends to targets)."""
    L = []
    n1 = cfg["w1_threads"][0]
    if w2 and w2.get(BASE):
        L.append("## 2. CPU-bound threads (%d threads, forced switches only, 5 ms interval)"
                 % cfg["w2_threads"])
        L.append("")
        L.append("Window %.1f s after %.1f s warm-up. Throughput in thousands of pure-Python loop "
                 "iterations per second (all threads)." % (cfg["w2_window"], cfg["w2_warmup"]))
        L.append("")
        L.append("| condition | median kiter/s | slowdown (medians) | per-round: median | range | "
                 "kiter per CPU-second | slowdown by CPU time (per-round median, range) | "
                 "GIL cycles/s | runs (kiter/s, round order) |")
        L.append("|---|---:|---:|---:|---|---:|---|---:|---|")
        base = col(w2[BASE], "rate")
        w2_slow = {}
        for t in w2:
            why = failed(b, w2[t], t)
            if why:
                L.append("| %s | n/a: %s | | | | | | | |" % (t, why))
                continue
            rs = w2[t]
            rate = med(col(rs, "rate"))
            runs = " ".join("%.0f" % r["rate"] if "error" not in r else "x" for r in rs)
            if t == BASE:
                L.append("| %s | %s | | | | %s | | | %s |"
                         % (t, fmt_rate(rate), fmt_rate(med(col(rs, "rate_cpu"))), runs))
                continue
            per = [div(r.get("rate"), u.get("rate")) for r, u in zip(rs, w2[BASE])
                   if "error" not in r]
            perc = [div(r.get("rate_cpu"), u.get("rate_cpu")) for r, u in zip(rs, w2[BASE])
                    if "error" not in r]
            slow = (1 - div(rate, med(base))) * 100
            spread = (hi(per) - lo(per)) * 100
            w2_slow[t] = (slow, spread, (1 - med(perc)) * 100, (hi(perc) - lo(perc)) * 100,
                          (1 - hi(perc)) * 100, (1 - lo(perc)) * 100)
            L.append("| %s | %s | %.2f%% | %.2f%% | %.1f%% .. %.1f%% | %s | %.2f%% (%.1f%% .. "
                     "%.1f%%) | %s | %s |"
                     % (t, fmt_rate(rate), slow, (1 - med(per)) * 100, (1 - hi(per)) * 100,
                        (1 - lo(per)) * 100, fmt_rate(med(col(rs, "rate_cpu"))),
                        (1 - med(perc)) * 100, (1 - hi(perc)) * 100, (1 - lo(perc)) * 100,
                        fmt_rate(med(col(rs, "gil_cycles_per_s"))), runs))
        L.append("")
        sw_med = med(col(w2.get(GS, []), "ctxsw_per_s"))
        L.append("The CPU-time view (kiter per CPU-second of the workload's own threads, which "
                 "includes the traps, BPF programs and sampling interrupts run on them) does not "
                 "move with CPU taken by other processes; on this machine it is the steadier "
                 "of the two.")
        L.append("")
        for t, limit in ((GS, 1.0), (GSL, 0.5), (GSS, 2.0)):
            if t not in w2_slow:
                continue
            slow, spread, cslow, cspread, clo, chi = w2_slow[t]
            gil = med(col(w2[t], "gil_cycles_per_s"))
            _, per_cycle = gil_cost(w1, n1, t)
            other, parts = non_gil_ns_per_s((diag or {}).get("cpu", {}).get(t))
            if t == GSL:
                # No probe on the GIL cycle: every light program (futex
                # tracepoints, sched_switch, sampling) is in `other`.
                per_cycle = 0.0
            est = estimate(gil, per_cycle, other)
            if t == GSL and est == est:
                L.append("%s, expected cost from event counts: no probe on the GIL functions; "
                         "its BPF programs %s (--bpf-stats diagnostic run) = %.3f ms of BPF "
                         "time per second, **%.3f%%** of the run -- BPF time only: the "
                         "tracepoints' and sampling interrupts' own entry cost is not in it "
                         "(the CPU-time view above includes it)."
                         % (t, "(%s)" % "; ".join(parts) if parts else "(not measured)",
                            est * 10, est))
                L.append("")
            elif est == est:
                L.append("%s, expected cost from event counts (much tighter than the direct "
                         "measurement on a noisy machine): %.0f GIL cycles/s x %.0f CPU-ns per "
                         "cycle (workload 1, %d thread, same mode) + other BPF programs %s "
                         "(--bpf-stats diagnostic run; stats add ~40 ns per run) = %.3f ms of "
                         "probe work per second, **%.3f%% of the GIL-serialised execution** -- "
                         "an upper bound on the slowdown, since part of it runs in waiting "
                         "threads. "
                         "(Workload: %.0f context switches/s.)"
                         % (t, gil, per_cycle, n1, "(%s)" % "; ".join(parts) if parts else
                            "(not measured)", est * 10, est, sw_med))
                L.append("")
            v = verdict_pct(slow, spread, est, limit)
            vc = verdict_range(cslow, clo, chi, limit)
            L.append("%s: target < %s%%: **%s**; by CPU time: %.2f%% (per-round %.1f%% .. "
                     "%.1f%%): **%s**." % (t, "%g" % limit, v, cslow, clo, chi, vc))
            L.append("")
            targets.append(("2. CPU-bound 4 threads: %s slowdown < %s%%"
                            % ({GS: "gilscope", GSL: "gilscope --light (issue 16)",
                                GSS: "gilscope with stacks (`--folded`, sampling at 199 Hz)"}[t],
                               "%g" % limit),
                            "measured %.2f%% (per-round spread %.0f points); by CPU time %.2f%% "
                            "(per-round %.1f%% .. %.1f%%); event-count estimate %s"
                            % (slow, spread, cslow, clo, chi,
                               "%.3f%%" % est if est == est else "-"),
                            "%s; by CPU time: %s" % (v, vc)))
    return L


def report_w3(b, cfg, w1, w3, diag, targets):
    """## 3. Threaded HTTP server under wrk (appends to targets)."""
    L = []
    if w3 and w3.get(BASE):
        L.append("## 3. Threaded HTTP server under wrk")
        L.append("")
        L.append("`http.server.ThreadingHTTPServer` subclass (HTTP/1.1 keep-alive, TCP_NODELAY), "
                 "GET handler `sum(range(2000))` and a 12-byte body; `wrk -t%d -c%d -d%ds "
                 "--latency` on 127.0.0.1, %d rounds. Server CPU-µs per request is the server "
                 "process's CPU time over the wrk run divided by the requests served (less noisy)."
                 % (cfg["wrk_threads"], cfg["wrk_conns"], cfg["wrk_secs"], cfg["http_rounds"]))
        L.append("")
        L.append("| condition | requests/s | throughput loss | p99 ms | p99 increase | p50 ms | "
                 "server CPU-µs/request | GIL cycles/s | per-round req/s | per-round p99 ms |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
        b_rps, b_p99 = med(col(w3[BASE], "rps")), med(col(w3[BASE], "p99"))
        w3m = {}
        for t in w3:
            why = failed(b, w3[t], t)
            if why:
                L.append("| %s | n/a: %s | | | | | | | | |" % (t, why))
                continue
            rs = w3[t]
            rps, p99 = med(col(rs, "rps")), med(col(rs, "p99"))
            loss = (1 - div(rps, b_rps)) * 100
            inc = (div(p99, b_p99) - 1) * 100
            w3m[t] = (rps, p99, loss, inc)
            L.append("| %s | %s | %s | %.2f | %s | %.2f | %s | %s | %s | %s |"
                     % (t, fmt_rate(rps), "" if t == BASE else "%.1f%%" % loss, p99,
                        "" if t == BASE else "%+.1f%%" % inc, med(col(rs, "p50")),
                        f1(med(col(rs, "srv_cpu_us_req"))),
                        fmt_rate(med(col(rs, "gil_cycles_per_s"))),
                        " ".join("%.0f" % r["rps"] if "error" not in r else "x" for r in rs),
                        " ".join("%.1f" % r["p99"] if "error" not in r else "x" for r in rs)))
        L.append("")
        errs = ["%s: %s" % (t, r["wrk_errors"]) for t in w3 for r in w3[t] if r.get("wrk_errors")]
        if errs:
            L.append("wrk reported: %s." % "; ".join(errs[:6]))
            L.append("")
        cpu = {t: med(col(w3[t], "srv_cpu_us_req")) for t in w3m}
        # The server serialises on its GIL: its CPU per request is what
        # bounds its throughput, and it drifts much less between rounds
        # than requests/s on a shared machine.
        if BASE in cpu and cpu[BASE] == cpu[BASE]:
            parts = ["%s %+.1f µs, %.1f%% less throughput" % (t, cpu[t] - cpu[BASE],
                                                                 (1 - cpu[BASE] / cpu[t]) * 100)
                     for t in (GS, GSL, GSS, FLOOR, LFLOOR, BT, PERF) if t in cpu and cpu[t] == cpu[t]]
            if parts:
                L.append("Server CPU per request against untraced, and the throughput it leaves "
                         "(1 - untraced/traced CPU per request; steadier than requests/s between "
                         "rounds): %s." % "; ".join(parts))
                L.append("")
        if FLOOR in w3m:
            _, _, f_loss, f_inc = w3m[FLOOR]
            above = ""
            if GS in w3m:
                above = ("; gilscope: %s server CPU-µs per request, **%s µs above the floor** "
                         "(its BPF programs and scheduler tracepoints), and %.1f%% fewer "
                         "requests/s than under the floor"
                         % (f1(cpu[GS]), f1(cpu[GS] - cpu[FLOOR]),
                            (1 - div(w3m[GS][0], w3m[FLOOR][0])) * 100))
            L.append("Trap floor (`%s`: empty uprobes at gilscope's probe sites, the traps "
                     "alone): throughput loss **%.1f%%** and p99 latency **%+.1f%%** against "
                     "untraced, %s server CPU-µs per request (%s µs against untraced)%s."
                     % (FLOOR, f_loss, f_inc, f1(cpu[FLOOR]), "-" if cpu[FLOOR] != cpu[FLOOR]
                        else "%+.1f" % (cpu[FLOOR] - cpu[BASE]), above))
            L.append("")
        if GS in w3m:
            rps, p99, loss, inc = w3m[GS]
            per = [div(r.get("rps"), u.get("rps")) for r, u in zip(w3[GS], w3[BASE])
                   if "error" not in r]
            spread = (hi(per) - lo(per)) * 100
            per99 = [div(r.get("p99"), u.get("p99")) for r, u in zip(w3[GS], w3[BASE])
                     if "error" not in r]
            spread99 = (hi(per99) - lo(per99)) * 100
            est = http_estimate(b, cfg, w1, diag, b_rps)
            est_loss = est_p99 = NAN
            if est:
                hits, bpf_ns, trap, add_us, serial_us, est_loss, est_p99 = est
                L.append("Event-count estimate (tighter than the direct measurement, whose "
                         "per-round throughput ratios spread over %.0f points): the --bpf-stats "
                         "run of this workload (diagnostic section) made %.1f GIL-probe hits "
                         "and %.0f ns of BPF programs per request; with %.0f ns of uprobe trap "
                         "per hit (workload 1: gilscope's added CPU-ns per cycle minus its BPF "
                         "time, per hit), that is %.1f µs per request, all counted as on the "
                         "GIL-serialised path (an upper bound: sched_switch also runs for wrk's "
                         "and other processes' switches), against %.0f µs per request "
                         "untraced (1 / requests/s): "
                         "**throughput loss ≈ %.1f%%**; with wrk's fixed %d connections (a "
                         "closed loop) latency grows by the same factor, **≈ %+.1f%%** (for "
                         "the mean; p99 assumed to scale alike)."
                         % (spread, hits, bpf_ns, trap, add_us, serial_us, est_loss,
                            cfg["wrk_conns"], est_p99))
                L.append("")
                # The part no handler work can remove: the traps themselves.
                if FLOOR in w3m and cpu[FLOOR] == cpu[FLOOR] and cpu[BASE] == cpu[BASE]:
                    f_us = cpu[FLOOR] - cpu[BASE]
                    L.append("Measured directly, the traps alone cost more in this server than "
                             "that estimate assumes: the trap floor's %.1f hits per request took "
                             "%+.1f server CPU-µs per request (%.0f ns a hit, against %.0f ns in "
                             "workload 1's tight loop) and %.1f%% of the throughput. Exact tracing "
                             "at one probe hit per GIL event (wait start, GIL taken, GIL "
                             "released) cannot go below the floor on this machine; gilscope's "
                             "BPF programs and tracepoints add the difference."
                             % (hits, f_us, f_us * 1e3 / hits if hits else NAN, trap,
                                w3m[FLOOR][2]))
                else:
                    floor = hits * trap / 1e3
                    L.append("The traps alone (%.1f hits x %.0f ns = %.1f µs per request, with no "
                             "BPF program at all) are **%.1f%%** of a request: exact tracing at "
                             "one probe hit per GIL event (wait start, GIL taken, GIL released) "
                             "cannot go below that on this machine; the BPF programs add the "
                             "other %.1f points."
                             % (hits, trap, floor, floor / (serial_us + floor) * 100,
                                est_loss - floor / (serial_us + floor) * 100))
                L.append("")
            v1 = verdict_pct(loss, spread, est_loss, 3.0)
            v2 = verdict_pct(inc, spread99, est_p99, 5.0)
            L.append("gilscope: throughput loss %.1f%% (target <= 3%%: **%s**), p99 latency "
                     "%+.1f%% (target <= 5%%: **%s**).%s"
                     % (loss, v1, inc, v2,
                        " The trap floor's own loss (%.1f%%, p99 %+.1f%%) is the lower bound "
                        "for any exact tracer probing the same events on this machine."
                        % w3m[FLOOR][2:] if FLOOR in w3m else ""))
            L.append("")
            floor_note = ("; the trap floor alone (empty probes at the same sites): "
                          "measured %.1f%%, p99 %+.1f%%" % w3m[FLOOR][2:]) if FLOOR in w3m else ""
            cpu_note = ""
            if FLOOR in cpu and cpu[FLOOR] == cpu[FLOOR] and cpu[GS] == cpu[GS]:
                cpu_note = ("; by server CPU per request: gilscope %.1f%%, floor %.1f%%"
                               % ((1 - cpu[BASE] / cpu[GS]) * 100, (1 - cpu[BASE] / cpu[FLOOR]) * 100))
            targets.append(("3. HTTP server: gilscope throughput loss <= 3%",
                            "measured %.1f%% (%s vs %s req/s; per-round spread %.0f points); "
                            "event-count estimate %s%s%s" % (loss, fmt_rate(rps), fmt_rate(b_rps),
                                                             spread, f1(est_loss) + "%", floor_note,
                                                             cpu_note),
                            v1))
            targets.append(("3. HTTP server: gilscope p99 latency increase <= 5%",
                            "measured %+.1f%% (%.2f vs %.2f ms; per-round spread %.0f points); "
                            "estimate %s%s" % (inc, p99, b_p99, spread99,
                                               "%+.1f%%" % est_p99 if est_p99 == est_p99
                                               else "-", floor_note), v2))
        if GSL in w3m:
            L += light_server_targets(
                w3, targets, "3. HTTP server", cfg, diag_run=(diag or {}).get("http", {}).get(GSL),
                nreq_extra=cfg["http_warm_requests"])
    return L


def light_server_targets(s, targets, label, cfg, diag_run=None, nreq_extra=0):
    """Issue 16's targets for light mode on a server (w3, w5): server CPU per
    request <= 2%, p99 <= +5% (HTTP server; the gunicorn app: CPU only, p99
    shown). Returns report lines; appends to targets."""
    L = []
    x = server_costs(s, GSL)
    g = server_costs(s, GS) if GS in s else None
    est = NAN
    if diag_run and diag_run.get("bpf") and diag_run.get("requests"):
        nreq = diag_run["requests"] + nreq_extra
        bpf_us = sum(p["run_ns"] for p in diag_run["bpf"].get("programs", [])) / nreq / 1e3
        base_us = med(col(s.get(BASE, []), "srv_cpu_us_req"))
        est = div(bpf_us, base_us) * 100
        lm = ((diag_run.get("mode") or {}).get("light") or {})
        own = div(lm.get("futex_calls"), nreq)
        per_run = {p["name"]: div(p["run_ns"], p["runs"])
                   for p in diag_run["bpf"].get("programs", [])}
        own_us = own * (per_run.get("light_futex_enter", NAN)
                        + per_run.get("light_futex_exit", NAN)) / 1e3
        L.append("Light mode, event counts (its --bpf-stats run, diagnostic section): %.2f µs "
                 "of BPF programs per request against %.1f server CPU-µs per request untraced: "
                 "**%+.2f%%**. BPF time only (the tracepoints' and sampling interrupts' entry "
                 "cost come on top), and an upper bound for the server's own share: the futex "
                 "and sched_switch programs also run, and return early, for every other "
                 "process's futex calls and switches on this shared machine (wrk's, other "
                 "sessions'); the server's own futex calls on its GIL were %s per request, "
                 "whose two programs alone take %s µs, **%s%%** of a request untraced."
                 % (bpf_us, base_us, est, f1(own), f2(own_us),
                    f1(div(own_us, base_us) * 100)))
        L.append("")
    fl = server_costs(s, LFLOOR) if any("error" not in r for r in s.get(LFLOOR, [])) else None
    floor_note = ""
    if fl:
        floor_note = ("; %s alone (empty programs on the same tracepoints): CPU per request %+.1f%%, "
                      "p99 %+.1f%%" % (LFLOOR, fl["cpu"][0], fl["p99"][0]))
        L.append("**%s, --light's floor**: `%s` (tools/bench/floor.c -t) attaches empty BPF "
                 "programs to the tracepoints --light uses (futex syscall entry and exit, "
                 "sched_switch; for every process, as --light's are) and nothing else. Against "
                 "the untraced run of the same round: server CPU per request **%+.1f%%** (rounds "
                 "%+.1f .. %+.1f), throughput %.1f%% lost, p99 %+.1f%%. No BPF program of "
                 "--light's can cost less than these tracepoints' dispatch; fentry on the "
                 "kernel's futex functions, the other way to see futex calls, cannot load on "
                 "this kernel (docs/light-mode.md)."
                 % (label, LFLOOR, fl["cpu"][0], fl["cpu"][1], fl["cpu"][2], fl["loss"][0],
                    fl["p99"][0]))
        L.append("")
    c, clo, chi = x["cpu"]
    vc = verdict_range(c, clo, chi, 2.0)
    L.append("**%s, gilscope --light (issue 16)**, medians of per-round paired ratios against "
             "the untraced run of the same round: server CPU per request **%+.1f%%** (rounds "
             "%+.1f .. %+.1f; target <= 2%%: **%s**), throughput **%.1f%% lost** (rounds %.1f .. "
             "%.1f), p99 **%+.1f%%** (rounds %+.1f .. %+.1f)%s."
             % (label, c, clo, chi, vc, x["loss"][0], x["loss"][1], x["loss"][2], x["p99"][0],
                x["p99"][1], x["p99"][2],
                "" if not g else "; exact mode, same rounds: CPU per request %+.1f%%, "
                "throughput %.1f%% lost, p99 %+.1f%%" % (g["cpu"][0], g["loss"][0], g["p99"][0])))
    L.append("")
    targets.append(("%s: gilscope --light server CPU per request <= +2%% (issue 16)" % label,
                    "%+.1f%% (%.1f vs %.1f µs; per-round %+.1f .. %+.1f)%s; throughput %.1f%% "
                    "lost; exact mode %s%s"
                    % (c, x["cpu_us"], med(col(s.get(BASE, []), "srv_cpu_us_req")), clo, chi,
                       "; BPF-time estimate %+.2f%%" % est if est == est else "", x["loss"][0],
                       "%+.1f%%" % g["cpu"][0] if g else "-", floor_note), vc))
    if label.startswith("3."):
        p, plo, phi = x["p99"]
        vp = verdict_range(p, plo, phi, 5.0)
        targets.append(("%s: gilscope --light p99 latency <= +5%% (issue 16)" % label,
                        "%+.1f%% (%.2f vs %.2f ms; per-round %+.1f .. %+.1f); exact mode %s%s"
                        % (p, x["p99ms"], med(col(s.get(BASE, []), "p99")), plo, phi,
                           "%+.1f%%" % g["p99"][0] if g else "-", floor_note), vp))
    return L


def report_w5(b, cfg, w5, targets):
    """## 5. gunicorn gthread app under wrk (appends to targets)."""
    L = []
    if not w5:
        return L
    L.append("## 5. gunicorn gthread app (Flask) under wrk")
    L.append("")
    vers = getattr(b, "guni_versions", None)
    L.append("`%s -m gunicorn -k gthread -w %d --threads %d` serving `tools/workloads/wl_flask.py` "
             "(Debian's python3-gunicorn and python3-flask%s; GET / does `sum(range(2000))` like "
             "workload 3 and answers through Flask), `wrk -t%d -c%d -d%ds --latency` on "
             "127.0.0.1 after %d warm-up requests, %d rounds. Traced: `gilscope record "
             "--children -p MASTER` (exact) and `gilscope record --light --children -p MASTER`; "
             "exact mode's run starts once its uprobes are in both workers' memory. Server "
             "CPU-µs per request: the CPU time of master + workers over the wrk run (schedstat "
             "of all their threads; gthread threads live as long as their worker) divided by "
             "the requests served."
             % (GUNI_PYTHON, cfg["guni_workers"], cfg["guni_threads"],
                ": gunicorn %s, Flask %s, CPython %s" % tuple(vers) if vers else "",
                cfg["wrk_threads"], cfg["wrk_conns"], cfg["wrk_secs"], cfg["http_warm_requests"],
                cfg["http_rounds"]))
    L.append("")
    if all(failed(b, w5[t], t) for t in w5):
        why = failed(b, w5[BASE], BASE) if BASE in w5 else "not run"
        L.append("**Not measured: %s.**" % why)
        L.append("")
        targets.append(("5. gunicorn app: gilscope --light server CPU per request <= +2% "
                        "(issue 16)", "not measured: %s" % why, "not measured"))
        return L
    L.append("| condition | requests/s | throughput loss (per-round median; range) | p99 ms | "
             "p99 increase (per-round median; range) | p50 ms | server CPU-µs/request | CPU per "
             "request (per-round median; range) | processes traced | per-round req/s | "
             "per-round CPU-µs/request |")
    L.append("|---|---:|---|---:|---|---:|---:|---|---:|---|---|")
    for t in w5:
        why = failed(b, w5[t], t)
        if why:
            L.append("| %s | n/a: %s | | | | | | | | | |" % (t, why))
            continue
        rs = w5[t]
        per_rps = " ".join("%.0f" % r["rps"] if "error" not in r else "x" for r in rs)
        per_cpu = " ".join("%.0f" % r["srv_cpu_us_req"] if "error" not in r
                           and r.get("srv_cpu_us_req") else "x" for r in rs)
        if t == BASE:
            L.append("| %s | %s | | %.2f | | %.2f | %s | | | %s | %s |"
                     % (t, fmt_rate(med(col(rs, "rps"))), med(col(rs, "p99")),
                        med(col(rs, "p50")), f1(med(col(rs, "srv_cpu_us_req"))), per_rps,
                        per_cpu))
            continue
        x = server_costs(w5, t)
        L.append("| %s | %s | %.1f%% (%.1f .. %.1f) | %.2f | %+.1f%% (%+.1f .. %+.1f) | %.2f | %s | "
                 "%+.1f%% (%+.1f .. %+.1f) | %s | %s | %s |"
                 % (t, fmt_rate(x["rps"]), x["loss"][0], x["loss"][1], x["loss"][2], x["p99ms"],
                    x["p99"][0], x["p99"][1], x["p99"][2], med(col(rs, "p50")), f1(x["cpu_us"]),
                    x["cpu"][0], x["cpu"][1], x["cpu"][2],
                    "-" if t == LFLOOR else "%.0f" % (1 + med(col(rs, "children_traced"))), per_rps,
                    per_cpu))
    L.append("")
    chk = ["%s round %d: %s" % (t, i + 1, r["check_failed"][0]) for t in w5
           for i, r in enumerate(w5[t]) if r.get("check_failed")]
    if chk:
        L.append("gilscope's self-check failed (exit 3) in: %s." % "; ".join(chk))
        L.append("")
    errs = ["%s: %s" % (t, r["wrk_errors"]) for t in w5 for r in w5[t] if r.get("wrk_errors")]
    if errs:
        L.append("wrk reported: %s." % "; ".join(errs[:6]))
        L.append("")
    if GSL in w5 and not failed(b, w5[GSL], GSL):
        L += light_server_targets(w5, targets, "5. gunicorn app", cfg)
    return L


def report_summary(b, cfg, R):
    """## Summary: exact mode and light mode side by side."""
    w1, w2, w3, w5 = (R.get(k) or {} for k in ("w1", "w2", "w3", "w5"))
    L = ["## Summary: exact mode and `--light` against untraced", "",
         "Each cell: the traced figure and its cost against the untraced runs of the same "
         "interleaved series (workload 1: added ns per GIL cycle, wall / CPU-time; the others: "
         "% lost or added, median of per-round paired ratios, with the range over rounds). "
         "`trap-floor` = empty uprobes at exact mode's own probe sites (the traps alone).", "",
         "| workload | measure | untraced | gilscope (exact) | gilscope --light | trap floor |",
         "|---|---|---:|---:|---:|---:|"]
    cols = (GS, GSL, FLOOR)

    def cell(s, t, fn):
        if t not in s or failed(b, s[t], t):
            return "n/a"
        return fn(t)
    for n in cfg["w1_threads"]:
        s = w1.get(n)
        if not s:
            continue
        L.append("| 1. GIL cycles, %d thread%s | cycles/s; added ns/cycle wall / CPU | %s | %s |"
                 % (n, "" if n == 1 else "s", fmt_rate(med(col(s[BASE], "rate"))), " | ".join(
                     cell(s, t, lambda t: "%s; %s / %s" % (fmt_rate(med(col(s[t], "rate"))),
                                                           f0(gil_cost(w1, n, t)[0]),
                                                           f0(gil_cost(w1, n, t)[1])))
                     for t in cols)))
    if w2.get(BASE):
        def w2cell(t):
            r, rlo, rhi = paired(w2, t, "rate")
            c, clo, chi = paired(w2, t, "rate_cpu")
            return ("%.2f%% (%.1f .. %.1f); by CPU %.2f%% (%.1f .. %.1f)"
                    % (-r, -rhi, -rlo, -c, -chi, -clo))
        L.append("| 2. CPU-bound, %d threads | slowdown (wall); by CPU time | %s kiter/s | %s |"
                 % (cfg["w2_threads"], fmt_rate(med(col(w2[BASE], "rate"))),
                    " | ".join(cell(w2, t, w2cell) for t in cols)))
    for label, s in (("3. HTTP server", w3), ("5. gunicorn app", w5)):
        if not s.get(BASE) or failed(b, s[BASE], BASE):
            if s:
                L.append("| %s | | n/a: %s | | | |" % (label, failed(b, s.get(BASE, []), BASE)))
            continue
        for key, name, unit, sign in (("srv_cpu_us_req", "server CPU per request", "µs", 1),
                                      ("rps", "throughput lost", "req/s", -1),
                                      ("p99", "p99 latency", "ms", 1)):
            def sc(t, key=key, sign=sign):
                m, a, z = paired(s, t, key)
                if sign < 0:
                    m, a, z = -m, -z, -a
                v = med(col(s[t], key))
                return "%s; %+.1f%% (%+.1f .. %+.1f)" % (f1(v) if key != "rps" else fmt_rate(v),
                                                         m, a, z)
            base = med(col(s[BASE], key))
            L.append("| %s | %s (%s) | %s | %s |"
                     % (label, name, unit, f1(base) if key != "rps" else fmt_rate(base),
                        " | ".join(cell(s, t, sc) for t in cols)))
    L.append("")
    return L


def report_w4(cfg, w4, targets):
    """## 4. Scale: many mostly idle threads (appends to targets)."""
    L = []
    if w4:
        L.append("## 4. Scale: many mostly idle threads")
        L.append("")
        L.append("N threads looping on `time.sleep(uniform(0.05, 0.5))` plus %d busy pure-Python "
                 "threads, all started before gilscope attaches. Collector CPU = CPU time of the "
                 "gilscope process (all its threads) over a %.1f s window after %.1f s warm-up, "
                 "in %% of one core; peak RSS = its VmHWM at the window's end (includes attach)."
                 % (cfg["w4_busy"], cfg["w4_window"], cfg["w4_warmup"]))
        L.append("")
        L.append("| idle threads | mode | threads seen | GIL cycles/s | context switches/s | "
                 "collector CPU % of one core | whole-life CPU s | attach s | peak RSS | lost |")
        L.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
        worst = {}
        for (n, t), r in sorted(w4.items(), key=lambda kv: (GS_MODES.index(kv[0][1]), kv[0][0])):
            pct = r["win_cpu_s"] / r["win_s"] * 100 if r.get("win_s") else NAN
            rss = (r.get("hwm_kb") or 0) / 1024
            w = worst.setdefault(t, [0, 0, None, None])
            if pct > w[0]:
                w[0], w[2] = pct, n
            if rss > w[1]:
                w[1], w[3] = rss, n
            lostv = r.get("lost")
            if isinstance(lostv, dict):  # gilscope's counters; exits are not losses
                lostv = ", ".join("%s %s" % (k, v) for k, v in sorted(lostv.items())
                                  if v and not k.startswith("exited_"))
            L.append("| %d | %s | %s | %s | %s | %.2f%% | %.3f | %.2f | %.1f MiB | %s |"
                     % (n, t, r.get("threads_seen", "-"), fmt_rate(r.get("gil_cycles_per_s", NAN)),
                        fmt_rate(r.get("ctxsw_per_s", NAN)), pct, r.get("life_cpu_s", NAN),
                        r.get("attach_s", NAN), rss,
                        lostv or "0"))
        L.append("")
        for t in GS_MODES:
            if t in worst:
                pct, rss, npct, nrss = worst[t]
                L.append("%s: collector CPU at most %.2f%% of one core (%d idle threads; target <= "
                         "2%%: %s), peak RSS at most %.1f MiB (%d idle threads; target <= 64 MiB: "
                         "%s)." % (t, pct, npct, yes(pct <= 2.0), rss, nrss, yes(rss <= 64)))
                L.append("")
                targets.append(("4. Scale (1..1000 idle + 4 busy threads): %s collector CPU <= 2%% "
                                "of one core" % t, "max %.2f%% (at %d idle threads)" % (pct, npct),
                                yes(pct <= 2.0).strip("*")))
                targets.append(("4. Scale: %s peak RSS <= 64 MiB" % t,
                                "max %.1f MiB (at %d idle threads)" % (rss, nrss),
                                yes(rss <= 64).strip("*")))
    return L


def report_bound(cfg, bound, targets):
    """### Long run: memory does not grow with events (appends to targets)."""
    L = []
    if bound:
        L.append("### Long run: memory does not grow with events")
        L.append("")
        rss = bound.get("rss") or []
        vals = [v for _, v in rss]
        n = bound.get("hold_count") or 0
        secs = bound.get("win_s") or cfg["bound_window"]
        if vals:
            first, last = vals[0], vals[-1]
            mid = vals[len(vals) // 2]
            rate = div(n, bound.get("gs_window_s"))
            growth2 = last - mid
            cyc2 = n / 2.0
            maps = bound.get("maps")
            L.append("Workload 1 (1 thread) for a %.0f s window under `gilscope record` "
                     "(default mode), its RSS sampled every second:" % secs)
            L.append("")
            L.append("| GIL cycles traced (`gil.hold.count`) | cycles/s | RSS at window start | "
                     "RSS at end | min .. max of %d samples | peak (VmHWM) | BPF maps (memlock) |"
                     % len(vals))
            L.append("|---:|---:|---:|---:|---|---:|---:|")
            L.append("| %s | %s | %.1f MiB | %.1f MiB | %.1f .. %.1f MiB | %.1f MiB | %s |"
                     % (fmt_rate(n), fmt_rate(rate), first / 1024, last / 1024,
                        min(vals) / 1024, max(vals) / 1024, (bound.get("hwm_kb") or 0) / 1024,
                        "%d maps, %.1f MiB" % (maps[0], maps[1] / 2**20) if maps else "-"))
            L.append("")
            L.append("RSS samples (MiB, one per second): %s."
                     % " ".join("%.1f" % (v / 1024) for v in vals))
            L.append("")
            flat = abs(last - first) <= 1024
            hour = 1e9 / rate / 60 if rate == rate and rate else NAN
            L.append("RSS changed by %+d KiB over the window (%+d KiB over its second half). "
                     "%s Extrapolation: 10^9 GIL cycles at this rate would take %.0f minutes of "
                     "tracing; gilscope's BPF maps are fixed-size (allocated at load: %s), "
                     "events are aggregated into fixed histograms in BPF and per-thread "
                     "state in the collector, and nothing is kept per event, so the "
                     "collector's memory depends on the number of threads and distinct stacks, "
                     "not on the number of events. A linear extrapolation of the second half's "
                     "change (%+d KiB per %s cycles) gives %+.1f MiB per 10^9 cycles%s."
                     % (last - first, growth2,
                        "**Flat** (within 1 MiB)." if flat else "**Not flat.**",
                        hour, "%.1f MiB memlock" % (maps[1] / 2**20) if maps else "?",
                        growth2, fmt_rate(cyc2),
                        div(growth2 * 1e9, cyc2) / 1024 if cyc2 else NAN,
                        " (sampling noise of a flat curve)" if flat else ""))
            L.append("")
            targets.append(("4. Long run: collector memory bounded (does not grow with events)",
                            "%s cycles in %.0f s: RSS %.1f -> %.1f MiB (peak %.1f)"
                            % (fmt_rate(n), secs, first / 1024, last / 1024,
                               (bound.get("hwm_kb") or 0) / 1024),
                            "met" if flat else "NOT met"))
    return L


def report_diag(cfg, diag):
    """## BPF program run time (diagnostic)."""
    L = []
    n1 = cfg["w1_threads"][0]
    if diag:
        L.append("## BPF program run time (diagnostic)")
        L.append("")
        L.append("One extra run of workload 1 (%d thread) per tracer mode with BPF run-time "
                 "statistics on: gilscope `--bpf-stats` (JSON `bpf.programs`, whole tracing "
                 "session), bpftrace through `BPF_ENABLE_STATS` (window only). Statistics add "
                 "their own timing overhead (~40 ns per run), so these runs are not used in the "
                 "tables above. BPF time only: the uprobe trap itself (about the bpftrace-empty "
                 "cost) comes on top. gilscope-light sees only the cycles that go through the "
                 "kernel, so its GIL cycles here are the workload's rate times gilscope's window; "
                 "its tracepoint programs run (and return early) for every process's futex calls "
                 "and context switches on this shared machine, which its run counts include."
                 % n1)
        L.append("")
        L.append("| tracer | program | insns | runs | runs per GIL cycle | ns per run | "
                 "ns per GIL cycle |")
        L.append("|---|---|---:|---:|---:|---:|---:|")
        for t in (GS, GSL, GSS, BT):
            r = diag.get("gil", {}).get(t)
            if not r:
                continue
            if "error" in r:
                L.append("| %s | n/a: %s | | | | | |" % (t, r["error"]))
                continue
            rows = []
            if t == GSL and r.get("bpf"):
                # Light mode does not see uncontended cycles: the workload's
                # rate over gilscope's window instead.
                cyc = r.get("rate", NAN) * r.get("gs_window_s", NAN)
                for p in r["bpf"].get("programs", []):
                    rows.append((p["name"], p.get("insns"), p["runs"], p["run_ns"]))
            elif t in GS_MODES and r.get("bpf"):
                cyc = r.get("hold_count") or r.get("events")
                for p in r["bpf"].get("programs", []):
                    rows.append((p["name"], p.get("insns"), p["runs"], p["run_ns"]))
            elif t == BT and r.get("progs"):
                cyc = r.get("ops")
                names = r.get("prog_names", {})
                for pid, (ns, cnt) in sorted(r["progs"].items()):
                    rows.append((names.get(pid, str(pid)), None, cnt, ns))
            else:
                L.append("| %s | n/a: no statistics | | | | | |" % t)
                continue
            tot = 0.0
            for name, insns, runs, ns in rows:
                if not runs:
                    continue
                tot += div(ns, cyc)
                L.append("| %s | %s | %s | %d | %.2f | %.0f | %.0f |"
                         % (t, name, insns if insns is not None else "-", runs,
                            div(runs, cyc), ns / runs, div(ns, cyc)))
            L.append("| %s | **total** | | | | | **%.0f** |" % (t, tot))
        L.append("")
        for t in (GS, GSL):
            r = diag.get("http", {}).get(t)
            if not (r and r.get("bpf") and r.get("requests")):
                continue
            nreq = r["requests"] + cfg["http_warm_requests"]
            L.append("Workload 3 (HTTP server, `wrk` as above) under %s `--bpf-stats`: "
                     "%s requests, %s GIL cycles %s(%.1f per request):"
                     % (t, fmt_rate(nreq), fmt_rate(r.get("hold_count") or NAN),
                        "seen (light mode: the contended ones) " if t == GSL else "",
                        div(r.get("hold_count"), nreq)))
            L.append("")
            L.append("| program | runs per request | ns per run | BPF ns per request |")
            L.append("|---|---:|---:|---:|")
            tot = 0.0
            for p in r["bpf"].get("programs", []):
                if p.get("runs"):
                    tot += p["run_ns"] / nreq
                    L.append("| %s | %.2f | %.0f | %.0f |" % (p["name"], p["runs"] / nreq,
                                                            p["run_ns"] / p["runs"],
                                                            p["run_ns"] / nreq))
            L.append("| **total** | | | **%.0f** |" % tot)
            L.append("")
        parts = []
        for t in GS_MODES:
            o, p = non_gil_ns_per_s(diag.get("cpu", {}).get(t))
            if o is not None:
                parts.append("%s: %s = %.3f ms/s" % (t, "; ".join(p) or "none", o / 1e6))
        if parts:
            L.append("Programs off the GIL functions during workload 2 (same kind of run): "
                     + ". ".join(parts) + ".")
            L.append("")
    return L


def report_errors(b):
    """## Errors."""
    L = []
    if b.errors:
        L.append("## Errors")
        L.append("")
        for e in b.errors:
            L.append("- %s" % e.replace("\n", " / ")[:600])
        L.append("")
    return L


def report_targets(targets, w1, w2, w3, w5=None):
    """## Targets (placed after the machine table), and a warning about untraced runs that carried another tracer's uprobes."""
    S = ["## Targets", "",
         "| target | measured | verdict |", "|---|---|---|"]
    for tgt, meas, v in targets:
        S.append("| %s | %s | %s |" % (tgt, meas, v))
    S.append("")
    dirty_runs = []
    for name, rs in ([("workload 1, %d threads" % n, w1[n].get(BASE, [])) for n in (w1 or {})]
                     + [("workload 2", (w2 or {}).get(BASE, [])),
                        ("workload 3", (w3 or {}).get(BASE, [])),
                        ("workload 5", (w5 or {}).get(BASE, []))]):
        for i, r in enumerate(rs):
            if r.get("foreign"):
                dirty_runs.append("%s round %d (%s)" % (name, i + 1, ", ".join(r["foreign"])))
    if dirty_runs:
        S.append("**Warning:** in %d untraced run(s) the GIL functions carried another "
                 "tracer's uprobes (some other process on this shared machine traced the same "
                 "libpython, so those runs paid for probes too and the affected comparisons "
                 "understate the overhead): %s." % (len(dirty_runs), "; ".join(dirty_runs)))
        S.append("")
    # Another session's `gilscope top -a` / `serve -a` traces every CPython
    # process on the host, this benchmark's untraced ones included.
    seen, nruns = set(), 0
    for w in ([w1[n] for n in (w1 or {})] + [w2 or {}, w3 or {}, w5 or {}]):
        for t, rs in w.items():
            for r in rs:
                if r.get("others"):
                    nruns += 1
                    seen.update(r["others"])
    if seen:
        S.append("**Warning:** during %d run(s) another gilscope traced every CPython process "
                 "on this host (this benchmark's untraced runs included): %s."
                 % (nruns, "; ".join(sorted(seen)[:5])))
        S.append("")
    return S


def report(b, cfg, R, elapsed):
    """The benchmark report (markdown), one function per section."""
    w1, w2, w3, w4, bound, diag, w5 = (R.get(k) for k in ("w1", "w2", "w3", "w4", "bound",
                                                          "diag", "w5"))
    targets = []  # (target, measured, verdict)
    L = report_head(b, cfg, elapsed)
    head = len(L)
    L += report_method(b, cfg)
    L += report_w1(b, cfg, w1, diag, targets)
    L += report_w2(b, cfg, w1, w2, diag, targets)
    L += report_w3(b, cfg, w1, w3, diag, targets)
    L += report_w5(b, cfg, w5, targets)
    L += report_w4(cfg, w4, targets)
    L += report_bound(cfg, bound, targets)
    L += report_diag(cfg, diag)
    L += report_errors(b)
    L[head:head] = report_targets(targets, w1, w2, w3, w5) + report_summary(b, cfg, R)
    return "\n".join(L) + "\n"



# Headings of the sections report() writes; every other `## ` or `### `
# section of an existing BENCHMARKS.md was written by hand (the soak, the
# live views, session notes) and is kept where it stood.
GENERATED = ("## Targets", "## Summary", "## Method", "## 1. ", "## 2. ", "## 3. ", "## 4. ",
             "## 5. ", "### Long run", "## BPF program run time", "## Errors")


def sections(text):
    """[(heading or None, [lines])], split at `## ` and `### ` headings."""
    out = [(None, [])]
    for line in text.split("\n"):
        if line.startswith(("## ", "### ")):
            out.append((line, []))
        out[-1][1].append(line)
    return out


def keep_handwritten(old, new):
    """new, with the hand-written sections of old put back: each after the
    generated section it followed in old (at the end if that one is gone)."""
    def gen(h):
        return h is None or h.startswith(GENERATED)
    olds = sections(old)
    after = {}  # generated heading key -> kept sections that followed it
    anchor = None
    for h, lines in olds:
        if gen(h):
            anchor = h.split("(")[0].split(":")[0] if h else None
        else:
            after.setdefault(anchor, []).append(lines)
    if not after:
        return new
    out, placed = [], set()
    news = sections(new)
    for h, lines in news:
        out.extend(lines)
        key = h.split("(")[0].split(":")[0] if h else None
        if key in after and key not in placed:
            placed.add(key)
            if out and out[-1] != "":
                out.append("")
            for kept in after[key]:
                out.extend(kept)
                if out[-1] != "":
                    out.append("")
    for key, kept_list in after.items():
        if key not in placed:
            for kept in kept_list:
                if out and out[-1] != "":
                    out.append("")
                out.extend(kept)
    text = "\n".join(out)
    return text if text.endswith("\n") else text + "\n"


def write_report(path, text):
    """Write the report to path, keeping the hand-written sections of the
    file already there."""
    try:
        with open(path) as f:
            text = keep_handwritten(f.read(), text)
    except OSError:
        pass
    with open(path, "w") as f:
        f.write(text)


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
    ap.add_argument("--quick", action="store_true", help="~3 minutes: fewer rounds, shorter "
                    "windows, 1 and 4 threads only in workload 1, a 10 s long run")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 5, quick 2)")
    ap.add_argument("--gilscope", default=os.path.join(REPO, "gilscope"))
    ap.add_argument("--floor", default=os.environ.get("GILSCOPE_BENCH_FLOOR") or FLOOR_TOOL,
                    help="the trap-floor tool (default $GILSCOPE_BENCH_FLOOR, else "
                    ".output/bench/floor, built with `make bench-floor` when missing)")
    ap.add_argument("--out", default=os.path.join(REPO, "BENCHMARKS.md"),
                    help="report file ('' for stdout only)")
    # Development: run only some parts (trap,w1,w2,w3,w4,bound,diag,w5); keep the raw
    # results (--dump FILE) and write the report again from them (--report FILE).
    ap.add_argument("--only", default="", help=argparse.SUPPRESS)
    ap.add_argument("--dump", default="", help=argparse.SUPPRESS)
    ap.add_argument("--report", default="", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.report:
        with open(a.report, "rb") as f:
            d = pickle.load(f)
        b = Bench.__new__(Bench)
        b.__dict__.update(d["b"])
        b.a = a
        a.quick = d["quick"]
        d["R"].setdefault("w5", {})
        text = report(b, d["cfg"], d["R"], d["elapsed"])
        sys.stdout.write(text)
        if a.out:
            write_report(a.out, text)
        return 0

    if os.geteuid() != 0:
        raise BenchError("run as root (BPF tracing)")
    if not os.access(a.gilscope, os.X_OK):
        raise BenchError("%s not built: run 'make gilscope'" % a.gilscope)
    for tool in ("bpftrace", "bpftool", "wrk"):
        if not shutil.which(tool):
            raise BenchError("%s is not installed (tools/bench/run.sh installs it)" % tool)
    if not os.path.ismount("/sys/kernel/tracing") and os.path.isdir("/sys/kernel/tracing"):
        subprocess.run(["mount", "-t", "tracefs", "tracefs", "/sys/kernel/tracing"],
                       capture_output=True)
    a.python_path = resolve_python(a.python)

    if a.quick:
        cfg = dict(rounds=a.rounds or 2, w1_window=0.8, w1_warmup=0.3, w1_threads=[1, 4],
                   w1_empty=False, w2_window=1.0, w2_warmup=0.3, http_rounds=2, wrk_secs=1,
                   w4_idle=[1, 16, 256, 1000], w4_modes=[GS, GSL], w4_warmup=0.5, w4_window=1.0,
                   bound_window=10.0)
    else:
        cfg = dict(rounds=a.rounds or 5, w1_window=1.0, w1_warmup=0.3, w1_threads=[1, 2, 4],
                   w1_empty=True, w2_window=2.0, w2_warmup=0.5, http_rounds=8, wrk_secs=3,
                   w4_idle=[1, 16, 256, 1000], w4_modes=[GS, GSL, GSS], w4_warmup=1.0,
                   w4_window=3.0, bound_window=60.0)
    cfg.update(w2_threads=4, wrk_threads=2, wrk_conns=16, http_warm_requests=200, w4_busy=4,
               guni_workers=2, guni_threads=8)
    only = set(a.only.split(",")) if a.only else None

    def want(k):
        return only is None or k in only

    b = Bench(a)
    TMPDIRS.append(b.tmp)
    b.load = [loadavg(), None]
    t_start = time.monotonic()
    R = {"w1": {}, "w2": {BASE: []}, "w3": {BASE: []}, "w4": {}, "bound": None, "diag": {},
         "w5": {}}
    try:
        b.discover_probes()
        log("CPython %s, GIL functions %s in %s" % (b.version, b.probes[1] + b.probes[2],
                                                    b.probes[0]))
        b.setup_perf()
        if PERF in b.unavailable:
            log("perf unavailable: %s" % b.unavailable[PERF])
        b.setup_floor()
        if FLOOR in b.unavailable:
            log("trap floor unavailable: %s" % b.unavailable[FLOOR])
        if want("trap"):
            b.measure_trap_price()
            log("uprobe hit price: %s" % b.trap_price)
        if want("w5"):
            b.setup_gunicorn()
            if "gunicorn" in b.unavailable:
                log("gunicorn unavailable: %s" % b.unavailable["gunicorn"])
        for n in cfg["w1_threads"] if want("w1") else []:
            tr = TRACERS + ([BTE] if cfg["w1_empty"] and n == 1 else [])
            R["w1"][n] = b.series("gilcycle-%dt" % n, tr, cfg["rounds"],
                                  lambda t, n=n: b.run_wl("wl_gilcycle.py", n, t,
                                                          cfg["w1_warmup"], cfg["w1_window"]))
        if want("w2"):
            R["w2"] = b.series("cpu", TRACERS, cfg["rounds"],
                               lambda t: b.run_wl("wl_cpu.py", cfg["w2_threads"], t,
                                                  cfg["w2_warmup"], cfg["w2_window"]))
        if want("w3"):
            R["w3"] = b.series("http", SERVER_TRACERS, cfg["http_rounds"], lambda t: b.run_http(t, cfg))
        if want("w5"):
            if "gunicorn" in b.unavailable:
                R["w5"] = {t: [{"error": b.unavailable["gunicorn"]}] for t in GUNI_TRACERS}
            else:
                R["w5"] = b.series("gunicorn", GUNI_TRACERS, cfg["http_rounds"],
                                   lambda t: b.run_gunicorn(t, cfg))
        if want("w4"):
            for t in cfg["w4_modes"]:
                for n in cfg["w4_idle"]:
                    r = b.run_wl("wl_scale.py", None, t, cfg["w4_warmup"], cfg["w4_window"],
                                 extra=["--idle", str(n), "--busy", str(cfg["w4_busy"])])
                    R["w4"][(n, t)] = r
                    log("scale %-16s %4d idle: collector %.2f%% CPU, VmHWM %.1f MiB"
                        % (t, n, r["win_cpu_s"] / r["win_s"] * 100, r["hwm_kb"] / 1024))
        if want("bound"):
            r = b.run_wl("wl_gilcycle.py", 1, GS, cfg["w1_warmup"], cfg["bound_window"],
                         rss_every=1.0)
            R["bound"] = r
            log("long run: %d cycles, RSS %s KiB" % (r.get("hold_count") or 0,
                                                      [v for _, v in r.get("rss", [])]))
        if want("diag"):
            d = R["diag"]
            d["gil"], d["cpu"] = {}, {}
            for t in GS_MODES:
                d["gil"][t] = b.run_wl("wl_gilcycle.py", cfg["w1_threads"][0], t,
                                       cfg["w1_warmup"], cfg["w1_window"], bpf_stats=True)
                d["cpu"][t] = b.run_wl("wl_cpu.py", cfg["w2_threads"], t, cfg["w2_warmup"],
                                       cfg["w2_window"], bpf_stats=True)
                log("diag %s done" % t)
            sf = StatsFd()
            if sf.fd >= 0:
                try:
                    d["gil"][BT] = b.run_wl("wl_gilcycle.py", cfg["w1_threads"][0], BT,
                                            cfg["w1_warmup"], cfg["w1_window"],
                                            kernel_stats=True)
                except BenchError as e:
                    d["gil"][BT] = {"error": str(e).splitlines()[0]}
                finally:
                    sf.close()
            else:
                d["gil"][BT] = {"error": "BPF_ENABLE_STATS unavailable"}
            d["http"] = {}
            for t in (GS, GSL):
                try:
                    d["http"][t] = b.run_http(t, cfg, bpf_stats=True)
                except BenchError as e:
                    b.errors.append("HTTP diagnostic run, %s: %s" % (t, e))
            log("diag done")
    finally:
        cleanup()
    elapsed = time.monotonic() - t_start
    b.load[1] = loadavg()
    ones = [float(x.split()[0]) for x in getattr(b, "load_seen", []) if x != "?"]
    if ones:
        b.busy_note = "; 1-min load at the start of each series: %.1f .. %.1f" % (min(ones),
                                                                                 max(ones))
    if a.dump:
        keep = {k: v for k, v in b.__dict__.items() if k != "a"}
        with open(a.dump, "wb") as f:
            pickle.dump({"b": keep, "cfg": cfg, "R": R, "elapsed": elapsed,
                         "quick": a.quick}, f)
    text = report(b, cfg, R, elapsed)
    sys.stdout.write(text)
    if a.out:
        write_report(a.out, text)
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
