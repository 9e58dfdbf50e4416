"""End-to-end cases for a target inside a container: its own mount and PID
namespaces and its own root, built here from bind mounts the way container
runtimes do it (pivot_root into the new root, old root detached, so the
paths in the target's /proc/PID/maps are paths in that root).

Run once, on 3.11 if it is there.

  container attach       cpu_threads.py (2 threads, 5 ms) in a container,
                         traced by host PID: the same figures as outside
                         one; target.ns_pid and threads[].ns_tid are the
                         numbers inside the container; and, from strace,
                         every open below /proc/PID/root is confined
                         (openat2 with RESOLVE_IN_ROOT; the attach uses
                         /proc/self/fd/N paths)
  container hostile      the container covers the directory of its own
                         executable and puts there an absolute symlink to
                         a decoy file on the host: gilscope must still
                         work, and never open the decoy (inotify watches
                         it; the harness first proves that an unconfined
                         open of that path does reach the decoy)

Needs unshare, pivot_root, mount and umount (util-linux) and the right to
create namespaces: a SKIP otherwise. strace is needed for the confinement
check: without it that check fails.
"""
import ctypes
import os
import re
import shutil
import struct
import subprocess
import time

import gs
from common import Case, GS_SLACK, check_held_busy, check_hold_p50, report_ok
from gs import CaseError, get

D = 2           # trace window, seconds
TOOLS = ("unshare", "pivot_root", "mount", "umount")

# Runs as PID 1 of a new PID namespace, in a new (private) mount namespace,
# so none of these mounts is seen by, or outlives the case on, the host.
# $1 new root, $2 interpreter prefix, $3 interpreter as run in there,
# $4 "-" or the absolute symlink target to put over the executable once
# /tmp/tamper appears; the rest: the workload's argv.
SETUP = r"""
set -eu
root=$1 prefix=$2 exe=$3 tamper=$4
shift 4
ro_bind() {
    mkdir -p "$2"
    mount --bind "$1" "$2"
    mount -o remount,bind,ro "$2"
}
# pivot_root wants the new root to be a mount point; bind it first, or
# this (non-recursive) bind would cover the mounts made below
mount --bind "$root" "$root"
for d in usr bin sbin lib lib32 lib64; do
    if [ -L "/$d" ]; then
        ln -s "$(readlink "/$d")" "$root/$d"
    elif [ -d "/$d" ]; then
        ro_bind "/$d" "$root/$d"
    fi
done
ro_bind "$prefix" "$root$prefix"
# a second view of the interpreter, on a mount the container may cover
ro_bind "$prefix" "$root/opt/py"
mkdir -p "$root/proc" "$root/dev" "$root/tmp"
mount -t proc proc "$root/proc"
: > "$root/dev/null"
mount --bind /dev/null "$root/dev/null"
cd "$root"
mkdir -p .oldroot
pivot_root . .oldroot
umount -l /.oldroot
rmdir /.oldroot
"$exe" "$@" < /dev/null &
if [ "$tamper" != - ]; then
    while [ ! -e /tmp/tamper ]; do sleep 0.05; done
    # What a hostile container can do to the path the host reads in
    # /proc/PID/exe and maps: that path stays, naming the covered file.
    mount -t tmpfs tmpfs /opt/py/bin
    ln -s "$tamper" "/opt/py/bin/$(basename "$exe")"
    : > /tmp/tampered
fi
wait
"""


# ---------------------------------------------------------------- helpers

def kernel_has_openat2():
    """openat2(2) is there (Linux 5.6+); else gilscope walks paths itself."""
    class OpenHow(ctypes.Structure):
        _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                    ("resolve", ctypes.c_uint64)]
    libc = ctypes.CDLL(None, use_errno=True)
    how = OpenHow(os.O_RDONLY | os.O_CLOEXEC, 0, 0)
    fd = libc.syscall(437, -100, b"/", ctypes.byref(how),   # AT_FDCWD
                      ctypes.c_size_t(ctypes.sizeof(how)))
    if fd >= 0:
        os.close(fd)
        return True
    return ctypes.get_errno() != 38     # ENOSYS


class Inotify(object):
    """Counts opens and reads of one file, by anyone, through any path."""
    IN_ACCESS, IN_OPEN = 0x1, 0x20

    def __init__(self, path):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise CaseError("inotify_init1: %s" % os.strerror(ctypes.get_errno()))
        if libc.inotify_add_watch(self.fd, os.fsencode(path),
                                  self.IN_ACCESS | self.IN_OPEN) < 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise CaseError("inotify_add_watch %s: %s" % (path, os.strerror(err)))

    def events(self):
        n = 0
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return n
            off = 0
            while off + 16 <= len(data):
                _, mask, _, ln = struct.unpack_from("iIII", data, off)
                n += bool(mask & (self.IN_ACCESS | self.IN_OPEN))
                off += 16 + ln

    def close(self):
        os.close(self.fd)


def can_contain(ctx):
    """The tools are there and we may create namespaces; else a SKIP."""
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        ctx.skip("no %s" % ", ".join(missing))
        return False
    r = subprocess.run(["unshare", "--mount", "--pid", "--fork", "true"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=20)
    if r.returncode != 0:
        ctx.skip("cannot create namespaces here: %s"
                 % (r.stdout.strip().splitlines() or ["rc=%d" % r.returncode])[0])
        return False
    return True


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise CaseError("%s: not within %.0fs" % (what, timeout))
        time.sleep(0.05)


# ---------------------------------------------------------------- container

class Container(object):
    """cpu_threads.py in a fresh mount + PID namespace and root."""

    def __init__(self, ctx, hostile):
        self.ctx = ctx
        self.root = ctx.path("root")
        self.decoy = ctx.path("decoy") if hostile else None
        self.p = None
        self.host_pid = self.ns_pid = None
        real = os.path.realpath(ctx.interp.path)
        self.prefix = os.path.dirname(os.path.dirname(real))
        name = os.path.basename(real)
        self.exe = "/opt/py/bin/" + name if hostile else real
        self.errfile = ctx.path("container.stderr")

    def start(self):
        os.makedirs(os.path.join(self.root, "tmp"))
        for f in ("cpu_threads.py", "_wl.py"):
            shutil.copy(os.path.join(gs.WORKLOADS, f),
                        os.path.join(self.root, "tmp", f))
        script = self.ctx.path("setup.sh")
        with open(script, "w") as f:
            f.write(SETUP)
        if self.decoy:
            with open(self.decoy, "w") as f:
                f.write("decoy: gilscope must never open this host file\n")
        argv = ["unshare", "--mount", "--propagation", "private", "--pid",
                "--fork", "--kill-child", "--mount-proc",
                "sh", script, self.root, self.prefix, self.exe,
                self.decoy or "-", "/tmp/cpu_threads.py",
                "2", "0.005", "0"]
        with open(self.errfile, "w") as err:
            self.p = self.ctx.spawn(argv, stdout=subprocess.PIPE, stderr=err,
                                    stdin=subprocess.DEVNULL)
        line = gs.ready_line(self.p, "container", self.errfile, 30)
        m = re.match(r"^READY (\d+)$", line)
        if not m:
            raise CaseError("container: expected 'READY N', got %r" % line)
        self.ns_pid = int(m.group(1))
        wait_for(lambda: gs.host_pid_of(self.p.pid, self.ns_pid) is not None, 10,
                 "the workload's host PID")
        self.host_pid = gs.host_pid_of(self.p.pid, self.ns_pid)

    def tamper(self):
        """Have the container put the symlink over its executable."""
        open(os.path.join(self.root, "tmp", "tamper"), "w").close()
        wait_for(lambda: os.path.exists(os.path.join(self.root, "tmp",
                                                     "tampered")),
                 10, "the container's symlink")

    def stop(self):
        """Kill the namespace (its init takes every process and mount with
        it); make sure none of its mounts is visible here."""
        gs.kill_group(self.p)
        if self.p is not None:
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.host_pid:
            try:
                wait_for(lambda: not gs.alive(self.host_pid), 10,
                         "the workload's exit")
            except CaseError:
                pass
        leaks = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4].replace("\\040", " ")
                if mp == self.root or mp.startswith(self.root + "/"):
                    leaks.append(mp)
        for mp in sorted(leaks, reverse=True):
            subprocess.run(["umount", "-l", mp], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if leaks:
            self.ctx.check("host_mounts", leaks, False, "none under %s" % self.root)


# ---------------------------------------------------------------- strace

def confinement(ctx, log, host_pid):
    """Checks on the strace log of gilscope: no path-taking call names a
    path below /proc/HOSTPID/root (walking that lets absolute symlinks and
    ".." escape to our root); every openat2 resolves in the root."""
    text = gs.read_file(log)
    below = re.compile(r'"/proc/%d/(?:task/\d+/)?(?:root|cwd)/+[^"/]' % host_pid)
    bad, confined, fd_paths = [], 0, 0
    for line in text.splitlines():
        if below.search(line):
            bad.append(line)
        elif re.search(r"\bopenat2\(", line):
            if "RESOLVE_IN_ROOT" in line:
                confined += 1
            else:
                bad.append(line)
        if '"/proc/self/fd/' in line:
            fd_paths += 1
    ctx.check("unconfined_opens", len(bad), not bad, "==0")
    if bad:
        ctx.detail("unconfined (strace %s):\n  %s"
                   % (log, "\n  ".join(l[:200] for l in bad[:10])))
    if kernel_has_openat2():
        ctx.check("in_root_opens", confined, confined >= 1,
                  ">=1 openat2 RESOLVE_IN_ROOT")
    ctx.checks.append(("fd_paths=%d" % fd_paths, True))


# ---------------------------------------------------------------- cases

def record(ctx, c, strace):
    jp = ctx.path("report.json")
    prefix = None
    log = None
    if strace:
        log = ctx.path("strace.log")
        # --seccomp-bpf: only the traced calls stop gilscope
        prefix = [strace, "-f", "--seccomp-bpf", "-qq", "-y",
                  "-e", "trace=%file", "-o", log]
    run = ctx.run_gilscope(["record", "-p", c.host_pid, "-d", D, "--json", jp],
                           timeout=D + GS_SLACK, json_path=jp, prefix=prefix, watch=c.host_pid)
    return run, log


def check_ns_ids(ctx, doc, c):
    ns_pid = get(doc, "target", "ns_pid")
    ctx.check("ns_pid", "%s host=%d" % (ns_pid, c.host_pid),
              ns_pid == c.ns_pid and ns_pid != c.host_pid,
              "==%d (in the container)" % c.ns_pid)
    threads = get(doc, "threads", default=[])
    wrong = []
    for t in threads:
        st = gs.proc_status(c.host_pid, t.get("tid"))
        want = st["NSpid"][-1] if st and st.get("NSpid") else None
        got = t.get("ns_tid")
        if not isinstance(got, int) or isinstance(got, bool) or \
                (want is not None and got != want):
            wrong.append("tid %s: ns_tid=%r, want %r" % (t.get("tid"), got, want))
    ctx.check("ns_tid", "%d of %d wrong" % (len(wrong), len(threads)),
              threads and not wrong, "every thread, as in its NSpid")
    if wrong:
        ctx.detail("ns_tid:\n  " + "\n  ".join(wrong[:10]))


def case_container(ctx):
    if not can_contain(ctx):
        return
    strace = shutil.which("strace")
    c = Container(ctx, hostile=False)
    try:
        c.start()
        run, log = record(ctx, c, strace)
        doc = report_ok(ctx, run, pid=c.host_pid, launched=False)
        if doc is not None:
            si_us = 5000.0
            held = get(doc, "gil", "held_pct")
            p50 = get(doc, "gil", "hold", "p50_us")
            check_held_busy(ctx, doc)
            check_hold_p50(ctx, doc, si_us)
            check_ns_ids(ctx, doc, c)
        if ctx.check("strace", strace or "missing", strace is not None,
                     "installed"):
            confinement(ctx, log, c.host_pid)
    finally:
        c.stop()


def case_container_hostile(ctx):
    if not can_contain(ctx):
        return
    strace = shutil.which("strace")
    c = Container(ctx, hostile=True)
    watch = None
    try:
        c.start()
        c.tamper()
        watch = Inotify(c.decoy)
        # Prove the trap: the naive path reaches the host's decoy, and the
        # watch sees it.
        naive = "/proc/%d/root%s" % (c.host_pid, c.exe)
        try:
            with open(naive) as f:
                via_naive = f.read(64)
        except OSError as e:
            via_naive = "error: %s" % e
        seen = watch.events()
        if not ctx.check("trap", "naive open reads %r, %d event(s)"
                         % (via_naive[:24], seen),
                         via_naive.startswith("decoy") and seen >= 1,
                         "reaches the decoy"):
            ctx.detail("exe %s; /proc/PID/exe -> %s"
                       % (c.exe, os.readlink("/proc/%d/exe" % c.host_pid)))
            return
        run, log = record(ctx, c, strace)
        opened = watch.events()
        ctx.check("decoy_opened", opened, opened == 0, "==0")
        doc = report_ok(ctx, run, pid=c.host_pid, launched=False)
        if doc is not None:
            ctx.checks.append(("held=%.1f%%" % get(doc, "gil", "held_pct"),
                               True))
        if ctx.check("strace", strace or "missing", strace is not None,
                     "installed"):
            confinement(ctx, log, c.host_pid)
    finally:
        if watch:
            watch.close()
        c.stop()


# ---------------------------------------------------------------- registry

CASES = [
    Case("container attach", case_container, versions=("3.11",), retries=1),
    Case("container hostile symlink", case_container_hostile, versions=("3.11",)),
]
