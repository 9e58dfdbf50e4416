"""Threads that queue for the GIL, the way a loaded threaded server does:
each runs a pure-Python burst of BUSY_MS (holding the GIL), then blocks
for SLEEP_MS in time.sleep (releasing it), over and over. With more
Python work than one core can run (THREADS * BUSY_MS > BUSY_MS + SLEEP_MS)
the GIL is always wanted: every release leaves a waiter to take over.

usage: gil_queue.py THREADS BUSY_MS SLEEP_MS DURATION_S [STATS_FILE]

The switch interval is raised to 1 s so that every release is voluntary
(at the sleep): no waiter waits that long here. The ground truth is
measured here: with STATS_FILE, each SIGUSR1 and the exit write a JSON
object for the interval since the previous mark (or READY):
  {"seq", "elapsed_s", "bursts", "bursts_per_s", "burst_p50_ms", "burst_mean_ms",
   "nominal_busy_ms", "spans"}
spans: [start, end] of every burst, on the clock of CLOCK_MONOTONIC
(time.perf_counter), so that a test can take the bursts of a report's
window (window_start_mono_s..window_end_mono_s). The file is replaced
atomically.
"""
import json
import os
import signal
import sys
import threading
import time

import _wl


class Stats(object):
    def __init__(self, path, busy_ms):
        self.path = path
        self.busy_ms = busy_ms
        self.seq = 0
        self.bursts = []          # (start, end) of each burst since the last mark
        self.start = _wl.clock()

    def mark(self):
        now = _wl.clock()
        spans, self.bursts = self.bursts, []
        elapsed = now - self.start
        self.start = now
        done = sorted(b - a for a, b in spans)
        self.seq += 1
        snap = {
            "seq": self.seq,
            "elapsed_s": elapsed,
            "bursts": len(done),
            "bursts_per_s": len(done) / elapsed if elapsed > 0 else 0.0,
            "burst_p50_ms": 1000.0 * done[len(done) // 2] if done else None,
            "burst_mean_ms": 1000.0 * sum(done) / len(done) if done else None,
            "nominal_busy_ms": self.busy_ms,
            "spans": spans,
        }
        if self.path:
            tmp = "%s.tmp.%d" % (self.path, os.getpid())
            with open(tmp, "w") as f:
                json.dump(snap, f)
            os.rename(tmp, self.path)
        return snap


def worker(started, busy_s, sleep_s, stats, stop):
    started.set()
    x = 0
    while not stop[0]:
        t0 = _wl.clock()
        end = t0 + busy_s
        while True:
            x = _wl.spin(200, x)      # ~10-20 us of bytecode between reads
            t = _wl.clock()
            if t >= end:
                break
        stats.bursts.append((t0, t))  # atomic under the GIL
        time.sleep(sleep_s)


def main():
    argv = sys.argv[1:]
    if len(argv) == 4:
        argv.append("")
    spec = "THREADS BUSY_MS SLEEP_MS DURATION_S [STATS_FILE]"
    if len(argv) != 5:
        _wl.usage(spec)
    try:
        n = int(argv[0])
        busy_s = float(argv[1]) / 1000.0
        sleep_s = float(argv[2]) / 1000.0
        duration = float(argv[3])
    except ValueError:
        _wl.usage(spec)
    if n < 1 or busy_s <= 0 or sleep_s <= 0:
        _wl.usage(spec + "  (THREADS >= 1, BUSY_MS > 0, SLEEP_MS > 0)")
    _wl.set_switch_interval(1.0)
    stats = Stats(argv[4], busy_s * 1000.0)
    marks = []

    def on_usr1(signum, frame):
        marks.append(1)

    signal.signal(signal.SIGUSR1, on_usr1)
    stop = [False]
    threads = _wl.start_threads(n, worker, (busy_s, sleep_s, stats, stop), name="queue")
    stats.bursts = []
    stats.start = _wl.clock()
    _wl.ready()
    deadline = _wl.deadline_of(duration)
    while not _wl.expired(deadline):
        time.sleep(0.05)             # the main thread wakes rarely
        while marks:
            marks.pop()
            stats.mark()
    stop[0] = True
    for t in threads:
        t.join()
    snap = stats.mark()
    sys.stderr.write("gil_queue.py: %d threads, last interval %d bursts, p50 %s ms\n"
                     % (n, snap["bursts"], snap["burst_p50_ms"]))


if __name__ == "__main__":
    main()
