"""Sub-interpreters with their own GIL (CPython 3.12+), each spinning in
pure Python, next to a main-interpreter thread with a known GIL duty.

usage: subinterp.py N DURATION_S [MAIN_BUSY_PCT]
N threads each create a sub-interpreter with its own GIL and run a
pure-Python loop in it for DURATION_S seconds (<= 0: until killed or
SIGTERM); each sub-interpreter's GIL is then held ~100% of the time by
its one thread. The main thread (main interpreter, main GIL) meanwhile
spins for MAIN_BUSY_PCT% of every 20 ms (default 100) and sleeps for the
rest: the main GIL's held share is about MAIN_BUSY_PCT.

  3.12: _xxsubinterpreters.create(isolated=True) (PyInterpreterConfig
        with gil=OWN), _xxsubinterpreters.run_string(id, code)
  3.13: _interpreters.create("isolated") (get_config(id).gil == "own"),
        _interpreters.run_string(id, code)

READY is printed once every sub-interpreter's loop runs (each writes a
byte to a pipe). At the end (DURATION_S over, or SIGTERM) one JSON line
is printed on stdout, the ground truth:
  {"subinterpreters": N, "own_gil": [true|null per sub-interpreter]
   (null: this version cannot say), "main_busy_pct": measured since
   READY, "main_busy_nominal": MAIN_BUSY_PCT, "elapsed_s": since READY}
Exit status 2 with a message on Python < 3.12.
"""
import json
import os
import signal
import sys
import threading
import time

import _wl

PERIOD = 0.020

# Runs in each sub-interpreter; {..} filled in by str.format.
SUB_CODE = """
import os, time
os.write({ready_w}, b"x")
clock = time.perf_counter
deadline = None if {duration} <= 0 else clock() + {duration}
x = 0
check = clock() + 0.05
while deadline is None or clock() < deadline:
    for i in range(2000):
        x = (x * 31 + i) & 0xFFFF
    if clock() >= check:
        check = clock() + 0.05
        try:
            if os.read({stop_r}, 1) == b"":   # the stop pipe was closed
                break
        except BlockingIOError:
            pass
"""


def api():
    """(create() -> id, run_string(id, code), destroy(id), own_gil(id))"""
    try:
        import _interpreters as I   # 3.13+
        return (lambda: I.create("isolated"), I.run_string, I.destroy,
                lambda i: I.get_config(i).gil == "own")
    except ImportError:
        import _xxsubinterpreters as I   # 3.12
        return (lambda: I.create(isolated=True), I.run_string, I.destroy,
                lambda i: None)


def main():
    argv = sys.argv[1:]
    if len(argv) == 2:
        argv.append("100")
    spec = "N DURATION_S [MAIN_BUSY_PCT]"
    if len(argv) != 3:
        _wl.usage(spec)
    try:
        n, duration, busy_pct = int(argv[0]), float(argv[1]), float(argv[2])
    except ValueError:
        _wl.usage(spec)
    if n < 0 or not 0 < busy_pct <= 100:
        _wl.usage(spec + "  (N >= 0, 0 < MAIN_BUSY_PCT <= 100)")
    if sys.version_info < (3, 12):
        sys.stderr.write("subinterp.py: sub-interpreters with their own GIL "
                         "need Python 3.12+, this is %d.%d\n"
                         % sys.version_info[:2])
        sys.exit(2)
    create, run_string, destroy, own_gil = api()

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda s, f: stop.update(now=True))
    ready_r, ready_w = os.pipe()
    stop_r, stop_w = os.pipe()
    os.set_blocking(stop_r, False)
    ids = [create() for _ in range(n)]
    own = [own_gil(i) for i in ids]
    errors = []

    def run(interp_id):
        code = SUB_CODE.format(ready_w=ready_w, stop_r=stop_r,
                               duration=duration)
        try:
            res = run_string(interp_id, code)
        except Exception as e:      # 3.12: RunFailedError
            res = e
        if res is not None:         # 3.13: an exception snapshot
            errors.append(repr(res))
            os.write(ready_w, b"!")

    threads = []
    for k, i in enumerate(ids):
        t = threading.Thread(target=run, args=(i,), name="subinterp-%d" % k)
        t.daemon = True
        t.start()
        threads.append(t)
    got = b""
    while len(got) < n:
        got += os.read(ready_r, n - len(got))
        if b"!" in got:
            sys.stderr.write("subinterp.py: a sub-interpreter failed: %s\n"
                             % errors)
            sys.exit(1)

    deadline = _wl.deadline_of(duration)
    t_ready = _wl.clock()
    busy = 0.0
    busy_s = PERIOD * busy_pct / 100.0
    _wl.ready()
    x = 0
    while not stop["now"] and not _wl.expired(deadline):
        t0 = _wl.clock()
        end = t0 + busy_s
        while True:
            x = _wl.spin(200, x)
            t = _wl.clock()
            if t >= end:
                break
        busy += t - t0
        if busy_pct < 100:
            time.sleep(PERIOD - busy_s)
    elapsed = _wl.clock() - t_ready
    os.close(stop_w)                # tells the sub-interpreters to stop
    for t in threads:
        t.join()
    for i in ids:
        destroy(i)
    if errors:
        sys.stderr.write("subinterp.py: sub-interpreter errors: %s\n" % errors)
        sys.exit(1)
    sys.stdout.write(json.dumps({
        "subinterpreters": n, "own_gil": own,
        "main_busy_pct": 100.0 * busy / elapsed if elapsed > 0 else 0.0,
        "main_busy_nominal": busy_pct, "elapsed_s": elapsed}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
