"""The main thread recurses DEPTH calls deep into descend(), then spins in
pure Python at the bottom: every stack of it is DEPTH + 2 Python frames
(<module>, main, DEPTH + 1 descend frames).

usage: deep_stack.py DEPTH DURATION_S      (DURATION_S <= 0: until killed)
"""
import _wl


def descend(n, deadline):
    if n > 0:
        return descend(n - 1, deadline)
    x = 0
    while not _wl.expired(deadline):
        for i in range(20000):
            x = (x * 31 + i) & 0xFFFF
    return x


def main():
    depth, duration = _wl.args("DEPTH DURATION_S", [int, float])
    if not 0 <= depth <= 500:
        _wl.usage("DEPTH DURATION_S  (0 <= DEPTH <= 500)")
    _wl.ensure_gil()
    deadline = _wl.deadline_of(duration)
    _wl.ready()
    descend(depth, deadline)


if __name__ == "__main__":
    main()
