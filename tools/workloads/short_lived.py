"""Spins in busy_until() (pure Python, main thread) for SECONDS, then exits
with status 0: a launched target that is gone before the report is written.

usage: short_lived.py SECONDS
"""
import _wl


def busy_until(deadline):
    x = 0
    while _wl.clock() < deadline:
        for i in range(20000):
            x = (x * 31 + i) & 0xFFFF
    return x


def main():
    seconds, = _wl.args("SECONDS", [float])
    _wl.ensure_gil()
    deadline = _wl.clock() + seconds
    _wl.ready()
    busy_until(deadline)


if __name__ == "__main__":
    main()
