"""One thread hogs the GIL; two others keep needing it for a moment.

usage: hog_waiter.py DURATION_S [PAUSE_S]      (DURATION_S <= 0: until killed)

hog() spins in pure Python and so holds the GIL until the switch interval
(5 ms) forces it off. Each waiter() thread sleeps PAUSE_S (default 0.0002 s),
which drops the GIL, then calls nudge(), a few microseconds of pure Python
that needs the GIL back: it waits for hog() almost every time. So nearly all
GIL-holding CPU time is hog()'s, nearly all waiting is waiter()'s, and that
waiting is hog()'s doing. The main thread only joins (off-CPU).
"""
import sys
import time

import _wl


def nudge(x):
    for i in range(20):
        x = (x * 31 + i) & 0xFFFF
    return x


def waiter(started, deadline, pause):
    started.set()
    x = 0
    while not _wl.expired(deadline):
        time.sleep(pause)
        x = nudge(x)


def hog(started, deadline):
    started.set()
    x = 0
    while not _wl.expired(deadline):
        for i in range(20000):
            x = (x * 31 + i) & 0xFFFF


def main():
    argv = sys.argv[1:]
    if len(argv) == 1:
        argv.append("0.0002")
    if len(argv) != 2:
        _wl.usage("DURATION_S [PAUSE_S]")
    try:
        duration, pause = float(argv[0]), float(argv[1])
    except ValueError:
        _wl.usage("DURATION_S [PAUSE_S]")
    _wl.set_switch_interval(0.005)
    deadline = _wl.deadline_of(duration)
    threads = _wl.start_threads(1, hog, (deadline,), name="hog")
    threads += _wl.start_threads(2, waiter, (deadline, pause), name="waiter")
    _wl.ready()
    _wl.join_all(threads)


if __name__ == "__main__":
    main()
