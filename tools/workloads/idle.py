"""A Python process that only sleeps (used as a target that must be
rejected or that needs no activity, e.g. under Python 2.7).

usage: idle.py DURATION_S      (<= 0: until killed)
"""
import time

import _wl


def main():
    duration, = _wl.args("DURATION_S", [float])
    deadline = _wl.deadline_of(duration)
    _wl.ready()
    while not _wl.expired(deadline):
        time.sleep(0.5)


if __name__ == "__main__":
    main()
