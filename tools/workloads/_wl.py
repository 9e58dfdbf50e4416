"""Helpers shared by gilscope's test workloads.

Runs on Python 2.7 and 3.6+. Every workload prints one line "READY <pid>"
on stdout (flushed) once all of its threads are running; the test harness
waits for that line before attaching.
"""
import os
import sys
import threading
import time

# Monotonic, high-resolution clock (time.perf_counter is 3.3+).
clock = getattr(time, "perf_counter", time.time)


def usage(text):
    sys.stderr.write("usage: %s %s\n" % (os.path.basename(sys.argv[0]), text))
    sys.exit(2)


def args(spec, types):
    """Parse sys.argv[1:] into len(types) values; print usage on error."""
    argv = sys.argv[1:]
    if len(argv) != len(types):
        usage(spec)
    try:
        return [t(a) for t, a in zip(types, argv)]
    except ValueError:
        usage(spec)


def ready():
    sys.stdout.write("READY %d\n" % os.getpid())
    sys.stdout.flush()


def deadline_of(duration):
    """Absolute clock() deadline; None (run until killed) for duration <= 0."""
    if duration <= 0:
        return None
    return clock() + duration


def expired(deadline):
    return deadline is not None and clock() >= deadline


def spin(n, x=0):
    """Pure-Python arithmetic: holds the GIL, calls nothing that drops it."""
    for i in range(n):
        x = (x * 31 + i) & 0xFFFF
    return x


def start_threads(n, target, args=(), name="worker"):
    """Start n daemon threads running target(started_event, *args); return
    them once every one has set its started event."""
    threads = []
    events = []
    for i in range(n):
        ev = threading.Event()
        t = threading.Thread(target=target, args=(ev,) + tuple(args),
                             name="%s-%d" % (name, i))
        t.daemon = True
        t.start()
        threads.append(t)
        events.append(ev)
    for ev in events:
        ev.wait()
    return threads


def join_all(threads):
    """Wait for the threads (forever if they never end). A blocking join
    keeps the main thread off-CPU without the GIL."""
    for t in threads:
        t.join()


def ensure_gil():
    """Python <= 3.6 creates the GIL lazily, when the first thread starts;
    until then nothing takes or drops it, even around sleeps and I/O.
    Start (and join) a no-op thread so the GIL exists and is used as on
    3.7+, where it is created at start-up."""
    if sys.version_info < (3, 7):
        t = threading.Thread(target=lambda: None, name="gil-init")
        t.start()
        t.join()


def set_switch_interval(seconds):
    if hasattr(sys, "setswitchinterval"):
        sys.setswitchinterval(seconds)
