"""Forced switches and I/O releases at a known pace, for comparing probe
strategies on different builds of one Python version: 2 CPU-bound threads
time-slice the GIL (forced switches every switch interval), and 1 thread
does K os.stat() + K os.read() calls (each releases and retakes the GIL)
every 50 ms, at the default 5 ms switch interval. Each I/O release waits
at most one interval to get the GIL back, so the I/O thread keeps its
pace: release counts are set by the workload, not by how fast a build
runs.
Usage: io_mix.py K DURATION (0 = until killed)."""
import os
import sys
import threading
import time

import _wl


def spin(stop):
    x = 0
    while not stop[0]:
        x += 1


def io(k, stop):
    fd = os.open("/dev/zero", os.O_RDONLY)
    nxt = _wl.clock()
    while not stop[0]:
        for _ in range(k):
            os.stat("/")
            os.read(fd, 64)
        nxt += 0.05
        delay = nxt - _wl.clock()
        if delay > 0:
            time.sleep(delay)


def main():
    k, duration = _wl.args("K DURATION", (int, float))
    sys.setswitchinterval(0.005)
    stop = [False]
    threads = [threading.Thread(target=spin, args=(stop,)) for _ in range(2)]
    threads.append(threading.Thread(target=io, args=(k, stop)))
    for t in threads:
        t.daemon = True
        t.start()
    _wl.ready()
    end = _wl.deadline_of(duration)
    while end is None or _wl.clock() < end:
        time.sleep(0.1)
    stop[0] = True


if __name__ == "__main__":
    main()
