"""End-to-end cases for `gilscope top` (docs/top.md), run once on the
newest pyenv interpreter, with workloads whose truth is known by design:
one CPU-bound Python thread (the GIL held ~100% of every interval) and a
process that only sleeps (~0%).

- The full-screen view in a tmux pane of 80x24 (its own tmux server, on
  a socket of this run): the rows name the workloads, their held % is the
  truth's, every column fits and nothing wraps, `t` expands the selected
  process into its threads (the workload's own TIDs), the sort keys
  reorder, a resize redraws, and `q` leaves a clean terminal: the shell's
  prompt, not the curses screen, the alternate screen left, the cursor
  shown, the keypad and the tty modes as they were.
- Without a terminal (stdout a pipe): one key=value line per process per
  interval, flushed as each interval ends; SIGINT ends it with status 0.
- The interval figures against a `gilscope record` of the same process
  over the same time (both tracing at once): top's per-interval held %,
  averaged over the intervals inside the record's window, within 5 points
  of the record's.

The command line is `gilscope top [-p PID ... | -a] [--children]
[-i SECONDS]`; top_argv() below is the one place that spells it.
"""
import calendar
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import gs
from common import Case, GS_SLACK, report_ok
from gs import CaseError, get

COLS, ROWS = 80, 24
PROMPT = "gs-top-e2e$ "
# every verdict kind (model/verdict.c), the last column of a process row
VERDICTS = {"free-threaded", "subinterpreters", "idle", "cpu-quota", "cpu-pinned", "oversubscribed",
            "convoy", "gil-bound", "native-parallel", "python-serial", "io-bound", "mixed",
            "multi-process"}
# the keys of a plain line, in order (docs/top.md)
PLAIN_KEYS = ["time", "pid", "comm", "container", "python", "held_pct", "contended_pct", "waiters",
              "handoffs", "waits_per_s", "wait_p99_us", "cores", "verdict"]


def top_argv(pids, *extra):
    argv = ["top"]
    for p in pids:
        argv += ["-p", str(p)]
    return argv + [str(a) for a in extra]


def tids(pid):
    try:
        return {int(t) for t in os.listdir("/proc/%d/task" % pid)}
    except OSError:
        return set()


# ----------------------------------------------------------------- tmux

class Pane(object):
    """A shell in a detached tmux session of its own server (-L), COLS x
    ROWS, with a known prompt. kill() ends what runs in it and the
    server."""

    def __init__(self, ctx):
        if not shutil.which("tmux"):
            raise CaseError("tmux is not installed (tools/install-deps.sh installs it)")
        self.ctx = ctx
        self.sock = "gs-e2e-top-%d" % os.getpid()
        self.target = "top"
        self.started = False
        env = dict(os.environ)
        env.pop("TMUX", None)
        self._tmux(["new-session", "-d", "-x", str(COLS), "-y", str(ROWS), "-s", self.target,
                    "env PS1='%s' ENV= sh" % PROMPT], env=env)
        self.started = True
        try:
            self.wait(lambda lines: any(l.startswith(PROMPT.rstrip()) for l in lines), 10, "the shell's prompt")
        except Exception:
            self.kill()
            raise

    def _tmux(self, args, env=None, check=True):
        p = subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null"] + args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=10)
        if check and p.returncode:
            raise CaseError("tmux %s: rc=%d %s" % (" ".join(args), p.returncode,
                                                  p.stderr.decode("utf-8", "replace").strip()))
        return p.stdout.decode("utf-8", "replace")

    def type(self, text):
        """Type text and Enter."""
        self._tmux(["send-keys", "-t", self.target, "-l", text])
        self._tmux(["send-keys", "-t", self.target, "Enter"])

    def key(self, *keys):
        self._tmux(["send-keys", "-t", self.target] + list(keys))

    def lines(self, joined=False):
        out = self._tmux(["capture-pane", "-p", "-t", self.target] + (["-J"] if joined else []))
        return out.split("\n")[:-1] if out.endswith("\n") else out.split("\n")

    def display(self, fmt):
        return self._tmux(["display-message", "-p", "-t", self.target, fmt]).strip()

    def resize(self, cols, rows):
        self._tmux(["resize-window", "-t", self.target, "-x", str(cols), "-y", str(rows)])

    def wait(self, pred, timeout, what):
        """The pane's lines once pred(lines) holds; CaseError after timeout."""
        deadline = time.monotonic() + timeout
        lines = []
        while time.monotonic() < deadline:
            lines = self.lines()
            if pred(lines):
                return lines
            time.sleep(0.2)
        raise CaseError("tmux pane: no %s within %.0fs; the pane shows:\n%s" % (what, timeout, "\n".join(lines)))

    def children(self):
        """The PIDs the pane's shell started (gilscope)."""
        try:
            sh = int(self.display("#{pane_pid}"))
            with open("/proc/%d/task/%d/children" % (sh, sh)) as f:
                return [int(x) for x in f.read().split()]
        except (OSError, ValueError, CaseError):
            return []

    def kill(self):
        if not self.started:
            return
        kids = self.children()
        for sig in (signal.SIGINT, signal.SIGKILL):
            for k in kids:
                try:
                    os.kill(k, sig)
                except OSError:
                    pass
            deadline = time.monotonic() + 5
            while any(gs.alive(k) for k in kids) and time.monotonic() < deadline:
                time.sleep(0.1)
        try:
            sock = self.display("#{socket_path}")
        except CaseError:
            sock = None
        self._tmux(["kill-server"], check=False)
        if sock and os.path.basename(sock) == self.sock:
            try:
                os.unlink(sock)
            except OSError:
                pass
        self.started = False


# -------------------------------------------------------------- the screen

def title_seq(lines):
    """The frame number in the title ("(#N)"), 0 before the first."""
    m = re.search(r"\(#(\d+)\)", lines[0] if lines else "")
    return int(m.group(1)) if m else 0


def proc_rows(lines):
    """{pid: {"held", "cont", "cores", "verdict", "name", "line", "y"}} of
    the process rows: a number first, a verdict last."""
    rows = {}
    for y, line in enumerate(lines):
        t = line.split()
        if len(t) < 11 or not t[0].isdigit() or t[-1] not in VERDICTS:
            continue
        try:
            # PID NAME... PY HELD CONT WTRS HOFFS WAIT/S P99 CORES VERDICT
            rows[int(t[0])] = {"held": float(t[-8]), "cont": float(t[-7]), "cores": float(t[-2]),
                               "verdict": t[-1], "name": " ".join(t[1:-9]), "line": line, "y": y}
        except ValueError:
            continue
    return rows


def thread_rows(lines):
    """[(tid, name, held, native, wait, offcpu, runq)] under a thread header."""
    out = []
    under = False
    for line in lines:
        t = line.split()
        if t[:2] == ["TID", "THREAD"]:
            under = True
            continue
        if not t or t[-1] in VERDICTS or t[0] == "NOT":
            under = False
            continue
        if not under:
            continue
        if t[-1] == "exited":
            t = t[:-1]
        if len(t) < 7 or not (t[0].isdigit() or t[0] == "-"):
            continue
        try:
            out.append((int(t[0]) if t[0] != "-" else 0, " ".join(t[1:-5])) + tuple(float(x) for x in t[-5:]))
        except ValueError:
            pass
    return out


def check_fits(ctx, pane, label):
    """Nothing wrapped: tmux joins no line (-J), every process row ends
    with its verdict, and no line is longer than the pane."""
    lines, joined = pane.lines(), pane.lines(joined=True)
    width = int(pane.display("#{pane_width}"))
    ctx.check(label + "_no_wrap", "%d lines, %d joined" % (len(lines), len(joined)), len(lines) == len(joined),
              "equal (tmux joins wrapped lines)")
    long_lines = [l for l in lines if len(l.rstrip()) > width]
    ctx.check(label + "_width", "%d longer than %d" % (len(long_lines), width), not long_lines, "none")


def frames(pane, pids, n, timeout):
    """The rows of pids in n successive frames after the first (partial)
    one: [{pid: row}]."""
    out, last = [], title_seq(pane.lines())
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        lines = pane.lines()
        seq = title_seq(lines)
        rows = proc_rows(lines)
        if seq > max(last, 1) and all(p in rows for p in pids):
            out.append(rows)
            last = seq
        time.sleep(0.15)
    if len(out) < n:
        raise CaseError("only %d of %d frames with every process within %.0fs; the pane shows:\n%s"
                        % (len(out), n, timeout, "\n".join(pane.lines())))
    return out


def order(pane, pids):
    rows = proc_rows(pane.lines())
    return [p for p in sorted(rows, key=lambda p: rows[p]["y"]) if p in pids]


def wait_order(pane, pids, want, timeout=5):
    deadline = time.monotonic() + timeout
    got = order(pane, pids)
    while got != want and time.monotonic() < deadline:
        time.sleep(0.15)
        got = order(pane, pids)
    return got


def case_screen(ctx):
    cpu = ctx.workload("cpu_threads.py", 1, 0.005, 0)
    idle = ctx.workload("idle.py", 0)
    pids = [cpu.pid, idle.pid]
    err = ctx.path("gilscope.stderr")
    argv = ctx.gilscope_argv(top_argv(pids))
    ctx.gs_stderr.append((argv, (err,)))
    pane = Pane(ctx)
    try:
        # its exit status is echoed as it ends: typing after 'q' could
        # reach gilscope's terminal while it detaches, which discards it
        pane.type("%s 2>%s; echo rc=$?" % (" ".join(argv), err))
        lines = pane.wait(lambda l: all(p in proc_rows(l) for p in pids), 20, "row for each workload")
        ctx.check("alternate_screen", pane.display("#{alternate_on}"), pane.display("#{alternate_on}") == "1",
                  "1 (curses on the alternate screen)")
        head = next((l for l in lines if "VERDICT" in l), "")
        cols = ["PID", "NAME", "PY", "HELD", "CONT", "WTRS", "HOFFS", "WAIT/S", "P99", "CORES", "VERDICT"]
        ctx.check("columns", head.split(), head.split() == cols, " ".join(cols))
        rows = proc_rows(lines)
        names = [rows[p]["name"] for p in pids]
        ctx.check("names", names, all(n.startswith("python") for n in names), "python... (the comm)")
        check_fits(ctx, pane, "80x24")

        # held: the truth by design, in each full interval
        fs = frames(pane, pids, 3, 15)
        held_cpu = [f[cpu.pid]["held"] for f in fs]
        held_idle = [f[idle.pid]["held"] for f in fs]
        ctx.check("held_cpu_bound", held_cpu, min(held_cpu) >= 95, ">=95 each interval (one thread, always in Python)")
        ctx.check("held_sleeper", held_idle, max(held_idle) <= 5, "<=5 each interval (only sleeps)")
        v = fs[-1][idle.pid]["verdict"]
        ctx.check("verdict_sleeper", v, v == "idle", "idle")
        v = fs[-1][cpu.pid]["verdict"]
        ctx.check("verdict_cpu_bound", v, v == "python-serial", "python-serial", load=True)

        # the busiest first (held, high first): selected; t expands it
        got = wait_order(pane, pids, [cpu.pid, idle.pid])
        ctx.check("sorted_by_held", got, got == [cpu.pid, idle.pid], "cpu-bound first")
        pane.key("t")
        lines = pane.wait(lambda l: len(thread_rows(l)) > 0, 5, "thread rows after 't'")
        ths = thread_rows(lines)
        mine = tids(cpu.pid)
        seen = {t[0] for t in ths if t[0]}
        ctx.check("thread_tids", sorted(seen), seen and seen <= mine, "the workload's TIDs %s" % sorted(mine))
        busiest = max(ths, key=lambda t: t[2])
        ctx.check("thread_held", "%s %.1f%%" % (busiest[0], busiest[2]), busiest[2] >= 90,
                  ">=90 for the spinning thread")
        shares = busiest[2] + busiest[3] + busiest[4] + busiest[5] + busiest[6]
        ctx.check("thread_shares", "%.1f%%" % shares, 90 <= shares <= 101, "held+native+wait+offcpu+runq ~100")
        check_fits(ctx, pane, "expanded")
        # the expansion survives the next frame
        seq = title_seq(pane.lines())
        lines = pane.wait(lambda l: title_seq(l) > seq, 5, "next frame")
        ctx.check("expanded_next_frame", len(thread_rows(lines)), len(thread_rows(lines)) > 0, ">0 thread rows")

        # sort keys: n by PID (low first), n again high first, h held
        by_pid = sorted(pids)
        for key, want, label, expect in (("n", by_pid, "sort_n", "PIDs ascending"),
                                         ("n", by_pid[::-1], "sort_n_again", "PIDs descending"),
                                         ("h", [cpu.pid, idle.pid], "sort_h", "held, high first")):
            pane.key(key)
            got = wait_order(pane, pids, want)
            ctx.check(label, got, got == want, expect)

        # a resize redraws at the new size, still unwrapped
        pane.resize(100, 30)
        lines = pane.wait(lambda l: len(l) == 30 and all(p in proc_rows(l) for p in pids), 5, "redraw at 100x30")
        check_fits(ctx, pane, "100x30")
        pane.resize(COLS, ROWS)
        pane.wait(lambda l: len(l) == ROWS and all(p in proc_rows(l) for p in pids), 5, "redraw at 80x24")

        # q: gilscope ends, the shell's screen is back as it was
        pane.key("q")
        pane.wait(lambda l: not any("VERDICT" in x for x in l), 10, "screen restored after 'q'")
        lines = pane.wait(lambda l: any(x.startswith("rc=") for x in l), 5, "exit status")
        rc = next(x for x in lines if x.startswith("rc="))
        ctx.check("rc", rc, rc == "rc=0", "rc=0")
        ctx.check("curses_screen_gone", "", not any("HOFFS" in x or "NOT TRACED" in x for x in lines),
                  "no curses line left on the shell's screen")
        ctx.check("prompt", [x for x in lines if x.strip()][-1],
                  [x for x in lines if x.strip()][-1].startswith(PROMPT.rstrip()), "the shell's prompt last")
        for fmt, want, what in (("#{alternate_on}", "0", "alternate screen left"),
                                ("#{cursor_flag}", "1", "cursor shown"),
                                ("#{keypad_cursor_flag}", "0", "cursor keys back to normal mode"),
                                ("#{keypad_flag}", "0", "keypad back to normal mode")):
            got = pane.display(fmt)
            ctx.check(fmt.strip("#{}"), got, got == want, "%s (%s)" % (want, what))
        pane.type("stty -a | tr ' ;' '\\n\\n' | grep -x -e echo -e -echo -e icanon -e -icanon")
        lines = pane.wait(lambda l: any(x.strip() in ("echo", "-echo") for x in l), 5, "stty output")
        modes = [x.strip() for x in lines if x.strip() in ("echo", "-echo", "icanon", "-icanon")]
        ctx.check("tty_modes", modes, "echo" in modes and "icanon" in modes, "echo icanon (cooked, as before)")
    finally:
        if ctx.failed() and pane.started:
            ctx.detail("the pane:\n" + "\n".join(pane.lines()))
        pane.kill()
    ctx.check("targets_alive", [cpu.alive(), idle.alive()], cpu.alive() and idle.alive(), "untouched")


# ------------------------------------------------------------------ plain

def plain_time(s):
    """A plain line's time= (ISO 8601 UTC with ms) as epoch seconds, None
    when it is not one."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z$", s or "")
    if not m:
        return None
    return calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + int(m.group(2)) / 1000.0


def parse_plain(line):
    """[(key, value)] of a key=value line (values quoted when needed)."""
    out = []
    for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line):
        v = m.group(2)
        if v.startswith('"'):
            v = re.sub(r'\\(.)', r'\1', v[1:-1])
        out.append((m.group(1), v))
    return out


class Reader(object):
    """Reads a pipe line by line in a thread, each line with its arrival
    time (monotonic)."""

    def __init__(self, pipe):
        self.lines = []
        self.t = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self.t.start()

    def _run(self, pipe):
        for raw in iter(pipe.readline, b""):
            self.lines.append((time.monotonic(), raw.decode("utf-8", "replace").rstrip("\n")))


def start_plain(ctx, args):
    err = ctx.path("gilscope.stderr")
    argv = ctx.gilscope_argv(args)
    with open(err, "w") as e:
        p = ctx.spawn(argv, stdout=subprocess.PIPE, stderr=e, stdin=subprocess.DEVNULL)
    ctx.gs_stderr.append((argv, (err,)))
    p.gs_err = err
    return p, Reader(p.stdout)


def stop_plain(ctx, p, r):
    p.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise CaseError("gilscope top did not end within 10s of SIGINT; stderr:\n%s" % gs.tail(gs.read_file(p.gs_err)))
    r.t.join(5)
    ctx.check("stopped_in", "%.1fs" % (time.monotonic() - t0), time.monotonic() - t0 <= 5, "<=5s")
    ctx.check("rc", rc, rc == 0, "==0 (SIGINT)")
    if rc:
        ctx.detail("stderr:\n" + gs.tail(gs.read_file(p.gs_err)))


def case_plain(ctx):
    w = ctx.workload("cpu_threads.py", 1, 0.005, 0)
    p, r = start_plain(ctx, top_argv([w.pid], "-i", 0.5))
    # the first line comes once the BPF object is loaded and attached
    # (--light's verifier run: ~1 s here); from it, one line an interval
    deadline = time.monotonic() + 15
    while not r.lines and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    t0 = r.lines[0][0] if r.lines else time.monotonic()
    time.sleep(max(0.0, t0 + 1.6 - time.monotonic()))
    early = len([1 for t, l in r.lines if t <= t0 + 1.6])
    running = p.poll() is None
    time.sleep(max(0.0, t0 + 3.2 - time.monotonic()))
    stop_plain(ctx, p, r)
    ctx.check("running", running, running, "still running 1.6s after its first line")
    # flushed as each interval ends, not at exit
    ctx.check("lines_while_running", early, early >= 3, ">=3 lines within 1.6s of the first (-i 0.5)")
    mine = [(t, parse_plain(l)) for t, l in r.lines if (" pid=%d " % w.pid) in l]
    ctx.check("lines", len(mine), len(mine) >= 5, ">=5 in 3.2s from the first at -i 0.5")
    bad = [l for t, l in r.lines if [k for k, _ in parse_plain(l)] != PLAIN_KEYS]
    ctx.check("keys", "%d line(s) otherwise" % len(bad), not bad, " ".join(PLAIN_KEYS))
    if bad:
        ctx.detail("lines:\n" + "\n".join(bad[:5]))
    if len(mine) < 3:
        return
    kv = [dict(x) for _, x in mine]
    held = [float(d["held_pct"]) for d in kv[1:]]   # the first interval may be partial
    ctx.check("held", held, min(held) >= 95, ">=95 each interval")
    ctx.check("comm", kv[-1]["comm"], kv[-1]["comm"].startswith("python"), "python...")
    ctx.check("python", kv[-1]["python"], re.match(r"^3\.\d+", kv[-1]["python"]) is not None, "3.X...")
    # the intervals' ends, 0.5 s apart
    ends = [plain_time(d["time"]) for d in kv]
    odd = [d["time"] for d, e in zip(kv, ends) if e is None]
    ctx.check("time_format", odd[:3], not odd, "ISO 8601 UTC with ms")
    ends = [e for e in ends if e is not None]
    ctx.check("time_now", "%.1fs off" % (ends[-1] - time.time()) if ends else None,
              bool(ends) and abs(ends[-1] - time.time()) <= 10, "the wall clock")
    steps = [b - a for a, b in zip(ends, ends[1:])]
    ctx.check("interval", ["%.2f" % s for s in steps], all(0.35 <= s <= 0.75 for s in steps), "0.5s +-0.15")
    ctx.check("target_alive", w.alive(), w.alive(), "untouched")


def case_vs_record(ctx):
    """top's per-interval held % against a record of the same process over
    the same time, both tracing at once: a duty cycle of about half."""
    w = ctx.workload("duty.py", 20, 20, 0)
    p, r = start_plain(ctx, top_argv([w.pid], "-i", 0.5))
    try:
        time.sleep(1.2)
        # CLOCK_REALTIME (top's time=) against CLOCK_MONOTONIC (the report's window)
        off = time.time() - time.monotonic()
        jp = ctx.path("report.json")
        run = ctx.run_gilscope(["record", "-p", w.pid, "-d", 4, "--json", jp], timeout=4 + GS_SLACK,
                               json_path=jp)
        time.sleep(0.8)
    finally:
        if p.poll() is None:
            stop_plain(ctx, p, r)
    doc = report_ok(ctx, run, pid=w.pid, launched=False)
    if doc is None:
        return
    a, b = get(doc, "window_start_mono_s"), get(doc, "window_end_mono_s")
    inside = []
    for _, line in r.lines:
        d = dict(parse_plain(line))
        if d.get("pid") != str(w.pid):
            continue
        end = plain_time(d.get("time"))
        if end is None:
            continue
        end_mono = end - off
        if a <= end_mono - 0.5 and end_mono <= b:
            inside.append(float(d["held_pct"]))
    ctx.check("intervals_inside", len(inside), len(inside) >= 5, ">=5 of 0.5s in the 4s window")
    if not inside:
        return
    mean = sum(inside) / len(inside)
    want = get(doc, "gil", "held_pct")
    ctx.check("held_vs_record", "%.1f%% vs %.1f%%" % (mean, want), abs(mean - want) <= 5,
              "within 5 points of record's")
    ctx.check("held_duty", "%.1f%%" % mean, 25 <= mean <= 60, "25-60 (20 ms of Python, 20 ms asleep)")


CASES = [
    Case("top: screen", case_screen, per_interp=False, budget=120),
    Case("top: plain lines", case_plain, per_interp=False, budget=60, retries=1),
    Case("top: held vs record", case_vs_record, per_interp=False, budget=90, retries=1),
]
