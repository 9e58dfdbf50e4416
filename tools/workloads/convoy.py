"""The convoy effect: one thread runs pure Python without a break (it never
releases the GIL on its own), another compresses small buffers with zlib,
which releases the GIL around each deflate. The compressing thread could
run beside the Python one, but after every buffer it needs the GIL back
and waits about one switch interval for it (the holder gives it up only
when asked, SWITCH_INTERVAL_S after the request began).

usage: convoy.py SWITCH_INTERVAL_S DURATION_S      (DURATION_S <= 0: until killed)
"""
import binascii
import os
import zlib

import _wl

KIB = 32    # ~0.3-1 ms of deflate per buffer


def hog(started, deadline):
    started.set()
    x = 0
    while not _wl.expired(deadline):
        x = _wl.spin(2000, x)


def compressor(started, data, deadline):
    started.set()
    while not _wl.expired(deadline):
        c = zlib.compressobj(6)      # releases the GIL around deflate()
        c.compress(data)
        c.flush()


def main():
    si, duration = _wl.args("SWITCH_INTERVAL_S DURATION_S", (float, float))
    _wl.set_switch_interval(si)
    _wl.ensure_gil()
    deadline = _wl.deadline_of(duration)
    data = binascii.hexlify(os.urandom(KIB * 512))
    threads = _wl.start_threads(1, hog, (deadline,), name="hog")
    threads += _wl.start_threads(1, compressor, (data, deadline), name="zlib")
    _wl.ready()
    _wl.join_all(threads)


if __name__ == "__main__":
    main()
