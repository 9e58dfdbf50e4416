"""WORKERS CPU-bound pure-Python tasks, in processes or in threads.

usage: mp_pool.py METHOD WORKERS DURATION_S
  METHOD  fork | spawn | forkserver: a multiprocessing.Pool(WORKERS) with
          that start method runs WORKERS tasks (one per worker process);
          threads: WORKERS threading.Threads in this process run them.
Each task spins in pure Python (holding its process's GIL) for DURATION_S
seconds; DURATION_S <= 0 spins until killed (a worker also stops when its
main process goes away). READY is printed once every task is spinning:
the pool's tasks report their PID through a multiprocessing.Queue handed
to the workers at their start (Pool initializer). The main process then
only waits for the results (off-CPU).

With $PIDS_OUT set, a JSON object is written there before READY:
  {"method", "parent": PID, "workers": [PID of each task's process],
   "worker_parents": [the parent PID of each worker]}
(for threads, workers is [parent]). When the tasks end (DURATION_S > 0)
it is written again with "worker_cpu_s": the CPU seconds each worker
process had used when its task returned (time.process_time(), from its
fork or exec), and "worker_cpu_log": each worker's [clock, CPU seconds]
every 20 ms through its task (clock: time.perf_counter, CLOCK_MONOTONIC),
so that a test can tell what it used inside a traced window. The helpers a start method adds
(forkserver, resource_tracker) are not workers and are not listed; a
forkserver worker's parent is the forkserver.
Needs Python 3.4+ (start methods); tested on 3.6-3.13.
"""
import errno
import json
import os
import sys
import time

try:
    from queue import Empty
except ImportError:     # Python 2: not supported, but keep the import clean
    from Queue import Empty

import _wl

METHODS = ("fork", "spawn", "forkserver", "threads")
_queue = None     # set in each pool worker by init_worker()
_main_pid = None  # the pool's owner (a forkserver worker's parent is the
                  # forkserver, which may outlive it)


def init_worker(queue, main_pid):
    global _queue, _main_pid
    _queue = queue
    _main_pid = main_pid


def orphaned(ppid):
    if os.getppid() != ppid:
        return True
    if _main_pid is not None:
        try:
            os.kill(_main_pid, 0)
        except OSError as e:
            return e.errno == errno.ESRCH
    return False


def spin_for(duration, started=None):
    """The task: spin until DURATION_S passed, or forever (<= 0) while the
    pool's owner lives. Returns the number of spin() rounds done."""
    _wl.ensure_gil()
    deadline = _wl.deadline_of(duration)
    ppid = os.getppid()
    if started is not None:
        started.set()
    elif _queue is not None:
        _queue.put((os.getpid(), ppid))
    x = rounds = 0
    check = _wl.clock() + 0.2
    log, nxt = [], 0.0
    while not _wl.expired(deadline):
        x = _wl.spin(2000, x)
        rounds += 1
        now = _wl.clock()
        if duration > 0 and now >= nxt and len(log) < 2000:
            log.append((now, time.process_time()))
            nxt = now + 0.02
        if deadline is None and now >= check:
            check = now + 0.2
            if orphaned(ppid):      # the pool's owner was killed
                os._exit(0)
    log.append((_wl.clock(), time.process_time()))
    return os.getpid(), rounds, time.process_time(), log


def thread_main(started, duration):
    spin_for(duration, started)


def write_pids(method, workers, cpu=None, logs=None):
    """workers: {pid: parent pid}; cpu: {pid: CPU seconds at task end};
    logs: {pid: [(clock, CPU seconds)...] through its task}"""
    path = os.environ.get("PIDS_OUT")
    if not path:
        return
    pids = sorted(workers)
    info = {"method": method, "parent": os.getpid(), "workers": pids,
            "worker_parents": [workers[p] for p in pids]}
    if cpu is not None:
        info["worker_cpu_s"] = [cpu.get(p) for p in pids]
    if logs is not None:
        info["worker_cpu_log"] = [logs.get(p) for p in pids]
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(info, f)
    os.rename(tmp, path)


def run_threads(n, duration):
    threads = _wl.start_threads(n, thread_main, (duration,), name="cpu")
    write_pids("threads", {os.getpid(): os.getppid()})
    _wl.ready()
    _wl.join_all(threads)


def run_pool(method, n, duration):
    import multiprocessing
    ctx = multiprocessing.get_context(method)
    queue = ctx.Queue()
    pool = ctx.Pool(n, initializer=init_worker, initargs=(queue, os.getpid()))
    results = [pool.apply_async(spin_for, (duration,)) for _ in range(n)]
    pids = {}
    give_up = time.time() + 60
    for got in range(n):
        try:
            pid, ppid = queue.get(timeout=max(0.1, give_up - time.time()))
        except Empty:       # a worker never started
            sys.stderr.write("mp_pool.py: only %d of %d tasks started\n"
                             % (got, n))
            pool.terminate()
            sys.exit(1)
        pids[pid] = ppid
    if len(pids) != n:      # a short task ended and its worker took another
        sys.stderr.write("mp_pool.py: %d tasks ran in %d processes\n"
                         % (n, len(pids)))
        pool.terminate()
        sys.exit(1)
    write_pids(method, pids)
    _wl.ready()
    done = [r.get() for r in results]
    pool.close()
    pool.join()
    write_pids(method, pids, dict((pid, cpu) for pid, _, cpu, _ in done),
               dict((pid, log) for pid, _, _, log in done))
    sys.stderr.write("mp_pool.py: %s, %d workers, rounds %s, CPU s %s\n"
                     % (method, n, [r for _, r, _, _ in done],
                        ["%.3f" % c for _, _, c, _ in done]))


def main():
    method, n, duration = _wl.args("METHOD WORKERS DURATION_S",
                                   [str, int, float])
    if method not in METHODS or n < 1:
        _wl.usage("METHOD WORKERS DURATION_S  (METHOD: %s; WORKERS >= 1)"
                  % "|".join(METHODS))
    _wl.ensure_gil()
    if method == "threads":
        run_threads(n, duration)
    else:
        run_pool(method, n, duration)


if __name__ == "__main__":
    main()
