"""gilscope demo workload: the same CPU work done two ways, in phases.

phase "threads": 4 threads run a pure-Python loop -> they time-slice the GIL.
phase "zlib":    4 threads compress buffers with zlib, which releases the GIL
                 -> they run in parallel.
phase "io":      4 threads wait on sockets (a peer answers every 2 ms) and run
                 a little Python per message -> I/O-bound, the GIL is no issue.
Usage: demo.py PHASE SECONDS
"""
import os
import socket
import sys
import threading
import time
import zlib


def python_loop(stop):
    n = 0
    while not stop.is_set():
        for i in range(10000):
            n += i * i


def compress_loop(stop):
    data = os.urandom(1 << 18) * 8
    while not stop.is_set():
        zlib.compress(data, 6)


def io_loop(stop):
    a, b = socket.socketpair()

    def peer():
        while not stop.is_set():
            time.sleep(0.002)
            b.send(b"x" * 64)
        b.close()

    threading.Thread(target=peer, daemon=True).start()
    n = 0
    while not stop.is_set():
        msg = a.recv(4096)           # blocks without the GIL
        if not msg:
            break
        for i in range(200):         # a little Python per message
            n += i * len(msg)
    a.close()


def main():
    phase = sys.argv[1] if len(sys.argv) > 1 else "threads"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    target = {"threads": python_loop, "zlib": compress_loop, "io": io_loop}[phase]
    stop = threading.Event()
    threads = [threading.Thread(target=target, args=(stop,), name="%s-%d" % (phase, i))
               for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
