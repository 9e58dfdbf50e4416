"""One thread with a fixed GIL duty cycle: a pure-Python busy loop of
BUSY_MS (holding the GIL), then time.sleep(SLEEP_MS) (not holding it).

usage: duty.py BUSY_MS SLEEP_MS DURATION_S [STATS_FILE]

The ground truth for the test is measured here, not assumed: sleep wake-up
latency lengthens the idle part. With STATS_FILE, each SIGUSR1 (handled at
the next cycle boundary) and the exit write a JSON object for the interval
since the previous mark (or READY), then start a new interval:
  {"seq", "busy_s", "elapsed_s", "duty_pct", "cycles", "nominal_pct"}
The file is replaced atomically. The measured duty is also printed to
stderr at exit. On Python <= 3.6 a no-op thread is run first so that the
GIL exists (it is created lazily there).
"""
import json
import os
import signal
import sys
import time

import _wl


class Stats(object):
    def __init__(self, path, nominal):
        self.path = path
        self.nominal = nominal
        self.seq = 0
        self.mark_requested = False
        self.reset(_wl.clock())

    def reset(self, now):
        self.start = now
        self.busy = 0.0
        self.cycles = 0

    def snapshot(self, now):
        elapsed = now - self.start
        return {
            "seq": self.seq,
            "busy_s": self.busy,
            "elapsed_s": elapsed,
            "duty_pct": 100.0 * self.busy / elapsed if elapsed > 0 else 0.0,
            "cycles": self.cycles,
            "nominal_pct": self.nominal,
        }

    def mark(self, now):
        snap = self.snapshot(now)
        self.seq += 1
        snap["seq"] = self.seq
        if self.path:
            tmp = "%s.tmp.%d" % (self.path, os.getpid())
            with open(tmp, "w") as f:
                json.dump(snap, f)
            os.rename(tmp, self.path)
        self.reset(now)
        return snap


def main():
    argv = sys.argv[1:]
    if len(argv) == 3:
        argv.append("")
    if len(argv) != 4:
        _wl.usage("BUSY_MS SLEEP_MS DURATION_S [STATS_FILE]")
    try:
        busy_s = float(argv[0]) / 1000.0
        sleep_s = float(argv[1]) / 1000.0
        duration = float(argv[2])
    except ValueError:
        _wl.usage("BUSY_MS SLEEP_MS DURATION_S [STATS_FILE]")
    if busy_s <= 0 or sleep_s < 0:
        _wl.usage("BUSY_MS SLEEP_MS DURATION_S [STATS_FILE]  (BUSY_MS > 0)")
    stats = Stats(argv[3], 100.0 * busy_s / (busy_s + sleep_s))

    def on_usr1(signum, frame):
        stats.mark_requested = True

    signal.signal(signal.SIGUSR1, on_usr1)
    _wl.ensure_gil()
    deadline = _wl.deadline_of(duration)
    total_busy = 0.0
    t_ready = _wl.clock()
    stats.reset(t_ready)
    _wl.ready()
    x = 0
    while True:
        t0 = _wl.clock()
        end = t0 + busy_s
        while True:
            # ~10-20 us of bytecode between clock reads: stays in Python.
            x = _wl.spin(200, x)
            t = _wl.clock()
            if t >= end:
                break
        stats.busy += t - t0
        stats.cycles += 1
        total_busy += t - t0
        if sleep_s > 0:
            time.sleep(sleep_s)
        now = _wl.clock()
        if stats.mark_requested:
            stats.mark_requested = False
            stats.mark(now)
        if deadline is not None and now >= deadline:
            break
    snap = stats.mark(_wl.clock())
    total = _wl.clock() - t_ready
    sys.stderr.write("duty.py: nominal %.1f%% measured %.1f%% over %.2fs "
                     "(last interval %.1f%%)\n"
                     % (stats.nominal, 100.0 * total_busy / total, total,
                        snap["duty_pct"]))


if __name__ == "__main__":
    main()
