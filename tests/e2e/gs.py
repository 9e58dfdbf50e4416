"""Helpers for gilscope's end-to-end tests (stdlib only, Python 3.7+).

Interpreter discovery, workload and gilscope process handling with
timeouts, JSON report validation against docs/report.schema.json, and the
bpftrace cross-check script generator.
"""
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WORKLOADS = os.path.join(REPO, "tools", "workloads")
BT_TEMPLATE = os.path.join(HERE, "gil_holds.bt.in")

MIN_MINOR, MAX_MINOR = 6, 13


# GILSCOPE_SAN=1 (make SAN=1 san-e2e): gilscope is the sanitized build
# (ASan, LSan, UBSan; make SAN=1). Every case then also checks that none
# of its gilscope runs printed a sanitizer report (a report fails a case
# in any mode; SAN=1 adds the "san=clean" line and LSan's ptrace caveat).
SAN = os.environ.get("GILSCOPE_SAN") == "1"

# The first line of each kind of report: ASan's and LSan's "==PID==ERROR:
# AddressSanitizer: heap-use-after-free ..." / "ERROR: LeakSanitizer:
# detected memory leaks", LSan failing to run ("LeakSanitizer has
# encountered a fatal error"), UBSan's "FILE:LINE:COL: runtime error: ...".
_SAN_REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)\b|"
                         r"LeakSanitizer has encountered a fatal error|"
                         r"^\S+:\d+:\d+: runtime error: |"
                         r"^SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer",
                         re.M)


def sanitizer_report(text):
    """The part of gilscope's stderr from its first sanitizer report on,
    or None when there is none."""
    m = _SAN_REPORT.search(text or "")
    if not m:
        return None
    return text[text.rfind("\n", 0, m.start()) + 1:]


class CaseError(Exception):
    """A case cannot go on (a process hung, a file is missing...)."""


class CaseTimeout(Exception):
    """The case ran past its time budget."""


# ---------------------------------------------------------------- interpreters

class Interp(object):
    def __init__(self, path, version):
        self.path = path
        self.version = version                  # (3, 11, 7)
        self.minor = "%d.%d" % version[:2]      # "3.11"
        self.full = "%d.%d.%d" % version[:3]    # "3.11.7"

    def __repr__(self):
        return "Interp(%s, %s)" % (self.full, self.path)


def pyenv_root():
    exe = shutil.which("pyenv")
    if exe:
        try:
            out = subprocess.run([exe, "root"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, timeout=20,
                                 universal_newlines=True).stdout.strip()
            if out and os.path.isdir(out):
                return out
        except (OSError, subprocess.SubprocessError):
            pass
    env = os.environ.get("PYENV_ROOT")
    if env and os.path.isdir(env):
        return env
    return "/root/.pyenv"


def _probe_version(path):
    """(major, minor, micro, gil_disabled) of an interpreter, or None."""
    code = ("import sys, sysconfig; v = sys.version_info; "
            "print('%d %d %d %s' % (v[0], v[1], v[2], "
            "sysconfig.get_config_var('Py_GIL_DISABLED') or 0))")
    try:
        out = subprocess.run([path, "-c", code], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=30,
                             universal_newlines=True).stdout.split()
        return int(out[0]), int(out[1]), int(out[2]), out[3] not in ("0", "")
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def discover_interpreters(root, log=print):
    """Every $root/versions/3.X*/bin/python3.X with 6 <= X <= 13, GIL builds
    only. Returns a list of Interp sorted by version."""
    found = {}
    vdir = os.path.join(root, "versions")
    names = sorted(os.listdir(vdir)) if os.path.isdir(vdir) else []
    for name in names:
        m = re.match(r"^3\.(\d+)", name)
        if not m or not MIN_MINOR <= int(m.group(1)) <= MAX_MINOR:
            continue
        exe = os.path.join(vdir, name, "bin", "python3.%s" % m.group(1))
        if not os.access(exe, os.X_OK):
            continue
        real = os.path.realpath(exe)
        if real in found:
            continue
        v = _probe_version(exe)
        if v is None:
            log("note: %s does not run, skipped" % exe)
            continue
        if v[3]:
            log("note: %s is a free-threaded (no-GIL) build, skipped" % exe)
            continue
        found[real] = Interp(exe, v[:3])
    return sorted(found.values(), key=lambda i: i.version)


_PY27 = []


def python27():
    """The pyenv 2.7 interpreter (find_python27 of pyenv_root()), looked
    up once; None when there is none."""
    if not _PY27:
        _PY27.append(find_python27(pyenv_root()))
    return _PY27[0]


def find_python27(root):
    for name in sorted(os.listdir(os.path.join(root, "versions")))[::-1] \
            if os.path.isdir(os.path.join(root, "versions")) else []:
        if name.startswith("2.7"):
            exe = os.path.join(root, "versions", name, "bin", "python2.7")
            if os.access(exe, os.X_OK):
                return exe
    return None


# ---------------------------------------------------------------- processes

def kill_group(p, sig=signal.SIGKILL):
    """Kill a Popen started with start_new_session=True, and its children."""
    if p is None or p.poll() is not None:
        return
    try:
        os.killpg(p.pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); look at its state.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def free_pid():
    """A PID no process has now (the highest free one below pid_max)."""
    try:
        with open("/proc/sys/kernel/pid_max") as f:
            pid_max = int(f.read())
    except (OSError, ValueError):
        pid_max = 4194304
    for pid in range(pid_max - 1, 1, -1):
        if not os.path.exists("/proc/%d" % pid):
            return pid
    raise CaseError("no free pid")


def tail(text, n=15):
    lines = text.rstrip("\n").splitlines()
    if len(lines) > n:
        lines = ["  ... (%d lines)" % (len(lines) - n)] + lines[-n:]
    return "\n".join(lines)


def nonempty_lines(text):
    return [l for l in text.splitlines() if l.strip()]


class Workload(object):
    """A running workload that has printed READY."""

    def __init__(self, popen, name, errfile):
        self.p = popen
        self.pid = popen.pid
        self.name = name
        self.errfile = errfile
        # Reap it as soon as it exits, as a shell would: a zombie child of
        # ours must not look alive to gilscope.
        threading.Thread(target=popen.wait, daemon=True).start()

    def stderr(self):
        try:
            with open(self.errfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def alive(self):
        return self.p.poll() is None

    def signal(self, sig):
        if self.p.poll() is None:
            self.p.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise CaseError("%s (pid %d) still running after %.0fs"
                            % (self.name, self.pid, timeout))


def proc_status(pid, task=None):
    """{"PPid": [..], "NSpid": [..]} of /proc/PID[/task/TID]/status, or None."""
    path = "/proc/%d/status" % pid if task is None else \
        "/proc/%d/task/%d/status" % (pid, task)
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("PPid", "NSpid"):
                    out[k] = [int(x) for x in v.split()]
    except (OSError, ValueError):
        return None
    return out


def host_pid_of(grandparent, ns_pid):
    """The host PID of the process numbered ns_pid in the namespace whose
    init is a child of `grandparent` (the unshare process)."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_status(int(name))
        if not st or len(st.get("NSpid", [])) != 2 or st["NSpid"][1] != ns_pid:
            continue
        parent = proc_status(st["PPid"][0])
        if parent and parent.get("PPid") == [grandparent]:
            return int(name)
    return None


def ready_line(p, name, errfile, timeout):
    """The first line a workload (Popen p, stdout a pipe) prints, within
    `timeout` seconds; CaseError with its stderr if it exits or is late."""
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise CaseError("%s: no READY line within %.0fs; stderr:\n%s"
                            % (name, timeout, tail(read_file(errfile))))
        r, _, _ = select.select([p.stdout], [], [], min(left, 0.5))
        if r:
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                p.wait(timeout=5)
                raise CaseError("%s exited (rc=%s) before READY; stderr:\n%s"
                                % (name, p.returncode, tail(read_file(errfile))))
            buf += chunk
    return buf.split(b"\n", 1)[0].decode("utf-8", "replace").strip()


class GsRun(object):
    """The outcome of one gilscope run."""

    def __init__(self, argv, rc, stdout, stderr, elapsed, json_path):
        self.argv = argv
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed
        self.json_path = json_path
        self.doc = None
        self.json_error = None
        if json_path == "-":
            self._parse(stdout, "stdout")
        elif json_path:
            try:
                with open(json_path) as f:
                    self._parse(f.read(), json_path)
            except OSError as e:
                self.json_error = "no JSON file %s: %s" % (json_path, e)

    def _parse(self, text, where):
        try:
            self.doc = json.loads(text)
        except ValueError as e:
            self.json_error = "JSON in %s does not parse: %s" % (where, e)

    def describe(self):
        out = ["gilscope %s -> rc=%s in %.1fs" % (" ".join(self.argv[1:]),
                                                  self.rc, self.elapsed)]
        if self.json_error:
            out.append(self.json_error)
        if self.stderr.strip():
            out.append("stderr:\n" + tail(self.stderr))
        return "\n".join(out)


class Ctx(object):
    """Per-case state: processes to clean up, a scratch directory, checks."""

    def __init__(self, gilscope, tmp, interp=None, verbose=False):
        self.gilscope = gilscope
        self.tmp = tmp
        self.interp = interp
        self.verbose = verbose
        self.procs = []
        self.checks = []     # (text, ok)
        self.details = []    # extra lines shown on failure (or -v)
        self.skipped = None
        self.bg = None       # CPUs other work kept busy (LoadMeter)
        self.unsteady = None # why this machine's CPUs were not steady (vcpu_speed)
        self._n = 0
        # every gilscope run's stderr: its text, or the file it goes to
        # (start_gilscope), read by sanitizer_check at the case's end
        self.gs_stderr = []
        self.san_bad = False

    # -- bookkeeping
    def path(self, name):
        self._n += 1
        return os.path.join(self.tmp, "%02d-%s" % (self._n, name))

    def check(self, label, value, ok, expect=None, load=False):
        """load: a bound only a quiet machine meets (parallelism, busy
        CPUs). Under SAN (the sanitized subset, whose point is the
        sanitizers' reports, on a machine that may be shared) such a bound
        is shown but not counted: "NOT MET (load-dependent: not counted
        under SAN)"."""
        text = "%s=%s" % (label, value) if label else str(value)
        if expect is not None:
            text += " (%s%s)" % (expect, "" if ok else " NOT MET")
        elif not ok:
            text += " (NOT MET)"
        if load and not ok and SAN:
            text = text[:-1] + ", load-dependent: not counted under SAN)"
            self.checks.append((text, True))
            return ok
        if load and not ok and self.busy():
            why = self.unsteady or "other work kept %.2f CPUs busy" % self.bg
            text = text[:-1] + ", load-dependent: not counted, %s)" % why
            self.checks.append((text, True))
            return ok
        self.checks.append((text, bool(ok)))
        return ok

    def busy(self):
        """Other work (not the target, not gilscope: LoadMeter) kept at
        least BUSY_CPUS busy through the run. Then a bound only an idle
        machine meets (load=True) is shown but not counted, and the
        figures are held to the kernel's count of the same window instead
        (common.kernel_agrees)."""
        return bool(self.unsteady) or (self.bg is not None and self.bg >= BUSY_CPUS)

    def detail(self, text):
        self.details.append(text)

    def skip(self, why):
        self.skipped = why

    def failed(self):
        return any(not ok for _, ok in self.checks)

    def sanitizer_check(self):
        """A failed check per gilscope run whose stderr holds a sanitizer
        report (its report in the details); under SAN, one passing check
        when none does. Called by the runner after cleanup(), so that the
        runs it killed are read too."""
        bad = 0
        for argv, err in self.gs_stderr:
            if not isinstance(err, str):
                err = read_file(err[0])
            rep = sanitizer_report(err)
            if rep:
                bad += 1
                self.detail("sanitizer report from gilscope %s:\n%s" % (
                    " ".join(str(a) for a in argv[1:]), tail(rep, 60)))
        if bad:
            self.san_bad = True
            self.check("sanitizer", "%d report(s)" % bad, False, "none")
        elif SAN:
            self.checks.append(("san=clean(%d run%s)" % (
                len(self.gs_stderr), "" if len(self.gs_stderr) == 1 else "s"),
                True))

    def cleanup(self):
        for p in self.procs:
            kill_group(p)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.procs = []

    # -- processes
    def spawn(self, argv, **kw):
        kw.setdefault("start_new_session", True)
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def workload(self, script, *args, python=None, env=None, timeout=30):
        """Start tools/workloads/SCRIPT under the case's interpreter (or
        `python`) and wait for its READY line. An interpreter that runs
        elsewhere (a container, a chroot: debian.Target) starts it itself;
        the Workload's pid is then the host PID."""
        if python is None and hasattr(self.interp, "start_workload"):
            return self.interp.start_workload(self, script, args, env=env,
                                              timeout=timeout)
        python = python or self.interp.path
        name = os.path.splitext(script)[0]
        errfile = self.path(name + ".stderr")
        # python: an interpreter's path, or a command that runs one (the
        # embed host with its --lib)
        cmd = list(python) if isinstance(python, (list, tuple)) else [python]
        argv = cmd + [os.path.join(WORKLOADS, script)] + [str(a) for a in args]
        full_env = dict(os.environ)
        full_env.update(env or {})
        with open(errfile, "w") as err:
            p = self.spawn(argv, stdout=subprocess.PIPE, stderr=err,
                           stdin=subprocess.DEVNULL, env=full_env)
        w = Workload(p, name, errfile)
        line = ready_line(p, name, errfile, timeout)
        if line != "READY %d" % p.pid:
            raise CaseError("%s: expected 'READY %d', got %r"
                            % (name, p.pid, line))
        return w

    def command(self, script, args=()):
        """The command line running tools/workloads/SCRIPT ARGS under the
        case's interpreter, for launch mode (gilscope record -- ...): for
        a container or chroot, the command that runs it there."""
        if hasattr(self.interp, "command"):
            return self.interp.command(self, script, args)
        return [self.interp.path, os.path.join(WORKLOADS, script)] + \
            [str(a) for a in args]

    def target_path(self, path):
        """A host path (under the scratch directory) as the case's
        interpreter sees it (e.g. in an environment variable)."""
        if hasattr(self.interp, "inside"):
            return self.interp.inside(self, path)
        return path

    def gilscope_argv(self, args):
        return [self.gilscope] + [str(a) for a in args]

    def run_gilscope(self, args, timeout, json_path=None, env=None,
                     prefix=None, watch=None):
        """Run gilscope to completion. json_path: where --json writes (to
        be parsed), "-" for stdout, None for no JSON. watch: the target's
        host PID, measured meanwhile: self.bg (other work, LoadMeter) and
        self.kernel (the kernel's count of the target over the report's
        window, KernelClock.window), for the load-aware checks."""
        if watch is not None:
            meter, clock = LoadMeter(int(watch)), KernelClock(int(watch))
        argv = (prefix or []) + self.gilscope_argv(args)
        full_env = dict(os.environ)
        full_env.update(env or {})
        if SAN and prefix and os.path.basename(prefix[0]) == "strace":
            # LeakSanitizer cannot run in a ptraced process (it ptraces
            # gilscope's own threads at exit): it would fail with "does
            # not work under ptrace". ASan and UBSan still check this run.
            full_env["ASAN_OPTIONS"] = full_env.get("ASAN_OPTIONS", "") + \
                ":detect_leaks=0"
        t0 = time.monotonic()
        p = self.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, env=full_env)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(p)
            out, err = p.communicate()
            raise CaseError("gilscope %s did not finish within %.0fs; stderr:\n%s"
                            % (" ".join(argv[1:]), timeout,
                               tail(err.decode("utf-8", "replace"))))
        run = GsRun(argv, p.returncode, out.decode("utf-8", "replace"),
                    err.decode("utf-8", "replace"), time.monotonic() - t0,
                    json_path)
        self.gs_stderr.append((argv, run.stderr))
        if watch is not None:
            clock.stop()
            self.bg = meter.other_cpus()
            d = run.doc if isinstance(run.doc, dict) else {}
            self.kernel = clock.window(d.get("window_start_mono_s"), d.get("window_end_mono_s"))
        if self.verbose:
            self.detail(run.describe())
        return run

    def start_gilscope(self, args, env=None, prefix=None):
        """Start gilscope in the background (after `prefix`, a command
        that runs it: nice); returns (Popen, outfile, errfile). Finish with
        finish_gilscope()."""
        outf = self.path("gilscope.stdout")
        errf = self.path("gilscope.stderr")
        full_env = dict(os.environ)
        full_env.update(env or {})
        with open(outf, "w") as o, open(errf, "w") as e:
            p = self.spawn((prefix or []) + self.gilscope_argv(args), stdout=o, stderr=e,
                           stdin=subprocess.DEVNULL, env=full_env)
        p.gs_t0 = time.monotonic()
        p.gs_files = (outf, errf)
        self.gs_stderr.append((p.args, (errf,)))
        return p

    def finish_gilscope(self, p, timeout, json_path=None):
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(p)
            p.wait()
            with open(p.gs_files[1], errors="replace") as f:
                err = f.read()
            raise CaseError("gilscope did not exit within %.0fs; stderr:\n%s"
                            % (timeout, tail(err)))
        with open(p.gs_files[0], errors="replace") as f:
            out = f.read()
        with open(p.gs_files[1], errors="replace") as f:
            err = f.read()
        run = GsRun(p.args, p.returncode, out, err,
                    time.monotonic() - p.gs_t0, json_path)
        if self.verbose:
            self.detail(run.describe())
        return run


def read_file(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


# Other work at or above this many CPUs: a run's load-dependent bounds
# are not counted (Ctx.check(load=True)).
BUSY_CPUS = 0.3


class LoadMeter(object):
    """CPU time the rest of the machine used while a trace ran: all busy
    time minus the target's and gilscope's (reaped children). A high figure
    means the timing figures of that run were perturbed."""

    def __init__(self, pid):
        self.pid = pid
        self.t0 = time.monotonic()
        self.m0 = self._machine()
        self.p0 = self._proc()
        self.c0 = self._children()

    @staticmethod
    def _machine():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal
        return (sum(v[:8]) - v[3] - v[4]) / float(os.sysconf("SC_CLK_TCK"))

    def _proc(self):
        if self.pid is None:        # no target: all but our children is other work
            return None
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                v = f.read().rsplit(")", 1)[1].split()
            return (int(v[11]) + int(v[12])) / float(os.sysconf("SC_CLK_TCK"))
        except (OSError, IndexError, ValueError):
            return None

    @staticmethod
    def _children():
        import resource
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    def other_cpus(self):
        """Average number of CPUs busy with other work since creation."""
        dt = time.monotonic() - self.t0
        p1 = self._proc()
        target = (p1 - self.p0) if (p1 is not None and self.p0 is not None) \
            else 0.0
        other = (self._machine() - self.m0) - target \
            - (self._children() - self.c0)
        return max(0.0, other / dt) if dt > 0 else 0.0


class KernelClock(object):
    """The kernel's own count of a process's threads, sampled every
    `period` s through a trace: CPU time (schedstat's first field) and
    time runnable waiting for a CPU (its second: run delay, preemptions
    and wake-up latency alike), summed over the process's threads, each
    with its CLOCK_MONOTONIC instant.
    window(t0, t1) interpolates them at the report's window edges
    (window_start_mono_s, window_end_mono_s): the truth of the same window,
    to hold gilscope's figures to, whatever else the machine was doing.
    Threads that exit inside the window take their counts with them: use
    it on workloads whose threads live through the window."""

    def __init__(self, pid, period=0.1):
        self.pid = pid
        self.period = period
        self.samples = []
        self._stop = threading.Event()
        self._sample()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _sample(self):
        cpu = delay = 0
        base = "/proc/%d/task" % self.pid
        try:
            tids = os.listdir(base)
        except OSError:
            return
        for tid in tids:
            try:
                with open("%s/%s/schedstat" % (base, tid)) as f:
                    v = f.read().split()
                cpu += int(v[0])
                delay += int(v[1])
            except (OSError, ValueError, IndexError):
                pass
        self.samples.append((time.monotonic(), cpu / 1e9, delay / 1e9))

    def _run(self):
        while not self._stop.wait(self.period):
            self._sample()

    def stop(self):
        self._stop.set()
        self._t.join()
        self._sample()

    def _at(self, t, k):
        s = self.samples
        if not s or t < s[0][0] or t > s[-1][0]:
            return None
        for a, b in zip(s, s[1:]):
            if a[0] <= t <= b[0]:
                f = (t - a[0]) / (b[0] - a[0]) if b[0] > a[0] else 0.0
                return a[k] + f * (b[k] - a[k])
        return s[-1][k]

    def window(self, t0, t1):
        """{cpu_s, runq_s} over [t0, t1] (monotonic s), or None when the
        samples do not span it."""
        if t0 is None or t1 is None or t1 <= t0:
            return None
        v = [(self._at(t0, k), self._at(t1, k)) for k in (1, 2)]
        if any(a is None or b is None for a, b in v):
            return None
        cpu, runq = [b - a for a, b in v]
        return {"cpu_s": cpu, "runq_s": runq}


def machine_busy(interval=1.0):
    """Average number of busy CPUs over `interval` seconds."""
    m0, t0 = LoadMeter._machine(), time.monotonic()
    time.sleep(interval)
    return (LoadMeter._machine() - m0) / (time.monotonic() - t0)


def wait_quiet(limit=0.3, timeout=10.0):
    """Wait until other processes keep fewer than `limit` CPUs busy (or
    `timeout` passes). Returns the last load seen."""
    deadline = time.monotonic() + timeout
    load = machine_busy()
    while load >= limit and time.monotonic() < deadline:
        load = machine_busy()
    return load


# ---------------------------------------------------------------- JSON schema

def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _close(a, b, rel, abs_):
    return abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))


def self_check(doc):
    """gilscope's self-check in a report, `check`: {"switches":
    {"interpreter": N or null, "gilscope": N}, "ok": bool, "problems":
    [...]} (exit status 3 when not ok). Returns (summary, problems): it
    must be there, ok, and the GIL switch count gilscope saw must be the
    interpreter's own (read from its memory) within 1%, or 1 when small."""
    chk = doc.get("check") if isinstance(doc, dict) else None
    if not isinstance(chk, dict):
        return "missing", ["missing check (gilscope's self-check)"]
    sw = chk.get("switches") if isinstance(chk.get("switches"), dict) else {}
    ni, ng, ok = sw.get("interpreter"), sw.get("gilscope"), chk.get("ok")
    summary = "switches interpreter=%s gilscope=%s ok=%s" % (
        "null" if ni is None else ni, ng, json.dumps(ok))
    bad = []
    if not isinstance(chk.get("switches"), dict):
        bad.append("check.switches=%r is not an object" % chk.get("switches"))
    if not isinstance(ok, bool):
        bad.append("check.ok=%r is not a bool" % (ok,))
    elif not ok:
        bad.append("check.ok=false: %s" % "; ".join(
            str(x) for x in chk.get("problems") or ["(no problems listed)"]))
    if not isinstance(chk.get("problems"), list):
        bad.append("check.problems=%r is not a list" % (chk.get("problems"),))
    if not _int(ng):
        bad.append("check.switches.gilscope=%r is not an int" % (ng,))
    if ni is None:
        bad.append("check.switches.interpreter is null (gilscope counted %s): "
                   "the interpreter's own switch count was not read" % (ng,))
    elif not _int(ni):
        bad.append("check.switches.interpreter=%r is not an int" % (ni,))
    elif get(doc, "mode", "name") == "light":
        # --light counts the hand-offs to a waiter it timed: every one is
        # a switch, not every switch is one (a thread may find it free)
        if _int(ng) and ng > ni + max(2, 0.01 * ni):
            bad.append("check.switches: --light timed %d hand-offs, more than the "
                       "interpreter's %d switches" % (ng, ni))
    elif _int(ng) and abs(ni - ng) > max(1, 0.01 * max(ni, ng)):
        bad.append("check.switches: interpreter=%d gilscope=%d differ by %d "
                   "(more than 1%% and more than 1)" % (ni, ng, abs(ni - ng)))
    return summary, bad


def check_self(ctx, doc, label=""):
    """ctx.check of a report's self-check (self_check), both switch counts
    shown; details on failure. True when fine."""
    summary, bad = self_check(doc)
    ok = ctx.check(label + "self_check", summary, not bad,
                   "ok, switches within 1%")
    if bad:
        ctx.detail("%sself-check problems:\n  %s" % (label, "\n  ".join(bad)))
    return ok


SCHEMA_PATH = os.path.join(REPO, "docs", "report.schema.json")
_SCHEMA = []


def report_schema():
    """docs/report.schema.json, loaded once."""
    if not _SCHEMA:
        with open(SCHEMA_PATH) as f:
            _SCHEMA.append(json.load(f))
    return _SCHEMA[0]


_TYPES = {"object": lambda v: isinstance(v, dict),
          "array": lambda v: isinstance(v, list),
          "string": lambda v: isinstance(v, str),
          "boolean": lambda v: isinstance(v, bool),
          "null": lambda v: v is None,
          "number": _num,
          "integer": _int}


def schema_problems(value, schema, where="", root=None):
    """Where value does not match schema: the subset of JSON Schema
    (draft 2020-12) docs/report.schema.json uses: $ref (to #/...), allOf,
    type, const, enum, pattern, required, properties,
    additionalProperties, items, minItems, minimum, maximum,
    exclusiveMinimum. Stricter than the standard in one way: an integer
    is a JSON number written without a fraction (1.0 is not one).
    minimum and maximum allow for the report's rounding (1e-9 and 1e-6)."""
    root = root if root is not None else schema
    name = where or "report"
    bad = []
    if "$ref" in schema:
        node = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        bad += schema_problems(value, node, where, root)
    for sub in schema.get("allOf", ()):
        bad += schema_problems(value, sub, where, root)
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(_TYPES[t](value) for t in types):
            return bad + ["%s=%r is not %s" % (name, value, " or ".join(types))]
    if "const" in schema and value != schema["const"]:
        bad.append("%s=%r, want %r" % (name, value, schema["const"]))
    if "enum" in schema and value not in schema["enum"]:
        bad.append("%s=%r not one of %s" % (name, value, sorted(schema["enum"])))
    if "pattern" in schema and isinstance(value, str) and \
            not re.search(schema["pattern"], value):
        bad.append("%s=%r does not match /%s/" % (name, value, schema["pattern"]))
    if _num(value):
        if "minimum" in schema and value < schema["minimum"] - 1e-9:
            bad.append("%s=%r < %s" % (name, value, schema["minimum"]))
        if "maximum" in schema and value > schema["maximum"] + 1e-6:
            bad.append("%s=%r > %s" % (name, value, schema["maximum"]))
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            bad.append("%s=%r is not > %s" % (name, value, schema["exclusiveMinimum"]))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for k in schema.get("required", ()):
            if k not in value:
                bad.append("missing %s" % ("%s.%s" % (where, k) if where else k))
        for k, v in value.items():
            sub = props.get(k, schema.get("additionalProperties", True))
            if isinstance(sub, dict):
                bad += schema_problems(v, sub, "%s.%s" % (where, k) if where else k, root)
            elif sub is False:
                bad.append("%s.%s is not allowed" % (where, k))
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            bad.append("%s has %d item(s), fewer than %d" % (name, len(value), schema["minItems"]))
        if "items" in schema:
            for n, v in enumerate(value):
                bad += schema_problems(v, schema["items"], "%s[%d]" % (where, n), root)
    return bad


def validate_report(doc, pid=None, interp=None, launched=None,
                    check=True):
    """Problems (list of strings) of a gilscope JSON report against its
    schema (docs/report.schema.json) and its internal consistency. Empty
    when fine. check: include gilscope's self-check (self_check);
    "if-present" only when the report has one."""
    bad = []
    if check and isinstance(doc, dict) and (check != "if-present" or "check" in doc):
        bad += self_check(doc)[1]
    if not isinstance(doc, dict):
        return ["report is not a JSON object"]
    bad += schema_problems(doc, report_schema())

    def num(*keys):
        """The value at keys if it is a number, else None (a schema
        problem already reported)."""
        v = get(doc, *keys)
        return v if _num(v) else None

    tpid = get(doc, "target", "pid")
    if pid is not None and _int(tpid) and tpid != pid:
        bad.append("target.pid=%r, want %d" % (tpid, pid))
    pv = get(doc, "target", "python_version")
    if interp is not None and isinstance(pv, str) and \
            pv not in (interp.minor, interp.full) and \
            not pv.startswith(interp.minor + "."):
        bad.append("target.python_version=%r, want %s" % (pv, interp.full))
    la = get(doc, "target", "launched")
    if launched is not None and isinstance(la, bool) and la != launched:
        bad.append("target.launched=%r, want %r" % (la, launched))
    window = num("window_s")

    gil = get(doc, "gil")
    gil = gil if isinstance(gil, dict) else {}
    for kind in ("hold", "wait", "handoff"):
        w = "gil." + kind
        cnt = num("gil", kind, "count") if _int(get(gil, kind, "count")) else None
        tot = num("gil", kind, "total_s")
        vals = [num("gil", kind, k) for k in
                ("mean_us", "p50_us", "p90_us", "p99_us", "max_us")]
        if None not in vals:
            mean, p50, p90, p99, mx = vals
            # percentiles come from a log-linear histogram (<= 1.6% off)
            if not (p50 <= p90 * 1.0001 and p90 <= p99 * 1.0001
                    and p99 <= mx * 1.04 + 1):
                bad.append("%s percentiles not ordered: p50=%s p90=%s p99=%s "
                           "max=%s" % (w, p50, p90, p99, mx))
            if mean > mx * 1.0001 + 1:
                bad.append("%s.mean_us=%s > max_us=%s" % (w, mean, mx))
            if cnt and tot is not None and \
                    not _close(mean, tot * 1e6 / cnt, 0.02, 1.0):
                bad.append("%s.mean_us=%s but total_s/count=%.1fus"
                           % (w, mean, tot * 1e6 / cnt))
    forced = get(gil, "releases", "forced")
    vol = get(gil, "releases", "voluntary")
    forced = forced if _int(forced) else None
    vol = vol if _int(vol) else None
    # A hand-off starts at a release that left threads waiting and lasts
    # until the next acquisition: one per release at most, and only while
    # someone waits, so inside the contended time; and a contended instant
    # has the GIL held or in a hand-off (but for the probes' own races).
    hc = get(gil, "handoff", "count")
    hc = hc if _num(hc) else None
    hp, cp, held = (num("gil", k) for k in ("handoff_pct", "contended_pct", "held_pct"))
    if None not in (hc, forced, vol) and hc > forced + vol:
        bad.append("gil.handoff.count=%d > releases=%d" % (hc, forced + vol))
    if None not in (hp, cp) and hp > cp * 1.02 + 1:
        bad.append("gil.handoff_pct=%.2f > contended_pct=%.2f" % (hp, cp))
    if None not in (hp, cp, held) and held + hp < cp - 3:
        bad.append("gil.held_pct+handoff_pct=%.2f < contended_pct=%.2f"
                   % (held + hp, cp))

    on, wg, wo, par = (num("cpu", k) for k in
                       ("on_cpu_s", "with_gil_s", "without_gil_s", "parallelism"))
    if None not in (on, wg, wo) and not _close(on, wg + wo, 0.02, 0.005):
        bad.append("cpu.on_cpu_s=%.4f != with_gil_s+without_gil_s=%.4f"
                   % (on, wg + wo))
    if None not in (on, par, window) and window > 0 and \
            not _close(par, on / window, 0.03, 0.01):
        bad.append("cpu.parallelism=%.3f != on_cpu_s/window_s=%.3f"
                   % (par, on / window))
    per = get(doc, "cpu", "per_cpu")
    for i, c in enumerate(per if isinstance(per, list) else []):
        w = "cpu.per_cpu[%d]" % i
        b, g, n = (get(c, k) for k in ("busy_pct", "with_gil_pct", "without_gil_pct"))
        if all(_num(x) for x in (b, g, n)) and not _close(b, g + n, 0.02, 0.2):
            bad.append("%s.busy_pct=%.2f != with+without=%.2f" % (w, b, g + n))

    threads = get(doc, "threads")
    threads = threads if isinstance(threads, list) else []
    tids = set()
    held_sum = 0.0
    for i, t in enumerate(threads):
        w = "threads[%d]" % i
        if not isinstance(t, dict):
            continue
        tid = t.get("tid")
        if _int(tid):
            if tid in tids:
                bad.append("thread %s listed twice" % tid)
            tids.add(tid)
        held_sum += t["held_s"] if _num(t.get("held_s")) else 0.0
        # its complete holds: mean <= max, and their total inside its time
        # holding the GIL (on- and off-CPU, holds cut by the window too)
        hm, hx = t.get("hold_mean_us"), t.get("hold_max_us")
        hm = hm if _num(hm) else None
        hx = hx if _num(hx) else None
        nh = t.get("holds")
        ht = (t.get("held_s") or 0) + (t.get("held_offcpu_s") or 0)
        if None not in (hm, hx) and hm > hx * 1.0001 + 0.01:
            bad.append("%s.hold_mean_us=%s > hold_max_us=%s" % (w, hm, hx))
        if None not in (hm, nh) and isinstance(nh, int) and \
                hm * nh / 1e6 > ht * 1.01 + 0.001:
            bad.append("%s: holds x hold_mean_us = %.4fs > held time %.4fs"
                       % (w, hm * nh / 1e6, ht))
    if threads and wg is not None and not _close(held_sum, wg, 0.05, 0.01):
        bad.append("sum(threads.held_s)=%.4f != cpu.with_gil_s=%.4f"
                   % (held_sum, wg))

    # Tracing cost: every completed hold ended at a drop_gil hit; the CPU
    # share is hits x trap price over the window (null when not timed).
    cost = get(doc, "cost")
    cost = cost if isinstance(cost, dict) else {}
    hits = cost.get("probe_hits") if _int(cost.get("probe_hits")) else None
    holds = get(doc, "gil", "hold", "count")
    if get(doc, "mode", "name") == "light":
        # no uprobe at all: what it saw is in mode.light
        if hits:
            bad.append("cost.probe_hits=%d in --light (no uprobe)" % hits)
        if not isinstance(get(doc, "mode", "light"), dict):
            bad.append("mode.light missing in a --light report")
    elif hits is not None and _int(holds) and hits < holds:
        bad.append("cost.probe_hits=%d < gil.hold.count=%d" % (hits, holds))
    trap, share = cost.get("trap_ns"), cost.get("min_cpu_pct")
    if cost and (trap is None) != (share is None):
        bad.append("cost.trap_ns=%r but cost.min_cpu_pct=%r" % (trap, share))
    if _num(trap) and _num(share) and \
            None not in (hits, window) and window > 0 and \
            not _close(share, 100.0 * hits * trap / 1e9 / window, 0.01, 1e-6):
        bad.append("cost.min_cpu_pct=%r != probe_hits x trap_ns / window_s" % share)
    return bad


def get(doc, *keys, default=None):
    for k in keys:
        if isinstance(doc, dict) and k in doc:
            doc = doc[k]
        elif isinstance(doc, list) and isinstance(k, int) and k < len(doc):
            doc = doc[k]
        else:
            return default
    return doc


# ---------------------------------------------------------------- bpftrace

def python_object(pid):
    """The file holding the interpreter of a running process: its mapped
    libpython, or its executable when libpython is linked in."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and "/libpython" in parts[5]:
                    return parts[5].strip()
        return os.path.realpath("/proc/%d/exe" % pid)
    except OSError as e:
        raise CaseError("cannot read /proc/%d: %s" % (pid, e))


def gil_symbols(obj):
    """Names of the take_gil and drop_gil copies (e.g. take_gil.constprop.0)
    defined in obj's symbol table."""
    try:
        out = subprocess.run(["nm", "--defined-only", obj],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise CaseError("nm %s: %s" % (obj, e))
    take, drop = [], []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) != 3 or parts[1] not in "tT":
            continue
        if re.match(r"^take_gil(\..*)?$", parts[2]):
            take.append(parts[2])
        elif re.match(r"^drop_gil(\..*)?$", parts[2]):
            drop.append(parts[2])
    if not take or not drop:
        raise CaseError("no take_gil/drop_gil symbols in %s (stripped?)" % obj)
    return sorted(set(take)), sorted(set(drop))


def bpftrace_script(pid, obj):
    take, drop = gil_symbols(obj)
    with open(BT_TEMPLATE) as f:
        src = f.read()
    src = src.replace("@@PID@@", str(pid))
    src = src.replace("@@TAKE_RET@@", ",\n".join(
        'uretprobe:%s:"%s"' % (obj, s) for s in take))
    src = src.replace("@@DROP@@", ",\n".join(
        'uprobe:%s:"%s"' % (obj, s) for s in drop))
    return src, take, drop


def parse_bpftrace(out):
    """Counters printed after 'gil_holds: done'."""
    if "gil_holds: done" not in out:
        return None
    res = {}
    for line in out.split("gil_holds: done", 1)[1].splitlines():
        m = re.match(r"^@(\w+): (\d+)\s*$", line)
        if m and m.group(1) not in res:
            res[m.group(1)] = int(m.group(2))
    for k in ("holds", "hold_ns", "unmatched", "retaken"):
        res.setdefault(k, 0)
    return res


def ensure_tracefs():
    """bpftrace wants tracefs at /sys/kernel/tracing; mount it if missing."""
    if os.path.exists("/sys/kernel/tracing/available_events"):
        return None
    r = subprocess.run(["mount", "-t", "tracefs", "nodev",
                        "/sys/kernel/tracing"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True)
    if r.returncode != 0:
        return "cannot mount tracefs: %s" % r.stdout.strip()
    return None
