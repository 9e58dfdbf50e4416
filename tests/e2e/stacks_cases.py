"""End-to-end cases for the "where" features: Python stacks in the folded,
JSON, flame graph (SVG) and Chrome trace outputs.

Cases (CASES, run by harness.py):

  stacks hog/waiter     gil/blame views point at hog(), wait view at waiter()
  stacks zlib nogil     nogil view points at compress_loop()
  stacks line numbers   the top gil stack's leaf is the workload's # HOT line
  stacks consumers      speedscope imports folded + trace; the SVG is XML and
                        shows the frames in headless Chromium (3.11 only)
  stacks trace sanity   Chrome trace spans: ordered, exclusive GIL (3.11, 3.8)
  stacks max-depth      --max-depth 8 on a 100-deep recursion
  stacks launch+exit    frames symbolized after a launched target has exited
  stacks pprof          `go tool pprof -raw` reads --pprof: per sample type,
                        the total of the folded file's view (us views in
                        ns), thread and pid labels, leaf-first locations

GILSCOPE_SKIP_BROWSER=1 turns the browser checks of "stacks consumers" into
a SKIP (its other checks still run and can fail).
"""
import json
import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import gs
from common import Case, GS_SLACK, report_ok
from gs import CaseError, get

D = 2            # trace window of these cases, seconds
TOOLS = os.path.join(gs.REPO, "tools")
SVGCHECK = os.path.join(TOOLS, "svgcheck", "run.sh")
SPEEDSCOPE = os.path.join(TOOLS, "speedscope", "run.sh")

VIEWS = ("wait", "gil", "nogil", "blame")
TRUNC = "[truncated]"
SPAN_NAMES = {"holding GIL", "holding GIL, off-CPU", "waiting for GIL",
              "running without GIL", "off-CPU"}
LOST_STACK_KEYS = ("stacks_table_full", "codes_table_full",
                   "stack_counts_full", "trace_records",
                   "samples_without_tstate", "samples_without_stack",
                   "stacks_truncated")
FRAME_RE = re.compile(r"^.+ \([^()/]+?(:\d+)?\)$")
THREAD_RE = re.compile(r"^.* \[\d+\]$")


# ---------------------------------------------------------------- folded

class Folded(object):
    """A parsed --folded file: stacks[view] = [(thread, [frames root..leaf],
    weight)]; problems = format errors."""

    def __init__(self, path):
        self.path = path
        self.stacks = dict((v, []) for v in VIEWS)
        self.problems = []
        self.nlines = 0
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as e:
            self.problems.append("cannot read %s: %s" % (path, e))
            return
        for no, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            self.nlines += 1
            err = self._line(line)
            if err:
                self.problems.append("line %d: %s: %r" % (no, err, line[:160]))

    def _line(self, line):
        head, sep, weight = line.rpartition(" ")
        if not sep or not weight.isdigit() or int(weight) <= 0:
            return "no positive integer weight"
        parts = head.split(";")
        if len(parts) < 3:
            return "fewer than VIEW;THREAD;FRAME"
        view, thread, frames = parts[0], parts[1], parts[2:]
        if view not in VIEWS:
            return "unknown view %r" % view
        if not THREAD_RE.match(thread):
            return "thread %r is not 'NAME [TID]'" % thread
        for i, fr in enumerate(frames):
            if fr == TRUNC:
                if i != len(frames) - 1:
                    return "%s is not the last frame" % TRUNC
            elif not FRAME_RE.match(fr):
                return "frame %r is not 'NAME (FILE[:LINE])'" % fr
        self.stacks[view].append((thread, frames, int(weight)))
        return None

    def total(self, view):
        return sum(w for _, _, w in self.stacks[view])

    def share(self, view, pred):
        """Share of the view's weight whose stack has a frame matching
        pred(frame), and that total."""
        tot = self.total(view)
        hit = sum(w for _, fr, w in self.stacks[view] if any(map(pred, fr)))
        return (hit / float(tot) if tot else 0.0), tot

    def threads_with(self, view, pred):
        """Threads (weight per THREAD) whose stacks have a matching frame."""
        out = {}
        for th, fr, w in self.stacks[view]:
            if any(map(pred, fr)):
                out[th] = out.get(th, 0) + w
        return out

    def top(self, view):
        """Heaviest (thread, frames, weight) of a view, or None."""
        st = self.stacks[view]
        return max(st, key=lambda s: s[2]) if st else None

    def heaviest_frame(self, view, prefix):
        """The frame starting with prefix that carries the most weight."""
        w_of = {}
        for _, fr, w in self.stacks[view]:
            for f in set(fr):
                if f.startswith(prefix):
                    w_of[f] = w_of.get(f, 0) + w
        return max(w_of, key=w_of.get) if w_of else None


def starts(prefix):
    return lambda f: f.startswith(prefix)


def check_folded(ctx, path, must_have=()):
    """Parse and check the format of a folded file; the Folded or None."""
    fo = Folded(path)
    ok = not fo.problems and fo.nlines > 0
    ctx.check("folded", "%d lines%s" % (fo.nlines, ", %d bad" % len(
        fo.problems) if fo.problems else ""), ok, "well-formed, non-empty")
    if fo.problems:
        ctx.detail("folded file %s:\n  %s" % (path, "\n  ".join(
            fo.problems[:10])))
    for v in must_have:
        if not fo.stacks[v]:
            ctx.check("%s_view" % v, "empty", False, "has stacks")
    return fo if ok else None


def check_stacks_json(ctx, doc, fo=None):
    """The report's stacks and lost.* fields; totals match the folded
    file when given."""
    bad = []
    st = get(doc, "stacks")
    if not isinstance(st, dict):
        bad.append("no stacks object")
        st = {}
    for v in VIEWS:
        s = st.get(v)
        if not isinstance(s, dict):
            bad.append("stacks.%s missing" % v)
            continue
        for k, kind in (("title", str), ("unit", str), ("total", int),
                        ("stacks", int), ("top", list)):
            if not isinstance(s.get(k), kind) or isinstance(s.get(k), bool):
                bad.append("stacks.%s.%s=%r" % (v, k, s.get(k)))
        unit = s.get("unit")
        want = "samples" if v in ("gil", "nogil") else "us"
        if unit != want:
            bad.append("stacks.%s.unit=%r, want %r" % (v, unit, want))
        for i, t in enumerate(s.get("top") or []):
            fr = t.get("frames") if isinstance(t, dict) else None
            if not (isinstance(fr, list) and fr and isinstance(
                    t.get("weight"), int) and isinstance(t.get("thread"), str)
                    and gs._num(t.get("share"))
                    and 0 <= t.get("share") <= 1.000001):
                bad.append("stacks.%s.top[%d]=%r" % (v, i, str(t)[:120]))
        tops = [t.get("weight", 0) for t in s.get("top") or []
                if isinstance(t, dict)]
        if tops != sorted(tops, reverse=True):
            bad.append("stacks.%s.top not sorted by weight" % v)
        if fo is not None and isinstance(s.get("total"), int) and \
                s["total"] != fo.total(v):
            bad.append("stacks.%s.total=%d but the folded file sums to %d"
                       % (v, s["total"], fo.total(v)))
    lost = get(doc, "lost", default={})
    for k in LOST_STACK_KEYS:
        if not gs._int(get(lost, k)) or get(lost, k) < 0:
            bad.append("lost.%s=%r" % (k, get(lost, k)))
    ctx.check("stacks_json", "ok" if not bad else "%d problem(s)" % len(bad),
              not bad, "schema, totals = folded")
    if bad:
        ctx.detail("stacks JSON problems:\n  " + "\n  ".join(bad[:20]))
    nonzero = ["%s=%s" % (k, get(lost, k)) for k in LOST_STACK_KEYS
               if get(lost, k)]
    if nonzero:
        ctx.checks.append(("lost:" + ",".join(nonzero), True))


# ---------------------------------------------------------------- running

def record(ctx, w, d=D, folded=True, trace=False, svg=False, pprof=False,
           extra=()):
    """gilscope record -p PID -d D --json F [--folded F] [--trace F]
    [--flamegraph F] [--pprof F]: the run, the report (or None) and the
    file paths."""
    files = {"json": ctx.path("report.json")}
    args = ["record", "-p", w.pid, "-d", d, "--json", files["json"]]
    for key, opt, name, on in (("folded", "--folded", "stacks.folded", folded),
                               ("trace", "--trace", "trace.json", trace),
                               ("svg", "--flamegraph", "flame.svg", svg),
                               ("pprof", "--pprof", "stacks.pb.gz", pprof)):
        if on:
            files[key] = ctx.path(name)
            args += [opt, files[key]]
    meter = gs.LoadMeter(w.pid)
    run = ctx.run_gilscope(args + list(extra), timeout=d + GS_SLACK,
                           json_path=files["json"])
    ctx.bg = meter.other_cpus()
    doc = report_ok(ctx, run, pid=w.pid, launched=False)
    return run, doc, files


def run_tool(ctx, argv, timeout):
    """Run a helper script to completion: (rc, combined output)."""
    p = ctx.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                  stdin=subprocess.DEVNULL)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        gs.kill_group(p)
        out, _ = p.communicate()
        return None, out.decode("utf-8", "replace") + \
            "\n(timed out after %ds)" % timeout
    return p.returncode, out.decode("utf-8", "replace")


def pct(x):
    return "%.1f%%" % (100.0 * x)


# ---------------------------------------------------------------- cases

def case_hog_waiter(ctx):
    w = ctx.workload("hog_waiter.py", 0)
    run, doc, files = record(ctx, w)
    if doc is None:
        return
    fo = check_folded(ctx, files["folded"], must_have=("gil", "wait", "blame"))
    check_stacks_json(ctx, doc, fo)
    if fo is None:
        return
    hog, waiter = starts("hog ("), starts("waiter (")
    g, gt = fo.share("gil", hog)
    wt, wtt = fo.share("wait", waiter)
    b, bt = fo.share("blame", hog)
    ctx.check("gil_hog", "%s of %d samples" % (pct(g), gt),
              g >= 0.90 and gt > 0, ">=90%")
    ctx.check("wait_waiter", "%s of %.2fs" % (pct(wt), wtt / 1e6),
              wt >= 0.90 and wtt > 0, ">=90%")
    ctx.check("blame_hog", "%s of %.2fs" % (pct(b), bt / 1e6),
              b >= 0.90 and bt > 0, ">=90%")
    # Blame goes to the holder's thread: the one running hog() in gil.
    hog_threads = set(fo.threads_with("gil", hog))
    blamed = fo.threads_with("blame", hog)
    ctx.check("blame_thread", ",".join(sorted(blamed)) or "none",
              blamed and set(blamed) <= hog_threads, "hog's thread")
    waiters = fo.threads_with("wait", waiter)
    ctx.check("waiter_threads", len(waiters), len(waiters) == 2, "==2")


def case_zlib_nogil(ctx):
    w = ctx.workload("zlib_compress.py", 2, 0)
    run, doc, files = record(ctx, w, d=3)
    if doc is None:
        return
    fo = check_folded(ctx, files["folded"], must_have=("nogil",))
    check_stacks_json(ctx, doc, fo)
    if fo is None:
        return
    share, n = fo.share("nogil", starts("compress_loop ("))
    ctx.check("nogil_compress_loop", pct(share), share >= 0.80, ">=80%")
    ctx.check("nogil_samples", n, n > 50, ">50")
    ctx.checks.append(("gil_samples=%d" % fo.total("gil"), True))


def hot_line(script):
    with open(os.path.join(gs.WORKLOADS, script)) as f:
        for no, line in enumerate(f, 1):
            if line.rstrip().endswith("# HOT"):
                return no
    raise CaseError("no '# HOT' marker in %s" % script)


def case_line_numbers(ctx):
    line = hot_line("hot_line.py")
    want = "hot_function (hot_line.py:%d)" % line
    w = ctx.workload("hot_line.py", 0)
    run, doc, files = record(ctx, w)
    if doc is None:
        return
    fo = check_folded(ctx, files["folded"], must_have=("gil",))
    check_stacks_json(ctx, doc, fo)
    if fo is None:
        return
    top = fo.top("gil")
    leaf = top[1][-1] if top else None
    share = top[2] / float(fo.total("gil")) if top else 0.0
    ctx.check("top_gil_leaf", "%r (%s)" % (leaf, pct(share)), leaf == want,
              "==%r" % want)
    jtop = get(doc, "stacks", "gil", "top", 0, "frames", 0)
    ctx.check("json_top_leaf", repr(jtop), jtop == want, "same")


def case_consumers(ctx):
    skip_browser = os.environ.get("GILSCOPE_SKIP_BROWSER") == "1"
    w = ctx.workload("hog_waiter.py", 0)
    run, doc, files = record(ctx, w, trace=True, svg=True)
    if doc is None:
        return
    fo = check_folded(ctx, files["folded"], must_have=("gil", "wait"))
    try:
        with open(files["trace"]) as f:
            tr = json.load(f)
        ok = isinstance(tr, dict) and isinstance(tr.get("traceEvents"), list)
        ctx.check("trace_json", "%d events" % len(tr.get("traceEvents", [])),
                  ok, "parses, has traceEvents")
    except (OSError, ValueError) as e:
        ctx.check("trace_json", "does not parse (%s)" % e, False)
    try:
        root = ET.parse(files["svg"]).getroot()
        ok = root.tag in ("svg", "{http://www.w3.org/2000/svg}svg")
        ctx.check("svg_xml", "<%s> %dKiB" % (root.tag.split("}")[-1],
                  os.path.getsize(files["svg"]) // 1024), ok, "<svg> root")
    except (OSError, ET.ParseError) as e:
        ctx.check("svg_xml", "does not parse (%s)" % e, False)
    if fo is None:
        return
    names = [fo.heaviest_frame("gil", "hog ("),
             fo.heaviest_frame("wait", "waiter (")]
    if None in names:
        ctx.check("frames", names, False, "hog in gil, waiter in wait")
        return
    if skip_browser:
        if not ctx.failed():
            ctx.skip("GILSCOPE_SKIP_BROWSER=1: speedscope and svgcheck not "
                     "run (%s)" % " ".join(t for t, _ in ctx.checks))
        return

    # speedscope's own importers, on the folded file and the trace
    if not os.path.isfile(SPEEDSCOPE):
        ctx.check("speedscope", "%s is missing" % SPEEDSCOPE, False,
                  "present (or GILSCOPE_SKIP_BROWSER=1)")
    else:
        rc, out = run_tool(ctx, ["sh", SPEEDSCOPE, files["folded"],
                                 files["trace"]], timeout=400)
        ctx.check("speedscope", "rc=%s" % rc, rc == 0, "imports both")
        if rc != 0 or ctx.verbose:
            ctx.detail("speedscope:\n" + gs.tail(out, 30))

    # the flame graph in headless Chromium
    png = ctx.path("flame.png")
    if not os.path.isfile(SVGCHECK):
        ctx.check("svgcheck", "%s is missing" % SVGCHECK, False,
                  "present (or GILSCOPE_SKIP_BROWSER=1)")
        return
    rc, out = run_tool(ctx, ["sh", SVGCHECK, files["svg"], png] + names,
                       timeout=400)
    ctx.check("svgcheck", "rc=%s names=%s" % (rc, "|".join(names)), rc == 0,
              "frames visible, zoom, search")
    if rc != 0 or ctx.verbose:
        ctx.detail("svgcheck:\n" + gs.tail(out, 30))
    if os.path.isfile(png):
        ctx.checks.append(("screenshot=%s" % png, True))


def trace_problems(events, pid):
    """Figures and problems of a Chrome trace's events (see case)."""
    bad = []
    spans = {}        # tid -> [(ts, end, name)] in file order
    last = {}         # (ph, tid or counter name) -> last ts
    nonmono = 0
    forced = 0
    names = set()
    for e in events:
        ph = e.get("ph")
        if ph == "M":
            continue
        if e.get("pid") != pid:
            bad.append("event with pid %r: %r" % (e.get("pid"), str(e)[:120]))
            continue
        ts = e.get("ts")
        if not gs._num(ts):
            bad.append("event without ts: %r" % str(e)[:120])
            continue
        key = (ph, e.get("name") if ph == "C" else e.get("tid"))
        if ts < last.get(key, float("-inf")):
            nonmono += 1
        last[key] = ts
        if ph == "X":
            dur = e.get("dur")
            if not gs._num(dur) or dur < 0:
                bad.append("X without dur >= 0: %r" % str(e)[:120])
                continue
            names.add(e.get("name"))
            spans.setdefault(e.get("tid"), []).append((ts, ts + dur,
                                                       e.get("name")))
        elif ph == "i" and e.get("name") == "forced switch":
            forced += 1
    unknown = names - SPAN_NAMES
    if unknown:
        bad.append("unknown span names %s" % sorted(unknown))
    if nonmono:
        bad.append("%d timestamp(s) go back within a track" % nonmono)
    # per thread: sorted, no overlap beyond 1 us of rounding
    overlaps = 0
    worst = (0.0, None)
    for tid, sp in spans.items():
        for a, b in zip(sp, sp[1:]):
            if b[0] < a[0] or b[0] < a[1] - 1.0:
                overlaps += 1
                if a[1] - b[0] > worst[0]:
                    worst = (a[1] - b[0], (tid, a, b))
    if overlaps:
        bad.append("%d overlapping/unsorted span pair(s) within a thread; "
                   "worst %.1fus: %r" % (overlaps, worst[0], worst[1]))
    # GIL holding is exclusive across threads (2 us slack)
    held = sorted((ts, end, tid) for tid, sp in spans.items()
                  for ts, end, name in sp if name.startswith("holding GIL"))
    shared = 0
    worst = (0.0, None)
    max_end, max_tid, max_span = float("-inf"), None, None
    for ts, end, tid in held:
        if tid != max_tid and ts < max_end - 2.0:
            shared += 1
            if max_end - ts > worst[0]:
                worst = (max_end - ts, (max_span, (ts, end, tid)))
        if end > max_end:
            max_end, max_tid, max_span = end, tid, (ts, end, tid)
    if shared:
        bad.append("%d 'holding GIL' span(s) overlap another thread's; "
                   "worst %.1fus: %r" % (shared, worst[0], worst[1]))
    figs = {"spans": sum(len(s) for s in spans.values()),
            "held_spans": len(held), "threads": len(spans),
            "forced": forced, "overlaps": overlaps, "shared": shared,
            "nonmono": nonmono}
    return figs, bad


def case_trace_sanity(ctx):
    w = ctx.workload("hog_waiter.py", 0)
    run, doc, files = record(ctx, w, folded=False, trace=True)
    if doc is None:
        return
    try:
        with open(files["trace"]) as f:
            tr = json.load(f)
    except (OSError, ValueError) as e:
        ctx.check("trace_json", "does not parse (%s)" % e, False)
        return
    events = tr.get("traceEvents") if isinstance(tr, dict) else None
    if not isinstance(events, list):
        ctx.check("trace_json", "no traceEvents list", False)
        return
    figs, bad = trace_problems(events, w.pid)
    ctx.check("spans", "%d in %d threads" % (figs["spans"], figs["threads"]),
              figs["spans"] > 0 and figs["threads"] >= 3, ">0 in >=3 threads")
    ctx.check("thread_overlaps", figs["overlaps"], figs["overlaps"] == 0,
              "==0 (1us slack)")
    ctx.check("monotonic", "%d back" % figs["nonmono"], figs["nonmono"] == 0,
              "per track")
    ctx.check("gil_exclusive", "%d shared of %d holds" % (
        figs["shared"], figs["held_spans"]), figs["shared"] == 0,
        "==0 (2us slack)")
    ctx.check("forced_switch", figs["forced"], figs["forced"] >= 1, ">=1")
    lr = get(tr, "otherData", "lost_records")
    jl = get(doc, "lost", "trace_records")
    ctx.check("lost_records", "%s json=%s" % (lr, jl),
              gs._int(lr) and (lr == 0 or lr == jl), "0 or == lost.trace_records")
    if bad:
        ctx.detail("trace %s:\n  %s" % (files["trace"], "\n  ".join(bad)))


def case_max_depth(ctx, depth=100, limit=8):
    w = ctx.workload("deep_stack.py", depth, 0)
    run, doc, files = record(ctx, w, extra=["--max-depth", limit])
    if doc is None:
        return
    fo = check_folded(ctx, files["folded"], must_have=("gil",))
    check_stacks_json(ctx, doc, fo)
    if fo is None:
        return
    deepest = 0
    over = marked = deep_unmarked = 0
    for v in VIEWS:
        for th, fr, wgt in fo.stacks[v]:
            py = [f for f in fr if f != TRUNC]
            deepest = max(deepest, len(py))
            over += len(py) > limit
            marked += fr[-1] == TRUNC
            if any(f.startswith("descend (") for f in fr) and fr[-1] != TRUNC:
                deep_unmarked += 1
    ctx.check("max_frames", deepest, 0 < deepest <= limit and not over,
              "<=%d" % limit)
    ctx.check("truncated_marked", "%d stacks" % marked, marked > 0
              and not deep_unmarked, "every deep stack ends in %s" % TRUNC)
    tr = get(doc, "lost", "stacks_truncated")
    ctx.check("lost.stacks_truncated", tr, gs._int(tr) and tr > 0, ">0")
    top = fo.top("gil")
    if top:
        kept = [f.split(" (")[0] for f in top[1] if f != TRUNC]
        ctx.checks.append(("top_gil=%s" % ";".join(
            "%s*%d" % (n, kept.count(n)) for n in sorted(set(kept))), True))


def case_launch_exit(ctx, seconds=1.5):
    fp = ctx.path("stacks.folded")
    jp = ctx.path("report.json")
    t0 = time.monotonic()
    run = ctx.run_gilscope(["record", "--folded", fp, "--json", jp, "--"]
                           + ctx.command("short_lived.py", [seconds]),
                           timeout=seconds + GS_SLACK, json_path=jp)
    doc = report_ok(ctx, run, launched=True)
    if doc is None:
        return
    code = get(doc, "target", "exit_code")
    ctx.check("exit_code", code, code == 0, "==0 (exited before the report)")
    fo = check_folded(ctx, fp, must_have=("gil",))
    check_stacks_json(ctx, doc, fo)
    if fo is None:
        return
    unsym = sum(1 for v in VIEWS for _, fr, _ in fo.stacks[v]
                for f in fr if f.startswith("<code 0x"))
    ctx.check("unsymbolized", unsym, unsym == 0, "no <code 0x...> frames")
    share, n = fo.share("gil", starts("busy_until (short_lived.py:"))
    top = fo.top("gil")
    if top:
        ctx.detail("top gil stack (%d samples): %s" % (top[2], ";".join(
            top[1])))
    # (the rest is interpreter start-up, much of it on a busy machine)
    ctx.check("gil_busy_until", "%s of %d samples" % (pct(share), n),
              share >= 0.50 and n > 0, ">=50%")
    ctx.checks.append(("took=%.1fs" % (time.monotonic() - t0), True))


# ---------------------------------------------------------------- pprof

def go_pprof(ctx, argv, timeout=120):
    """`go tool pprof ARGV` offline: HOME, GOCACHE and GOPATH in the
    case's scratch directory (run from there: no go.mod around), no module
    proxy, no toolchain download. (rc, stdout, stderr); rc None if go is
    missing."""
    go = shutil.which("go")
    if not go:
        return None, "", "no go in PATH (Debian: apt-get install golang-go)"
    home = ctx.path("gohome")
    os.makedirs(home)
    env = dict(os.environ, HOME=home, GOCACHE=os.path.join(home, "cache"),
               GOPATH=os.path.join(home, "go"), GOPROXY="off",
               GOTOOLCHAIN="local", GOFLAGS="-mod=mod", PPROF_TMPDIR=home)
    p = ctx.spawn([go, "tool", "pprof"] + [str(a) for a in argv], cwd=home,
                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                  stdin=subprocess.DEVNULL)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        gs.kill_group(p)
        out, err = p.communicate()
        return -1, out.decode("utf-8", "replace"), \
            err.decode("utf-8", "replace") + "\n(timed out)"
    return p.returncode, out.decode("utf-8", "replace"), \
        err.decode("utf-8", "replace")


RAW_VALUES = re.compile(r"^\s*((?:-?\d+\s+)*-?\d+): ?(.*)$")
RAW_LOCATION = re.compile(r"^\s*(\d+): 0x[0-9a-f]+ (?:M=\d+ )?(?:\[F\] )?(\S+)")


def parse_pprof_raw(text):
    """`pprof -raw` (the profile's String()): sample types as (type, unit),
    samples as {values, locs (leaf first), thread, pid}, the function of
    each location id, and problems."""
    types, samples, funcs, bad = [], [], {}, []
    lines = text.splitlines()
    try:
        i = lines.index("Samples:")
    except ValueError:
        return types, samples, funcs, ["no 'Samples:' line"]
    for t in lines[i + 1].split():
        typ, _, unit = t.partition("/")
        types.append((typ, unit.replace("[dflt]", "")))
    section = "samples"
    for line in lines[i + 2:]:
        if line.startswith("Locations"):
            section = "locations"
            continue
        if line.startswith("Mappings"):
            break
        if section == "locations":
            m = RAW_LOCATION.match(line)
            if m:
                funcs[int(m.group(1))] = m.group(2)
            continue
        m = RAW_VALUES.match(line)
        if m:
            samples.append({"values": [int(v) for v in m.group(1).split()],
                            "locs": [int(x) for x in m.group(2).split()],
                            "thread": None, "pid": None})
            continue
        lab = line.strip()
        if not samples or not lab:
            bad.append("unexpected line %r" % line[:120])
        elif lab.startswith("thread:[") and lab.endswith("]"):
            samples[-1]["thread"] = lab[len("thread:["):-1]
        elif re.match(r"^pid:\[\d+\]$", lab):
            samples[-1]["pid"] = int(lab[len("pid:["):-1])
        else:
            bad.append("unexpected label line %r" % line[:120])
    return types, samples, funcs, bad


def case_pprof(ctx):
    w = ctx.workload("hog_waiter.py", 0)
    run, doc, files = record(ctx, w, pprof=True)
    if doc is None:
        return
    fo = check_folded(ctx, files["folded"], must_have=("gil", "wait", "blame"))
    if fo is None:
        return
    with open(files["pprof"], "rb") as f:
        magic = f.read(2)
    ctx.check("gzip", magic.hex(), magic == b"\x1f\x8b", "1f8b")
    rc, out, err = go_pprof(ctx, ["-raw", files["pprof"]])
    # (nothing on stderr: no attempt to find binaries to symbolize with)
    ctx.check("go_pprof", "rc=%s stderr=%dB" % (rc, len(err.strip())),
              rc == 0 and not err.strip(), "reads it, says nothing")
    if rc != 0 or err.strip():
        ctx.detail("go tool pprof -raw %s:\n%s" % (files["pprof"],
                                                   gs.tail(err + out, 30)))
        return
    raw = ctx.path("pprof.raw.txt")
    with open(raw, "w") as f:
        f.write(out)
    ctx.detail("go tool pprof -raw: %s" % raw)
    types, samples, funcs, bad = parse_pprof_raw(out)
    want_types = [(v, "samples" if v in ("gil", "nogil") else "nanoseconds")
                  for v in VIEWS]
    ctx.check("sample_types", " ".join("%s/%s" % t for t in types),
              types == want_types, "wait,blame ns; gil,nogil samples")
    if bad:
        ctx.check("raw_parse", "%d problem(s)" % len(bad), False)
        ctx.detail("pprof -raw:\n  " + "\n  ".join(bad[:10]))
    if types != want_types:
        return
    # totals per sample type against the folded file (us -> ns)
    got = [sum(s["values"][k] for s in samples
               if len(s["values"]) == len(VIEWS)) for k in range(len(VIEWS))]
    want = [fo.total(v) * (1000 if u == "nanoseconds" else 1)
            for v, (_, u) in zip(VIEWS, types)]
    ctx.check("totals", " ".join("%s=%d" % (v, g) for v, g in zip(VIEWS, got)),
              got == want and all(got[k] for k in (0, 1, 3)),
              "== folded x1000/x1 (%s)" % " ".join(
                  "%s=%d" % (v, t) for v, t in zip(VIEWS, want)))
    nvals = set(len(s["values"]) for s in samples)
    # (pprof merges samples of equal stacks and labels across types)
    ctx.check("values", "%d samples, %s per sample" % (
        len(samples), ",".join(map(str, sorted(nvals)))), nvals == {4}, "4")
    # labels: each sample a thread (the folded file's threads) and the pid
    threads = set(s["thread"] for s in samples)
    folded_threads = set(th for v in VIEWS for th, _, _ in fo.stacks[v])
    ctx.check("thread_label", "%d threads" % len(threads - {None}),
              None not in threads and threads == folded_threads,
              "every sample, == folded threads")
    pids = set(s["pid"] for s in samples)
    ctx.check("pid_label", ",".join(map(str, pids)), pids == {w.pid},
              "==%d" % w.pid)
    # leaf first: the gil weight on samples whose first location is hog()
    # is the folded file's on stacks whose last frame is hog's
    hogw = sum(s["values"][1] for s in samples
               if len(s["values"]) == 4 and s["locs"]
               and funcs.get(s["locs"][0]) == "hog")
    fhog = sum(wt for _, fr, wt in fo.stacks["gil"] if fr[-1].startswith("hog ("))
    ctx.check("gil_leaf_hog", hogw, hogw == fhog and hogw > 0,
              "== folded's %d, >0" % fhog)


# ---------------------------------------------------------------- registry

CASES = [
    Case("stacks hog/waiter", case_hog_waiter, retries=1),
    Case("stacks zlib nogil", case_zlib_nogil, retries=1),
    Case("stacks line numbers", case_line_numbers, retries=1),
    # `versions`: the interpreters a case runs on (the runner falls back
    # to the newest one if none is there)
    Case("stacks consumers", case_consumers, versions=("3.11",), budget=900),
    Case("stacks trace sanity", case_trace_sanity, versions=("3.8", "3.11")),
    Case("stacks max-depth", case_max_depth),
    Case("stacks launch+exit", case_launch_exit),
    Case("stacks pprof", case_pprof, retries=1, budget=300),
]
