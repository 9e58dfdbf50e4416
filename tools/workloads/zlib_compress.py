"""N threads in compress_loop(), each running zlib.compress() over its own
4 MiB buffer of semi-random data, over and over. zlib.compress() releases
the GIL while it deflates, so nearly all of their CPU time is spent without
the GIL, under compress_loop().

usage: zlib_compress.py N DURATION_S      (DURATION_S <= 0: until killed)
"""
import binascii
import os
import zlib

import _wl


def compress_loop(started, data, deadline):
    started.set()
    while not _wl.expired(deadline):
        zlib.compress(data, 6)


def main():
    n, duration = _wl.args("N DURATION_S", [int, float])
    if n < 1:
        _wl.usage("N DURATION_S  (N >= 1)")
    # Hex of random bytes: deflate works hard but still compresses ~2:1.
    buffers = [binascii.hexlify(os.urandom(2 * 1024 * 1024))
               for _ in range(n)]
    deadline = _wl.deadline_of(duration)
    threads = []
    for i in range(n):
        threads += _wl.start_threads(1, compress_loop, (buffers[i], deadline),
                                     name="zlib%d" % i)
    _wl.ready()
    _wl.join_all(threads)


if __name__ == "__main__":
    main()
