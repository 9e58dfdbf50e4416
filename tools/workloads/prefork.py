"""A gunicorn-style pre-fork server: the parent forks WORKERS children with
os.fork() at start-up and then only waits for them (os.wait(), off-CPU);
each child spins in pure Python (holding its GIL).

usage: prefork.py WORKERS DURATION_S [RESPAWN_EVERY_S]
  DURATION_S       how long the whole thing runs; <= 0: until killed
  RESPAWN_EVERY_S  > 0: each worker exits after this many seconds and the
                   parent forks a replacement (until DURATION_S is over),
                   so that workers are also forked while a tracer is
                   attached; 0 or absent: workers live for DURATION_S
READY is printed once the first WORKERS children are spinning (each
writes a byte to a pipe when it starts). With $PIDS_OUT set, one line per
forked worker is appended there: "<pid> <CLOCK_MONOTONIC seconds of the
fork>" (a replacement's line is written right after its fork). SIGTERM:
the parent kills its workers and exits 0. A worker whose parent is gone
exits.
"""
import os
import signal
import sys
import time

import _wl


def monotonic():
    return getattr(time, "monotonic", time.time)()


def worker(ready_w, lifetime):
    """In the child: report, spin for `lifetime` seconds (None: until the
    parent is gone), exit without running the parent's clean-up."""
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        ppid = os.getppid()
        if ready_w is not None:
            os.write(ready_w, b"x")
            os.close(ready_w)
        deadline = _wl.deadline_of(lifetime or 0)
        x = 0
        check = _wl.clock() + 0.2
        while not _wl.expired(deadline):
            x = _wl.spin(2000, x)
            if _wl.clock() >= check:
                check = _wl.clock() + 0.2
                if os.getppid() != ppid:
                    break
    finally:
        os._exit(0)


class Parent(object):
    def __init__(self, duration, respawn):
        self.deadline = _wl.deadline_of(duration)
        self.respawn = respawn
        self.children = set()
        self.forked = 0
        self.pids_out = os.environ.get("PIDS_OUT")

    def lifetime(self):
        """Seconds the next worker runs, or None (until killed)."""
        left = None
        if self.deadline is not None:
            left = max(0.01, self.deadline - _wl.clock())
        if self.respawn > 0:
            left = self.respawn if left is None else min(left, self.respawn)
        return left

    def fork(self, ready_w=None):
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            worker(ready_w, self.lifetime())
        self.children.add(pid)
        self.forked += 1
        if self.pids_out:
            with open(self.pids_out, "a") as f:
                f.write("%d %.6f\n" % (pid, monotonic()))
        return pid

    def on_term(self, signum, frame):
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        os._exit(0)


def main():
    argv = sys.argv[1:]
    if len(argv) == 2:
        argv.append("0")
    spec = "WORKERS DURATION_S [RESPAWN_EVERY_S]"
    if len(argv) != 3:
        _wl.usage(spec)
    try:
        n, duration, respawn = int(argv[0]), float(argv[1]), float(argv[2])
    except ValueError:
        _wl.usage(spec)
    if n < 1 or respawn < 0:
        _wl.usage(spec + "  (WORKERS >= 1, RESPAWN_EVERY_S >= 0)")
    parent = Parent(duration, respawn)
    signal.signal(signal.SIGTERM, parent.on_term)
    ready_r, ready_w = os.pipe()
    for _ in range(n):
        parent.fork(ready_w)
    os.close(ready_w)
    got = 0
    while got < n:
        b = os.read(ready_r, n - got)
        if not b:
            sys.stderr.write("prefork.py: only %d of %d workers started\n"
                             % (got, n))
            sys.exit(1)
        got += len(b)
    os.close(ready_r)
    _wl.ready()
    while parent.children:
        try:
            pid, status = os.wait()
        except OSError:         # ECHILD: nobody left
            break
        parent.children.discard(pid)
        if respawn > 0 and not _wl.expired(parent.deadline):
            parent.fork()
    sys.stderr.write("prefork.py: %d workers forked in all\n" % parent.forked)


if __name__ == "__main__":
    main()
