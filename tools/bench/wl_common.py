"""Measurement harness shared by the benchmark workloads (stdlib only).

Runs on CPython 3.6+. Protocol, all on stdout, one line each, flushed:

    READY <pid>           process is up, waiting for the start file
    WINDOW_START          warm-up done, the measured window begins
    WINDOW_END            the window is over
    RESULT <rate> <unit> ops=<n> secs=<s> cpu=<s> ctxsw=<n> threads=<t>

cpu is the process's CPU time (all threads, user+sys) over the window,
ctxsw its context switches (voluntary and not, all threads) in the window.

The driver attaches its tracer while the workload waits, creates the start
file once the tracer is attached, and so keeps attach time out of the
window. Workers run from the start file on: they are warm (and traced) for
--warmup seconds before the window opens.
"""
import argparse
import os
import resource
import sys
import threading
import time

START_TIMEOUT = 300


def parse(description, default_threads):
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
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    say("READY %d" % os.getpid())
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
