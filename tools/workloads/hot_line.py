"""The main thread spends nearly all its time on one known source line, the
one marked with the HOT comment below (the tests find it by that marker).

usage: hot_line.py DURATION_S      (DURATION_S <= 0: until killed)
"""
import _wl


def hot_function(deadline):
    x = 0
    while not _wl.expired(deadline):
        for i in range(100000): x = (x * 31 + i) & 0xFFFF  # HOT
    return x


def main():
    duration, = _wl.args("DURATION_S", [float])
    _wl.ensure_gil()
    deadline = _wl.deadline_of(duration)
    _wl.ready()
    hot_function(deadline)


if __name__ == "__main__":
    main()
