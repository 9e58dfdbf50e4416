"""N threads compressing their own 4 MiB buffer of semi-random data with
zlib level 6, over and over. zlib releases the GIL while it deflates, so the
threads run on-CPU without the GIL, in parallel.

usage: zlib_threads.py N DURATION_S [MIB]      (DURATION_S <= 0: until killed)
"""
import binascii
import os
import sys
import zlib

import _wl


def make_data(mib):
    # Hex of random bytes: 4 bits of entropy per byte, so deflate works
    # hard (no long matches) but still compresses about 2:1.
    return binascii.hexlify(os.urandom(mib * 512 * 1024))


def worker(started, data, deadline):
    started.set()
    while not _wl.expired(deadline):
        # compressobj: releases the GIL around deflate() on every version.
        c = zlib.compressobj(6)
        out = c.compress(data)
        out += c.flush()


def main():
    argv = sys.argv[1:]
    if len(argv) == 2:
        argv.append("4")
    if len(argv) != 3:
        _wl.usage("N DURATION_S [MIB]")
    try:
        n, duration, mib = int(argv[0]), float(argv[1]), int(argv[2])
    except ValueError:
        _wl.usage("N DURATION_S [MIB]")
    if n < 1 or mib < 1:
        _wl.usage("N DURATION_S [MIB]  (N >= 1, MIB >= 1)")
    buffers = [make_data(mib) for _ in range(n)]
    deadline = _wl.deadline_of(duration)
    threads = []
    for i in range(n):
        threads += _wl.start_threads(1, worker, (buffers[i], deadline),
                                     name="zlib%d" % i)
    _wl.ready()
    _wl.join_all(threads)


if __name__ == "__main__":
    main()
