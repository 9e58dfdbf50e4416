"""N CPU-bound pure-Python threads contending for the GIL.

usage: cpu_threads.py N SWITCH_INTERVAL_S DURATION_S
DURATION_S <= 0 runs until killed. The main thread only joins (off-CPU).
"""
import _wl


def worker(started, deadline):
    started.set()
    x = 0
    while not _wl.expired(deadline):
        x = _wl.spin(2000, x)


def main():
    n, interval, duration = _wl.args("N SWITCH_INTERVAL_S DURATION_S",
                                     [int, float, float])
    if n < 1 or interval <= 0:
        _wl.usage("N SWITCH_INTERVAL_S DURATION_S  (N >= 1, interval > 0)")
    _wl.set_switch_interval(interval)
    deadline = _wl.deadline_of(duration)
    threads = _wl.start_threads(n, worker, (deadline,), name="cpu")
    _wl.ready()
    _wl.join_all(threads)


if __name__ == "__main__":
    main()
