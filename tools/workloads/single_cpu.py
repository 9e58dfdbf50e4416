"""One CPU-bound main thread and no other threads: it takes the GIL at
start-up and never releases it (nobody asks for it). On Python <= 3.6 a
no-op thread runs (and ends) before READY so that the GIL exists.

usage: single_cpu.py DURATION_S      (<= 0: until killed)
"""
import _wl


def main():
    duration, = _wl.args("DURATION_S", [float])
    _wl.ensure_gil()
    deadline = _wl.deadline_of(duration)
    _wl.ready()
    x = 0
    while not _wl.expired(deadline):
        x = _wl.spin(2000, x)


if __name__ == "__main__":
    main()
