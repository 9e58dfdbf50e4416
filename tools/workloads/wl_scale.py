"""Workload 4: many mostly idle threads plus a few busy ones.

--idle threads each loop on time.sleep(uniform(0.05, 0.5)) and a little
Python work; --busy threads (default 4) spin in pure Python like workload
2. All threads are started before READY, so a tracer attaches to a process
that already has them all (as when attaching to a big server). Then, as in
_wl.run: start file, warm-up, WINDOW_START, window, WINDOW_END, and

    RESULT <rate> kiter/s ops=<n> secs=<s> cpu=<s> ctxsw=<n> threads=<t>

with the busy threads' throughput; t counts all threads.
"""
import argparse
import os
import random
import resource
import sys
import threading
import time

import _wl
from wl_cpu import worker as busy  # workload 2's spin loop


def idle(i, stop, lo, hi):
    rnd = random.Random(i)
    x = 0
    while not stop[0]:
        time.sleep(rnd.uniform(lo, hi))
        for j in range(20):
            x += j


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--idle", type=int, default=16)
    ap.add_argument("--busy", type=int, default=4)
    ap.add_argument("--min-sleep", type=float, default=0.05)
    ap.add_argument("--max-sleep", type=float, default=0.5)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--window", type=float, default=3.0)
    ap.add_argument("--start-file", default=None)
    a = ap.parse_args()
    threading.stack_size(256 * 1024)
    stop = [False]
    counts = [0] * a.busy
    ts = [threading.Thread(target=idle, args=(i, stop, a.min_sleep, a.max_sleep))
          for i in range(a.idle)]
    ts += [threading.Thread(target=busy, args=(i, counts, stop)) for i in range(a.busy)]
    for t in ts:
        t.daemon = True
        t.start()
    _wl.ready()
    _wl.wait_start(a.start_file)
    time.sleep(a.warmup)
    c0 = time.process_time()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    n0 = sum(counts)
    _wl.say("WINDOW_START")
    time.sleep(a.window)
    n1 = sum(counts)
    t1 = time.perf_counter()
    c1 = time.process_time()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    _wl.say("WINDOW_END")
    ops = n1 - n0
    csw = (r1.ru_nvcsw + r1.ru_nivcsw) - (r0.ru_nvcsw + r0.ru_nivcsw)
    _wl.say("RESULT %.6g kiter/s ops=%d secs=%.6f cpu=%.6f ctxsw=%d threads=%d"
                  % (ops / (t1 - t0), ops, t1 - t0, c1 - c0, csw, len(ts) + 1))
    # 1000 sleeping threads take up to --max-sleep to notice a stop flag:
    # leave at once instead (nothing to clean up).
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
