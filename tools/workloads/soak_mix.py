"""A busy threaded server in miniature, for the one-hour soak (tools/soak.py):
3 CPU-bound Python threads (the GIL time-sliced at the switch interval),
1 thread doing an os.read() every 2 ms (a release and a retake each time),
1 thread compressing 64 KiB with zlib every 20 ms (native work without the
GIL), and a short-lived thread started every 100 ms (36,000 an hour), so
that per-thread state comes and goes. Runs DURATION seconds (0 = until
SIGTERM), then prints "STARTED <n>": the threads it started in all.

usage: soak_mix.py DURATION
"""
import os
import signal
import threading
import time
import zlib

import _wl

stop = [False]


def spin():
    x = 0
    while not stop[0]:
        x = (x * 31 + 7) & 0xFFFFFF


def reader():
    fd = os.open("/dev/zero", os.O_RDONLY)
    while not stop[0]:
        os.read(fd, 64)
        time.sleep(0.002)


def squeezer():
    data = os.urandom(1 << 16)
    while not stop[0]:
        zlib.compress(data, 6)
        time.sleep(0.02)


def short():
    x = 0
    for i in range(2000):
        x = (x * 31 + i) & 0xFFFF


def main():
    (duration,) = _wl.args("DURATION", [float])
    _wl.ensure_gil()
    signal.signal(signal.SIGTERM, lambda *a: stop.__setitem__(0, True))
    ts = [threading.Thread(target=spin, name="spin%d" % i) for i in range(3)]
    ts += [threading.Thread(target=reader, name="reader"),
           threading.Thread(target=squeezer, name="zlib")]
    for t in ts:
        t.start()
    started = len(ts) + 1
    _wl.ready()
    end = time.time() + duration if duration > 0 else None
    while not stop[0] and (end is None or time.time() < end):
        t = threading.Thread(target=short, name="short")
        t.start()
        t.join()
        started += 1
        time.sleep(0.1)
    stop[0] = True
    for t in ts:
        t.join()
    print("STARTED %d" % started)


if __name__ == "__main__":
    main()
