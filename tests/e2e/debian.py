"""Debian's own CPython builds as e2e targets: python3.13 (trixie), python3.14
and python3.15 (sid), from the roots tools/test-roots.sh builds (cached in
$GILSCOPE_ROOTS, default /var/cache/gilscope-tests). They need their root's
glibc, so they run only inside it, in one of these configurations (a
Target each, an Interp to the cases: ctx.workload() and ctx.command() go
through it):

  build kind  exe     ROOT/usr/bin/python3.X (non-PIE, stripped, LTO, the
                      interpreter linked in)
              embed   tests/e2e/embed_host.c: a C program that dlopen()s
                      libpython3.X.so.1.0 and calls Py_BytesMain (uWSGI-
                      or C++-application-style embedding)
  placement   container  own mount + PID namespaces, pivot_root into a
                      tmpfs holding read-only binds of the root's
                      directories (tests/e2e/ctr.sh); the workloads at
                      /gs/wl, the case's scratch directory at /gs/scratch,
                      embed_host at /gs/bin; debug files present (dbg) or
                      hidden under an empty tmpfs (nodbg)
              chroot  `chroot ROOT` in the host's mount namespace; the
                      workloads and embed_host are copied to ROOT/gs-e2e-
                      <run's pid>/wl and the case's scratch directory is
                      ROOT/gs-e2e-<pid>/scratch/<case> (moved back to the
                      host's scratch directory after the case); the run
                      removes ROOT/gs-e2e-<pid> when it ends

Labels: debian-3.X-{container,chroot}-{exe,embed}-{dbg,nodbg}. Launch mode
(gilscope record -- CMD) follows execs only, so a launched container has no
PID namespace (ctr.sh --exec: unshare -> sh -> exec python); attached ones
do.

Every workload start checks the configuration itself, from the host: the
host PID (READY's namespace PID is its NSpid), /proc/PID/exe is the
python3.X or embed_host file of the root, libpython3.X.so.1.0 is mapped
(embed) or not (exe), the namespaces (container: own mount and PID
namespaces; chroot: the host's mount namespace, /proc/PID/root is ROOT, not
/) and /usr/lib/debug as the target sees it (empty when hidden).
"""
import json
import os
import shutil
import signal
import struct
import subprocess
import time

import gs
from gs import CaseError

ROOTS_DIR = os.environ.get("GILSCOPE_ROOTS", "/var/cache/gilscope-tests")
# what tools/test-roots.sh builds: suite -> Debian's interpreters in it
SUITES = (("trixie", ("3.13",)), ("sid", ("3.14", "3.15")))
CTR = os.path.join(gs.HERE, "ctr.sh")
EMBED_HOST = os.environ.get("GILSCOPE_EMBED_HOST", os.path.join(
    gs.REPO, ".output", "tests", "embed_host"))
LIBDIR = "/usr/lib/x86_64-linux-gnu"
CHROOT_DIR = "gs-e2e-%d" % os.getpid()     # this run's directory in a root

# the e2e cases (any case file's, by name) run on each configuration
TIMING_CASES = (
    "cpu_threads n=2 si=5ms", "cpu_threads n=2 si=20ms",
    "cpu_threads n=4 si=5ms", "cpu_threads n=4 si=20ms",
    "duty 30/20ms (60%)", "duty 10/40ms (20%)",
    "io_threads n=4", "zlib_threads n=2",
    "queue n=4 2ms/1ms", "convoy si=5ms", "convoy si=2ms",
    "single_cpu attach", "launch args+exit_code",
    "stacks hog/waiter", "stacks zlib nogil",
    "subinterp own GIL", "self-check fails when probes miss events",
)
# --light against exact mode (light_cases.py) on a stripped and an embedded
# build: Debian 13's glibc 2.41 rewrote the condition variable
LIGHT_CASES = TIMING_CASES + (
    "light: cpu_threads n=4 si=5ms", "light: duty 30/20ms (60%)",
    "light vs exact: cpu_threads n=4 si=5ms", "light vs exact: io_threads n=4",
    "light vs exact: zlib_threads n=2",
)
# a chroot is entered by exec (chroot(8) execs python): launch works too
CHROOT_CASES = ("cpu_threads n=2 si=5ms", "launch args+exit_code")
# (placement, kind, debug files, cases)
CONFIGS = (
    ("container", "exe", True, TIMING_CASES),
    ("container", "exe", False, LIGHT_CASES),
    ("container", "embed", True, LIGHT_CASES),
    ("container", "embed", False, TIMING_CASES),
    ("chroot", "exe", True, CHROOT_CASES),
)


# ---------------------------------------------------------------- ELF

def build_id(path):
    """The GNU build-id of an ELF file (hex), or None."""
    try:
        with open(path, "rb") as f:
            data = f.read(64)
            if data[:4] != b"\x7fELF" or data[4] != 2:
                return None
            phoff, = struct.unpack_from("<Q", data, 32)
            phentsize, phnum = struct.unpack_from("<HH", data, 54)
            f.seek(phoff)
            ph = f.read(phentsize * phnum)
            for i in range(phnum):
                p_type, _, p_off, _, _, p_filesz = struct.unpack_from(
                    "<IIQQQQ", ph, i * phentsize)
                if p_type != 4:         # PT_NOTE
                    continue
                f.seek(p_off)
                notes = f.read(p_filesz)
                off = 0
                while off + 12 <= len(notes):
                    namesz, descsz, ntype = struct.unpack_from("<III", notes, off)
                    name_end = off + 12 + ((namesz + 3) & ~3)
                    if ntype == 3 and notes[off + 12:off + 12 + namesz] == b"GNU\0":
                        return notes[name_end:name_end + descsz].hex()
                    off = name_end + ((descsz + 3) & ~3)
    except (OSError, struct.error):
        return None
    return None


def debug_file(root, path):
    """ROOT/usr/lib/debug/.build-id/xx/yyyy.debug of ROOT/PATH, or None."""
    bid = build_id(root + path)
    if not bid:
        return None
    f = os.path.join(root, "usr/lib/debug/.build-id", bid[:2], bid[2:] + ".debug")
    return f if os.path.isfile(f) else None


# ---------------------------------------------------------------- /proc

def ns_id(pid, ns):
    try:
        return os.readlink("/proc/%s/ns/%s" % (pid, ns))
    except OSError:
        return None


def nspid(pid):
    return (gs.proc_status(pid) or {}).get("NSpid")


def same_file(a, b):
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def mapped(pid, suffix):
    try:
        with open("/proc/%d/maps" % pid) as f:
            return sorted(set(l.split(None, 5)[5].strip() for l in f
                              if len(l.split(None, 5)) == 6
                              and l.rstrip().endswith(suffix)))
    except OSError:
        return []


# ---------------------------------------------------------------- targets

class TargetWorkload(gs.Workload):
    """A workload in a container or chroot: pid is its host PID (what
    gilscope -p takes); p is the process the harness started (unshare or
    chroot), whose exit status is the workload's."""

    def __init__(self, popen, name, errfile, pid, ns_pid):
        gs.Workload.__init__(self, popen, name, errfile)
        self.pid = pid
        self.ns_pid = ns_pid

    def alive(self):
        return self.p.poll() is None and gs.alive(self.pid)

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)


class Target(gs.Interp):
    """One Debian interpreter in one configuration."""

    def __init__(self, suite, root, minor, placement, kind, debug, cases):
        self.suite = suite
        self.root = root
        self.exe = "/usr/bin/python%s" % minor
        self.soname = "libpython%s.so.1.0" % minor
        self.lib = "%s/%s" % (LIBDIR, self.soname)
        gs.Interp.__init__(self, self.exe, tuple(int(x) for x in minor.split(".")) + (0,))
        self.full = minor + ".?"
        self.placement = placement
        self.kind = kind
        self.debug = debug
        self.case_names = cases
        self.label = "debian-%s-%s-%s-%s" % (minor, placement, kind,
                                             "dbg" if debug else "nodbg")
        self.missing = None     # why this target cannot run, or None

    def __repr__(self):
        return "Target(%s, %s)" % (self.label, self.full)

    def describe(self):
        return "%s %s%s %s" % (self.placement, self.kind,
                               "+debug" if self.debug else " no-debug",
                               self.full)

    # -- paths
    def wl_dir(self):
        return "/gs/wl" if self.placement == "container" else "/%s/wl" % CHROOT_DIR

    def embed_path(self):
        if self.placement == "container":
            return "/gs/bin/" + os.path.basename(EMBED_HOST)
        return "/%s/wl/%s" % (CHROOT_DIR, os.path.basename(EMBED_HOST))

    def inside(self, ctx, path):
        """A host path (the case's scratch directory, the workloads) as
        the target sees it; other values unchanged."""
        if not isinstance(path, str):
            return path
        wl = gs.WORKLOADS
        if path == wl or path.startswith(wl + "/"):
            return self.wl_dir() + path[len(wl):]
        if self.placement == "container":
            t = ctx.tmp
            if path == t or path.startswith(t + "/"):
                return "/gs/scratch" + path[len(t):]
        elif path.startswith(self.root + "/"):
            return path[len(self.root):]
        return path

    def argv_inside(self, argv):
        """The target's command line (paths inside) running Python with
        these arguments, as the executable or through embed_host."""
        if self.kind == "embed":
            return [self.embed_path(), "--lib", self.soname] + argv
        return [self.exe] + argv

    def host_argv(self, ctx, argv, launch=False):
        """The host command that runs `argv` (inside paths) in the
        target's placement. launch: an exec chain only (no PID namespace)."""
        if self.placement == "chroot":
            return ["chroot", self.root] + argv
        at = ctx.path("ctr-root")
        os.mkdir(at)
        cmd = ["sh", CTR, "--at", at, "--wl", gs.WORKLOADS, "--scratch", ctx.tmp]
        if self.kind == "embed":
            cmd += ["--bin", EMBED_HOST]
        if not self.debug:
            cmd.append("--no-debug")
        if launch:
            cmd.append("--exec")
        return cmd + [self.root] + argv

    def command(self, ctx, script, args=()):
        """Host argv launching tools/workloads/SCRIPT ARGS in the target
        (for gilscope record -- ...)."""
        return self.host_argv(ctx, self.argv_inside(
            [self.wl_dir() + "/" + script] + [self.inside(ctx, str(a)) for a in args]),
            launch=True)

    def env(self, ctx, extra):
        env = dict(os.environ)
        for k in ("PYTHONHOME", "PYTHONPATH", "PYTHONUSERBASE", "PYTHONSTARTUP"):
            env.pop(k, None)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        for k, v in (extra or {}).items():
            env[k] = self.inside(ctx, v)
        return env

    # -- scratch directory (chroot: inside the root, moved out afterwards)
    def scratch_dir(self, tmp):
        if self.placement != "chroot":
            return tmp
        d = os.path.join(self.root, CHROOT_DIR, "scratch", os.path.basename(tmp))
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    def release_scratch(self, work, tmp):
        if work == tmp:
            return
        os.makedirs(tmp, exist_ok=True)
        for name in os.listdir(work):
            shutil.move(os.path.join(work, name), os.path.join(tmp, name))
        shutil.rmtree(work, ignore_errors=True)

    # -- workloads
    def start_workload(self, ctx, script, args, env=None, timeout=30):
        """ctx.workload() for this target: started, READY, checked."""
        name = os.path.splitext(script)[0]
        errfile = ctx.path(name + ".stderr")
        argv = self.host_argv(ctx, self.argv_inside(
            [self.wl_dir() + "/" + script] + [self.inside(ctx, str(a)) for a in args]))
        with open(errfile, "w") as err:
            p = ctx.spawn(argv, stdout=subprocess.PIPE, stderr=err,
                          stdin=subprocess.DEVNULL, env=self.env(ctx, env),
                          cwd="/")
        line = gs.ready_line(p, name, errfile, timeout)
        try:
            ns_pid = int(line.split()[1]) if line.startswith("READY ") else None
        except ValueError:
            ns_pid = None
        if ns_pid is None:
            raise CaseError("%s: expected 'READY N', got %r" % (name, line))
        if self.placement == "container":
            pid = None
            deadline = time.monotonic() + 10
            while pid is None and time.monotonic() < deadline:
                pid = gs.host_pid_of(p.pid, ns_pid)
                if pid is None:
                    time.sleep(0.05)
            if pid is None:
                raise CaseError("%s: no host PID for namespace PID %d"
                                % (name, ns_pid))
        else:
            pid = p.pid
            if ns_pid != pid:
                raise CaseError("%s: READY %d, but the chroot's PID is %d"
                                % (name, ns_pid, pid))
        w = TargetWorkload(p, name, errfile, pid, ns_pid)
        bad = self.verify(w.pid, ns_pid)
        if bad:
            raise CaseError("%s in %s is not what the configuration says:\n  %s"
                            % (name, self.label, "\n  ".join(bad)))
        return w

    def verify(self, pid, ns_pid):
        """What is wrong with the running process pid, against this
        configuration (empty when right)."""
        bad = []
        host_exe = self.root + self.exe if self.kind == "exe" else \
            (EMBED_HOST if self.placement == "container"
             else self.root + self.embed_path())
        if not same_file("/proc/%d/exe" % pid, host_exe):
            try:
                exe = os.readlink("/proc/%d/exe" % pid)
            except OSError as e:
                exe = str(e)
            bad.append("/proc/%d/exe is %s, not %s" % (pid, exe, host_exe))
        libs = mapped(pid, "/" + self.soname)
        if self.kind == "embed":
            if not libs or not same_file("/proc/%d/root%s" % (pid, self.lib),
                                         self.root + self.lib):
                bad.append("%s is not mapped (maps: %s)" % (self.soname, libs))
        elif libs:
            bad.append("the exe build maps %s" % libs)
        ids = nspid(pid) or []
        if self.placement == "container":
            for ns in ("mnt", "pid"):
                if ns_id(pid, ns) == ns_id("self", ns):
                    bad.append("in the host's %s namespace" % ns)
            if ids[-1:] != [ns_pid] or len(ids) != 2:
                bad.append("NSpid %s, READY said %d" % (ids, ns_pid))
        else:
            if ns_id(pid, "mnt") != ns_id("self", "mnt"):
                bad.append("not in the host's mount namespace")
            if same_file("/proc/%d/root" % pid, "/") or \
                    not same_file("/proc/%d/root" % pid, self.root):
                bad.append("/proc/%d/root is not %s" % (pid, self.root))
        try:
            dbg = os.listdir("/proc/%d/root/usr/lib/debug" % pid)
        except OSError as e:
            dbg = ["(%s)" % e]
        if self.debug and ".build-id" not in dbg:
            bad.append("/usr/lib/debug has no .build-id: %s" % dbg)
        if not self.debug and dbg:
            bad.append("/usr/lib/debug is not hidden: %s" % dbg)
        return bad


# ---------------------------------------------------------------- discovery

def probe_version(root, exe):
    code = "import sys; print('%d %d %d' % sys.version_info[:3])"
    try:
        r = subprocess.run(["chroot", root, exe, "-c", code], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=30,
                           env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"), cwd="/")
        v = tuple(int(x) for x in r.stdout.split())
        if len(v) == 3:
            return v, None
        return None, "rc=%s %s" % (r.returncode, r.stderr.strip()[-200:])
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        return None, str(e)


def discover():
    """Every configuration of every Debian interpreter tools/test-roots.sh
    builds; a target's `missing` says why it cannot run (its root, or a
    file it needs, is not there)."""
    targets = []
    for suite, minors in SUITES:
        root = os.path.join(ROOTS_DIR, suite)
        for minor in minors:
            made = [Target(suite, root, minor, pl, kind, dbg, cases)
                    for pl, kind, dbg, cases in CONFIGS]
            targets += made
            why = None
            if not os.path.isfile(os.path.join(root, ".gilscope-root")):
                why = "no root %s (build it: tools/test-roots.sh %s)" % (root, suite)
            elif not os.access(root + made[0].exe, os.X_OK):
                why = "no %s%s (rebuild the root: tools/test-roots.sh %s)" % (
                    root, made[0].exe, suite)
            version = None
            if why is None:
                version, err = probe_version(root, made[0].exe)
                if version is None:
                    why = "%s%s does not run in its root: %s" % (root, made[0].exe, err)
            for t in made:
                t.missing = why
                if version:
                    t.version = version
                    t.full = "%d.%d.%d" % version
                if t.missing:
                    continue
                obj = t.lib if t.kind == "embed" else t.exe
                if t.kind == "embed":
                    if not os.path.isfile(root + t.lib):
                        t.missing = "no %s%s" % (root, t.lib)
                    elif not os.access(EMBED_HOST, os.X_OK):
                        rel = os.path.relpath(EMBED_HOST, gs.REPO)
                        t.missing = "no embed host %s (%s)" % (
                            EMBED_HOST, "$GILSCOPE_EMBED_HOST" if rel.startswith("..")
                            else "make " + rel)
                if t.missing is None and t.debug and not debug_file(root, obj):
                    t.missing = "no debug file for %s%s under %s/usr/lib/debug " \
                        "(build-id %s; python%s-dbg / libpython%s-dbg)" % (
                            root, obj, root, build_id(root + obj), minor, minor)
    return targets


def selected(target, only):
    """--only VALUE: 3.14, 3.14.10, debian, debian-3.14, a label or a
    label's prefix (debian-3.14-container-embed)."""
    if not only:
        return True
    for o in only:
        if o in (target.minor, target.full) or target.label == o or \
                target.label.startswith(o + "-"):
            return True
    return False


# ---------------------------------------------------------------- chroot files

def chroot_prepare(targets):
    """Copy the workloads and embed_host into ROOT/gs-e2e-<pid>/wl of
    every root a chroot target uses; remove what dead runs left."""
    roots = sorted(set(t.root for t in targets
                       if t.placement == "chroot" and not t.missing))
    for root in roots:
        for name in os.listdir(root):
            if name.startswith("gs-e2e-") and name[7:].isdigit() and \
                    name != CHROOT_DIR and not gs.alive(int(name[7:])):
                shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        wl = os.path.join(root, CHROOT_DIR, "wl")
        shutil.rmtree(os.path.join(root, CHROOT_DIR), ignore_errors=True)
        os.makedirs(wl)
        for f in os.listdir(gs.WORKLOADS):
            if f.endswith(".py"):
                shutil.copy(os.path.join(gs.WORKLOADS, f), wl)
        if os.path.isfile(EMBED_HOST):
            shutil.copy2(EMBED_HOST, wl)
        os.makedirs(os.path.join(root, CHROOT_DIR, "scratch"))
    return roots


def chroot_cleanup(roots):
    for root in roots:
        shutil.rmtree(os.path.join(root, CHROOT_DIR), ignore_errors=True)


# ---------------------------------------------------------------- self-check

def check_workloads(targets):
    """--check-workloads for the Debian targets, without gilscope: each
    configuration starts workloads (checked as in every case: host PID,
    exe, libpython, namespaces, debug files), they burn the CPU they
    should, SIGUSR1 marks write stats the host reads, a launch-style
    command passes arguments and exit status through, and /usr/lib/debug
    inside is as the configuration says."""
    import tempfile
    from check_workloads import check_cpu, check_duty
    tmproot = tempfile.mkdtemp(prefix="gilscope-wl-debian-")
    fails = passes = 0
    roots = chroot_prepare(targets)
    try:
        for t in targets:
            if t.missing:
                print("FAIL %s workloads: %s" % (t.label, t.missing), flush=True)
                fails += 1
                continue
            tmp0 = os.path.join(tmproot, t.label)
            os.makedirs(tmp0)
            work = t.scratch_dir(tmp0)
            ctx = gs.Ctx(None, work, t)
            try:
                check_cpu(ctx, "cpu_threads.py", (2, 0.005, 0), 3, 0.8, 1.2)
                check_cpu(ctx, "zlib_threads.py", (2, 0), 3, 1.3, 2.1, tries=3)
                check_duty(ctx, 30, 20)
                check_launch(ctx, t)
                check_debug_inside(ctx, t)
            except (CaseError, OSError, subprocess.SubprocessError) as e:
                ctx.check("ERROR", str(e).splitlines()[0], False)
                ctx.detail(str(e))
            finally:
                ctx.cleanup()
                t.release_scratch(work, tmp0)
            bad = ctx.failed()
            fails += bad
            passes += not bad
            print("%s %s workloads: %s" % ("FAIL" if bad else "PASS", t.label,
                                          " ".join(x for x, _ in ctx.checks)),
                  flush=True)
            if bad:
                for d in ctx.details:
                    print("    " + d.replace("\n", "\n    "))
    finally:
        chroot_cleanup(roots)
        shutil.rmtree(tmproot, ignore_errors=True)
    return passes, fails


def check_launch(ctx, t):
    """The launch command (an exec chain): args and exit status pass
    through; the process that ran Python is the one started."""
    out = ctx.path("args.json")
    args = ["a b", "", "--json", "-p", "\u00fc"]
    argv = ctx.command("args_echo.py", args)
    env = t.env(ctx, {"ARGS_OUT": out, "EXIT_CODE": "3"})
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, cwd="/")
    rc = p.wait(timeout=30)
    with open(out) as f:
        got = json.load(f)
    ok = got["argv_hex"] == [a.encode().hex() for a in args]
    ctx.check("launch", "rc=%d args_ok=%s" % (rc, ok), rc == 3 and ok, "rc=3")
    env = t.env(ctx, {"ARGS_OUT": out, "EXIT_SIGNAL": str(int(signal.SIGTERM))})
    rc = subprocess.call(ctx.command("args_echo.py", []), env=env,
                         stdin=subprocess.DEVNULL, cwd="/", timeout=30)
    ctx.check("launch signal", rc, rc == -signal.SIGTERM, "==-15")


def check_debug_inside(ctx, t):
    """/usr/lib/debug and the process as the target itself sees them."""
    # (a chroot has no /proc)
    code = ("import os, sys\n"
            "try: m = [l.split()[-1] for l in open('/proc/self/maps') if 'libpython' in l][:1]\n"
            "except OSError as e: m = e.strerror\n"
            "print(len(os.listdir('/usr/lib/debug')), os.getpid(), sys.executable, m)")
    argv = t.host_argv(ctx, t.argv_inside(["-c", code]))
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, env=t.env(ctx, None),
                       stdin=subprocess.DEVNULL, cwd="/", timeout=30)
    words = r.stdout.split()
    n = int(words[0]) if words and words[0].isdigit() else -1
    ctx.check("inside", r.stdout.strip() or r.stderr.strip()[-200:],
              r.returncode == 0 and (n > 0) == t.debug,
              "/usr/lib/debug %s" % ("populated" if t.debug else "empty"))
