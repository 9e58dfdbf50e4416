"""Helpers shared by gilscope's workloads: the e2e tests' (tests/e2e),
the benchmark's (wl_*.py, driven by tools/bench/bench.py) and the demo's.

Runs on Python 2.7 and 3.6+ (the benchmark protocol below: 3.6+). One
READY protocol: every workload prints one line "READY <pid>" on stdout
(flushed, ready()) once all of its threads are running; the tests and the
benchmark wait for that line before attaching. In a container the pid is
the one inside its PID namespace.
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


# ---------------------------------------------------------------- benchmark
#
# The benchmark workloads' measurement protocol (stdlib only), all on
# stdout, one line each, flushed:
#
#     READY <pid>           process is up, waiting for the start file
#     WINDOW_START          warm-up done, the measured window begins
#     WINDOW_END            the window is over
#     RESULT <rate> <unit> ops=<n> secs=<s> cpu=<s> ctxsw=<n> threads=<t>
#
# cpu is the process's CPU time (all threads, user+sys) over the window,
# ctxsw its context switches (voluntary and not, all threads) in the window.
#
# The driver attaches its tracer while the workload waits, creates the start
# file once the tracer is attached, and so keeps attach time out of the
# window. Workers run from the start file on: they are warm (and traced) for
# --warmup seconds before the window opens.

START_TIMEOUT = 300


def parse(description, default_threads):
    import argparse
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--threads", type=int, default=default_threads)
    ap.add_argument("--warmup", type=float, default=0.5)
    ap.add_argument("--window", type=float, default=2.0)
    ap.add_argument("--start-file", default=None,
                    help="wait until this file exists before starting")
    ap.add_argument("--switch-interval", type=float, default=None,
                    help="sys.setswitchinterval (default: leave at 5 ms)")
    return ap.parse_args()


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def wait_start(path):
    """Wait until path exists (None: start at once). Gives up after a
    while: an orphan of a killed driver must not stay."""
    if not path:
        return
    deadline = time.monotonic() + START_TIMEOUT
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            sys.exit("no start file after %d s" % START_TIMEOUT)
        time.sleep(0.01)


def run(args, worker, unit):
    """Run args.threads copies of worker(i, counts, stop) and measure the
    sum of counts[] over the window. Workers add to counts[i] in batches
    and return once stop[0] is true."""
    import resource
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    ready()
    wait_start(args.start_file)
    counts = [0] * args.threads
    stop = [False]
    threads = [threading.Thread(target=worker, args=(i, counts, stop))
               for i in range(args.threads)]
    for t in threads:
        t.daemon = True
        t.start()
    # The main thread sleeps (no GIL) except at the window's two edges.
    time.sleep(args.warmup)
    c0 = time.process_time()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    n0 = sum(counts)
    say("WINDOW_START")
    time.sleep(args.window)
    n1 = sum(counts)
    t1 = time.perf_counter()
    c1 = time.process_time()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    say("WINDOW_END")
    stop[0] = True
    for t in threads:
        t.join()
    ops = n1 - n0
    secs = t1 - t0
    csw = (r1.ru_nvcsw + r1.ru_nivcsw) - (r0.ru_nvcsw + r0.ru_nivcsw)
    say("RESULT %.6g %s ops=%d secs=%.6f cpu=%.6f ctxsw=%d threads=%d"
        % (ops / secs, unit, ops, secs, c1 - c0, csw, args.threads))
