#!/usr/bin/env python3
"""The soak (issue #17): one long `gilscope record` of a busy threaded
workload (tools/workloads/soak_mix.py), watched from outside while it runs.

It samples gilscope's memory (VmRSS), open file descriptors and BPF maps
(the entries of each map gilscope owns, read with bpftool) through the
window, runs short `record` windows of the same process inside it, and at
the end checks:
  - RSS flat: the last tenth of the samples within 10% (and 4 MiB) of the
    samples after the first tenth (the warm-up);
  - BPF thread, process and code maps not growing: the entries of each
    in the last sample no more than the most seen in the first half of
    the window, plus 64 (the stack tables, bounded, grow with the distinct
    (stack, thread) pairs sampled: listed with their rate);
  - no lost events (every "lost" counter 0) and the self-check passed;
  - every thread the workload started counted (the report's threads, a
    merged row counting its "merged", vs the workload's own count);
  - the long window's figures consistent with the short ones: held % within
    3 points, hold p50 within 15%, forced share within 5 points (each
    line also shows the acquisition rate and the target's run-queue time:
    other work on the machine during a short window changes them).
Writes DIR/soak.md (the table of samples and the checks) and exits 1 if a
check failed. Not part of make test (an hour); run as root:

    tools/soak.py --minutes 60 --out /tmp/soak
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

STACK_MAPS = ("stacks", "stack_counts")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GILSCOPE = os.path.join(ROOT, "gilscope")
WORKLOAD = os.path.join(ROOT, "tools", "workloads", "soak_mix.py")


def status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])  # kB
    out["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    return out


def maps_of(pid):
    """{name: entries} of the hash maps process pid holds: the map ids in
    its fds' fdinfo (this bpftool lists no owner pids), counted by bpftool."""
    ids = set()
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                m = re.search(r"^map_id:\s*(\d+)", f.read(), re.M)
        except OSError:
            continue
        if m:
            ids.add(int(m.group(1)))
    res = {}
    for i in sorted(ids):
        m = json.loads(subprocess.run(["bpftool", "-j", "map", "show", "id", str(i)],
                                      capture_output=True, text=True).stdout or "{}")
        if m.get("type") not in ("hash", "lru_hash", "percpu_hash", "lru_percpu_hash"):
            continue
        d = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(i)],
                           capture_output=True, text=True)
        try:
            n = len(json.loads(d.stdout))
        except ValueError:
            n = -1
        res[m.get("name", str(i))] = n
    return res


def figures(rep):
    g = rep["gil"]
    rel = g["releases"]
    total = rel["forced"] + rel["voluntary"]
    return {"held_pct": g["held_pct"], "hold_p50_us": g["hold"]["p50_us"],
            "forced_share": 100.0 * rel["forced"] / total if total else 0.0,
            "wait_p50_us": g["wait"]["p50_us"],
            "acq_per_s": g["acquisitions"] / rep["window_s"],
            "runq_per_min": 60.0 * rep["cpu"]["runq_s"] / rep["window_s"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--python", default=subprocess.run(
        [os.path.join(ROOT, "tools", "find-python.sh")], capture_output=True,
        text=True).stdout.strip())
    ap.add_argument("--out", default="/tmp/gilscope-soak")
    ap.add_argument("--every", type=float, default=30, help="seconds between samples")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    secs = int(a.minutes * 60)

    # Launched, so that the window holds the workload's whole life and its
    # own count of the threads it started is the truth for the report's.
    long_json = os.path.join(a.out, "long.json")
    long_txt = os.path.join(a.out, "long.txt")
    gs = subprocess.Popen([GILSCOPE, "record", "--json", long_json,
                           "--folded", os.path.join(a.out, "long.folded"),
                           "--", a.python, WORKLOAD, str(secs)],
                          stdout=open(long_txt, "w"),
                          stderr=open(os.path.join(a.out, "long.err"), "w"))
    pid = None
    while pid is None and gs.poll() is None:
        m = re.search(r"^READY (\d+)$", open(long_txt).read(), re.M)
        pid = int(m.group(1)) if m else None
        time.sleep(0.2)
    assert pid, "the workload never became ready"
    t0 = time.time()
    short_s = max(5, min(60, int(secs * 0.15)))
    shorts_at = [secs * f for f in (0.1, 0.45, 0.8)]
    shorts = []
    samples = []
    nxt = t0 + 20
    while gs.poll() is None:
        now = time.time()
        if shorts_at and now - t0 >= shorts_at[0]:
            k = len(shorts)
            path = os.path.join(a.out, "short%d.json" % k)
            shorts.append((path, subprocess.Popen(
                [GILSCOPE, "record", "-p", str(pid), "-d", str(short_s), "--json", path],
                stdout=subprocess.DEVNULL, stderr=open(path + ".err", "w"))))
            shorts_at.pop(0)
        if now >= nxt and os.path.exists("/proc/%d" % pid):
            try:
                s = status(gs.pid)
                s["t"] = round(now - t0)
                s["maps"] = maps_of(gs.pid)
                samples.append(s)
                print("t=%5ds rss=%6d kB fds=%3d maps=%s" % (s["t"], s["VmRSS"], s["fds"],
                      sorted(s["maps"].items())), flush=True)
            except (FileNotFoundError, ProcessLookupError):
                pass
            nxt += a.every
        time.sleep(1)
    rc = gs.wait()
    for _, p in shorts:
        p.wait()
    m = re.search(r"^STARTED (\d+)$", open(long_txt).read(), re.M)
    started = int(m.group(1)) if m else -1

    rep = json.load(open(long_json))
    checks = []

    def check(name, ok, detail):
        checks.append((name, ok, detail))

    check("gilscope exit status", rc == 0, "exit %d" % rc)
    n = len(samples)
    warm = samples[max(1, n // 10):max(2, n // 5)]
    last = samples[-max(1, n // 10):]
    rss0 = statistics.median(s["VmRSS"] for s in warm)
    rss1 = statistics.median(s["VmRSS"] for s in last)
    check("RSS flat", rss1 <= rss0 * 1.10 or rss1 - rss0 <= 4096,
          "%d kB after warm-up, %d kB at the end (%+.1f%%), peak %d kB" %
          (rss0, rss1, 100.0 * (rss1 - rss0) / rss0, max(s["VmHWM"] for s in samples)))
    check("fds flat", samples[-1]["fds"] <= max(s["fds"] for s in samples[:max(2, n // 2)]),
          "%d at the start, %d at the end" % (samples[0]["fds"], samples[-1]["fds"]))
    # Thread, process and code tables must not grow. The stack tables
    # (--folded) keep a weight per (stack, thread, view): they grow with
    # the distinct stacks and the threads sampled, up to their
    # max_entries, past which weights are dropped and counted
    # (lost.stack_counts_full); their rate is listed.
    half = samples[:max(1, n // 2)]
    grown, stack_rates = [], []
    for name, entries in samples[-1]["maps"].items():
        first = max(s["maps"].get(name, 0) for s in half)
        if name in STACK_MAPS:
            mid = samples[n // 2]
            dt = samples[-1]["t"] - mid["t"]
            stack_rates.append("%s %d -> %d (+%.0f/h in the second half)" % (
                name, first, entries, 3600.0 * (entries - mid["maps"].get(name, 0)) / dt if dt else 0))
        elif entries > first + 64:
            grown.append("%s %d -> %d" % (name, first, entries))
    check("BPF thread/process/code maps not growing", not grown,
          "; ".join(grown) or "%d maps, none grew" % (len(samples[-1]["maps"]) - len(stack_rates)))
    check("stack tables (bounded, listed)", True, "; ".join(stack_rates))
    # Dropped for lack of room (tables, ring buffer, thread map) or skipped
    # by the kernel: must be none. The other counters attribute what could
    # not be attributed (a CPU sample of a thread before its first GIL
    # acquisition, a repaired scheduler pair); they are listed.
    room = ("threads_untracked", "bpf_prog_misses", "stacks_table_full", "codes_table_full",
            "stack_counts_full", "trace_records", "subgils_full", "stack_walks_raced")
    dropped = {k: rep["lost"][k] for k in room if rep["lost"].get(k)}
    check("nothing dropped", not dropped, json.dumps(dropped) if dropped else
          "0 in every table-full, ring-buffer, thread-map and program-miss counter")
    other = {k: v for k, v in rep["lost"].items() if v and k not in room}
    check("other counters (listed)", True, json.dumps(other))
    check("self-check", rep["check"]["ok"], json.dumps(rep["check"]["switches"]))
    nthreads = sum(t.get("merged", 1) for t in rep["threads"])
    check("every thread counted", nthreads == started,
          "%d threads in the report (%d rows), %d started by the workload (its main thread included)" % (
              nthreads, len(rep["threads"]), started))
    lf = figures(rep)
    for path, p in shorts:
        if p.returncode != 0:
            check("short window %s" % os.path.basename(path), False, "exit %d" % p.returncode)
            continue
        sf = figures(json.load(open(path)))
        ok = (abs(sf["held_pct"] - lf["held_pct"]) <= 3 and
              abs(sf["hold_p50_us"] - lf["hold_p50_us"]) <= 0.15 * lf["hold_p50_us"] and
              abs(sf["forced_share"] - lf["forced_share"]) <= 5)
        check("short window %s agrees" % os.path.basename(path), ok,
              "held %.1f%% vs %.1f%%, hold p50 %.0f vs %.0f us, forced %.1f%% vs %.1f%%, "
              "acquisitions %.0f/s vs %.0f/s, target's run queue %.2f vs %.2f s/min" % (
                  sf["held_pct"], lf["held_pct"], sf["hold_p50_us"], lf["hold_p50_us"],
                  sf["forced_share"], lf["forced_share"], sf["acq_per_s"], lf["acq_per_s"],
                  sf["runq_per_min"], lf["runq_per_min"]))

    with open(os.path.join(a.out, "soak.md"), "w") as f:
        f.write("# soak: %d s, %s, pid %d\n\n" % (secs, a.python, pid))
        f.write("| t (s) | VmRSS (kB) | fds | map entries |\n|---|---|---|---|\n")
        for s in samples:
            f.write("| %d | %d | %d | %s |\n" % (s["t"], s["VmRSS"], s["fds"],
                    ", ".join("%s %d" % kv for kv in sorted(s["maps"].items()))))
        f.write("\nlong window: held %.1f%%, hold p50 %.0f us, forced %.1f%%, wait p50 %.0f us, "
                "%d acquisitions, %d probe hits\n\n" % (
                    lf["held_pct"], lf["hold_p50_us"], lf["forced_share"], lf["wait_p50_us"],
                    rep["gil"]["acquisitions"], rep["cost"]["probe_hits"]))
        for name, ok, detail in checks:
            f.write("- %s %s: %s\n" % ("PASS" if ok else "FAIL", name, detail))
    print(open(os.path.join(a.out, "soak.md")).read())
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
