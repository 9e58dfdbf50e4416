"""Works for SECONDS (a CPU-bound main thread and a sleeping helper thread),
then exits with status 0 on its own.

usage: exit_soon.py SECONDS
"""
import time

import _wl


def helper(started, deadline):
    started.set()
    while not _wl.expired(deadline):
        time.sleep(0.01)
        _wl.spin(100)


def main():
    seconds, = _wl.args("SECONDS", [float])
    deadline = _wl.clock() + seconds
    threads = _wl.start_threads(1, helper, (deadline,), name="helper")
    _wl.ready()
    x = 0
    while _wl.clock() < deadline:
        x = _wl.spin(2000, x)
    _wl.join_all(threads)


if __name__ == "__main__":
    main()
