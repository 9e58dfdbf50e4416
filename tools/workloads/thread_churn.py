"""Starts THREADS short-lived threads, BATCH at a time, each running a
little pure Python (so each takes the GIL at least once), joins them and
exits: thread churn inside one window. Prints THREADS <n> at the end.

usage: thread_churn.py THREADS BATCH
"""
import threading

import _wl


def work():
    x = 0
    for i in range(2000):
        x = (x * 31 + i) & 0xFFFF


def main():
    n, batch = _wl.args("THREADS BATCH", [int, int])
    _wl.ensure_gil()
    _wl.ready()
    done = 0
    while done < n:
        ts = [threading.Thread(target=work, name="churn")
              for _ in range(min(batch, n - done))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        done += len(ts)
    print("THREADS %d" % done, flush=True)


if __name__ == "__main__":
    main()
