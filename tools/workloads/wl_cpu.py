"""Workload 2: CPU-bound pure-Python threads (default 4).

Every thread spins in pure Python and never releases the GIL on its own,
so every GIL hand-off is a forced switch at the switch interval (5 ms by
default). Throughput: spin batches of 1000 loop iterations per second,
summed over the threads.
"""
import _wl

BATCH = 1000


def worker(i, counts, stop):
    x = 0
    while not stop[0]:
        for j in range(BATCH):
            x = (x * 31 + j) & 0xFFFF
        counts[i] += 1


if __name__ == "__main__":
    _wl.run(_wl.parse(__doc__, 4), worker, "kiter/s")
