"""A fixed amount of GIL traffic, started on cue, for cross-checking hold
counts against an independent tracer.

usage: finite_work.py GO_FILE [CPU_ITERS] [READS] [SWITCH_INTERVAL_S]

Prints READY, then waits (polling every 0.2 s, so only ~5 GIL holds/s)
until GO_FILE exists. Then:
  1. two CPU-bound threads each run CPU_ITERS (default 8000) rounds of pure
     Python work with the given switch interval (default 0.002 s), forcing
     GIL switches between them;
  2. the main thread reads READS (default 3000) bytes from a pipe one
     os.read(fd, 1) at a time, each a voluntary release and re-take;
then exits with status 0.
"""
import os
import sys
import threading
import time

import _wl


def cpu(iters):
    x = 0
    for _ in range(iters):
        x = _wl.spin(1000, x)


def main():
    argv = sys.argv[1:]
    if not 1 <= len(argv) <= 4:
        _wl.usage("GO_FILE [CPU_ITERS] [READS] [SWITCH_INTERVAL_S]")
    go = argv[0]
    try:
        iters = int(argv[1]) if len(argv) > 1 else 8000
        reads = int(argv[2]) if len(argv) > 2 else 3000
        interval = float(argv[3]) if len(argv) > 3 else 0.002
    except ValueError:
        _wl.usage("GO_FILE [CPU_ITERS] [READS] [SWITCH_INTERVAL_S]")
    _wl.set_switch_interval(interval)
    _wl.ready()
    while not os.path.exists(go):
        time.sleep(0.2)
    t0 = _wl.clock()
    threads = [threading.Thread(target=cpu, args=(iters,), name="cpu%d" % i)
               for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t1 = _wl.clock()
    r, w = os.pipe()
    done = 0
    while done < reads:
        chunk = min(reads - done, 4096)
        os.write(w, b"x" * chunk)
        for _ in range(chunk):
            os.read(r, 1)
        done += chunk
    os.close(r)
    os.close(w)
    t2 = _wl.clock()
    sys.stderr.write("finite_work.py: cpu phase %.2fs, %d reads in %.3fs\n"
                     % (t1 - t0, reads, t2 - t1))


if __name__ == "__main__":
    main()
