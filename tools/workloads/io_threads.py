"""I/O-bound threads: N workers each block in os.read() on their own pipe
and sleep a little; the main thread wakes them every 5 ms by writing one
byte to each pipe. Almost all time is spent off-CPU without the GIL, with
hundreds of short GIL holds per second.

usage: io_threads.py N DURATION_S      (<= 0: until killed)
"""
import os
import time

import _wl


def worker(started, rfd):
    started.set()
    i = 0
    while True:
        data = os.read(rfd, 64)
        if not data:
            break
        _wl.spin(50)
        i += 1
        if i % 4 == 0:
            time.sleep(0.002)
    os.close(rfd)


def main():
    n, duration = _wl.args("N DURATION_S", [int, float])
    if n < 1:
        _wl.usage("N DURATION_S  (N >= 1)")
    pipes = [os.pipe() for _ in range(n)]
    threads = []
    for i, (r, w) in enumerate(pipes):
        threads += _wl.start_threads(1, worker, (r,), name="io%d" % i)
    deadline = _wl.deadline_of(duration)
    _wl.ready()
    while not _wl.expired(deadline):
        time.sleep(0.005)
        for r, w in pipes:
            os.write(w, b"x")
    for r, w in pipes:
        os.close(w)
    _wl.join_all(threads)


if __name__ == "__main__":
    main()
