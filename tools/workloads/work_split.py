"""A fixed amount of work split evenly over WORKERS threads or processes:
UNITS units in all, each PY_ITERS iterations of a pure-Python loop and
then, when ZLIB_KIB > 0, compressing ZLIB_KIB KiB with zlib (which
releases the GIL), then, when SLEEP_MS > 0, sleeping SLEEP_MS ms (off-CPU
without the GIL, as a thread blocked in I/O). Prints ELAPSED <seconds> from
the start of the first worker to the end of the last (processes: fork
included), then exits.

usage: work_split.py threads|processes WORKERS UNITS PY_ITERS ZLIB_KIB [SLEEP_MS]
"""
import binascii
import os
import sys
import threading
import time
import zlib

import _wl


def unit(py_iters, data, sleep_s):
    x = 0
    for i in range(py_iters):
        x = (x * 31 + i) & 0xFFFF
    if data:
        zlib.compress(data, 6)
    if sleep_s:
        time.sleep(sleep_s)
    return x


def worker(units, py_iters, data, sleep_s):
    for _ in range(units):
        unit(py_iters, data, sleep_s)


def main():
    spec = "threads|processes WORKERS UNITS PY_ITERS ZLIB_KIB [SLEEP_MS]"
    if len(sys.argv) == 6:
        sys.argv.append("0")
    mode, workers, units, py_iters, kib, sleep_ms = _wl.args(spec, [str, int, int, int, int, float])
    if mode not in ("threads", "processes") or workers < 1:
        _wl.usage(__doc__)
    data = binascii.hexlify(os.urandom(kib * 512)) if kib > 0 else b""
    shares = [units // workers + (1 if i < units % workers else 0) for i in range(workers)]
    _wl.ensure_gil()
    _wl.ready()
    if mode == "threads":
        ws = [threading.Thread(target=worker, args=(n, py_iters, data, sleep_ms / 1e3)) for n in shares]
    else:
        import multiprocessing      # here: the threads' main thread stays light
        ctx = multiprocessing.get_context("fork")
        ws = [ctx.Process(target=worker, args=(n, py_iters, data, sleep_ms / 1e3)) for n in shares]
    t0 = time.monotonic()
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    print("ELAPSED %.6f" % (time.monotonic() - t0), flush=True)


if __name__ == "__main__":
    main()
