"""Workload 1: GIL-cycle microbenchmark.

Each thread (default 1) calls os.read(fd, 1) on /dev/zero in a loop. Every
call releases the GIL around read(2) and takes it back: one drop_gil and
one take_gil per call, with almost no other work. Throughput: os.read
calls (= GIL cycles) per second, summed over the threads.
"""
import os

import _wl

BATCH = 1000


def worker(i, counts, stop):
    fd = os.open("/dev/zero", os.O_RDONLY)
    read = os.read
    rng = range(BATCH)
    try:
        while not stop[0]:
            for _ in rng:
                read(fd, 1)
            counts[i] += BATCH
    finally:
        os.close(fd)


if __name__ == "__main__":
    _wl.run(_wl.parse(__doc__, 1), worker, "cycles/s")
