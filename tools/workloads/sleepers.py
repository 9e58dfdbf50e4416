"""Threads that are almost always asleep: each loops on a short
time.sleep (which releases and retakes the GIL) and does no other work.
Their true CPU time is a few percent of a core at most; the test compares
gilscope's on-CPU time per thread with the kernel's own count.

usage: sleepers.py NTHREADS PERIOD_MS DURATION_S   (DURATION_S <= 0: until killed)
"""
import threading
import time

import _wl


def sleeper(period, deadline):
    while not _wl.expired(deadline):
        time.sleep(period)


def main():
    n, period_ms, duration = _wl.args("NTHREADS PERIOD_MS DURATION_S", [int, float, float])
    deadline = _wl.deadline_of(duration)
    threads = [threading.Thread(target=sleeper, args=(period_ms / 1000.0, deadline))
               for _ in range(n)]
    for t in threads:
        t.daemon = True
        t.start()
    _wl.ready()
    while not _wl.expired(deadline):
        time.sleep(0.5)


if __name__ == "__main__":
    main()
