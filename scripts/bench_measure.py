#!/usr/bin/env python3
"""Whole-process measurements for scripts/bench.sh, recorded in a JSON file.

Subcommands (each adds one entry, by name, to --results):

  time     run a command several times: wall time, peak RSS (ru_maxrss of the
           child, i.e. its VmHWM) and, optionally, a number parsed from its
           output (e.g. the in-process seconds `govdeck sync` prints)
  console  the real console in a pseudo-terminal at 120x40 against a warm
           cache: process start to the first full frame, the first search,
           steady RSS, bytes per cursor move, idle output and CPU
  cold     the console in a pseudo-terminal against an empty cache: peak RSS
           while its background sync fills the cache
  put      record a value measured elsewhere (JSON)
  report   print the table of medians against the targets

Only the standard library, plus `pyte` (a terminal emulator, from PyPI) for
reading the console's screen.
"""

import argparse
import fcntl
import json
import os
import pty
import re
import resource
import select
import shlex
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time

WIDTH, HEIGHT = 120, 40
DOWN = b"\x1b[B"


# ---------------------------------------------------------------- results


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def save(path, name, entry):
    # How busy the machine was (1, 5, 15 min load averages) when this was recorded.
    with open("/proc/loadavg") as f:
        entry.setdefault("loadavg", f.read().split()[:3])
    results = load(path)
    results[name] = entry
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def pct(values, p):
    """Nearest-rank percentile."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    rank = max(1, min(len(values), int(-(-p * len(values) // 100))))
    return values[rank - 1]


def parse_env(pairs):
    env = dict(os.environ)
    for pair in pairs or []:
        key, _, value = pair.partition("=")
        env[key] = value
    return env


# ---------------------------------------------------------------- time


def run_once(cmd, env, stdin_path, stdout_path, before):
    if before:
        subprocess.run(before, shell=True, check=True, env=env)
    with (
        open(stdin_path or os.devnull, "rb") as stdin,
        open(stdout_path or os.devnull, "wb") as sink,
        tempfile.TemporaryFile() as err,
    ):
        # Without --stdout, stdout goes to the same file as stderr, to be parsed.
        out = sink if stdout_path else err
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=err, env=env)
        # wait4 gives this child's own rusage (ru_maxrss: its peak RSS, in KiB).
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read()[-65536:].decode("utf-8", "replace")
    return wall, usage.ru_maxrss / 1024.0, proc.returncode, text


def cmd_time(args):
    env = parse_env(args.env)
    runs = []
    for i in range(args.warmup + args.runs):
        wall, rss_mib, code, text = run_once(args.cmd, env, args.stdin, args.stdout, args.before)
        if code != 0:
            sys.exit(f"bench_measure: {args.name}: exit {code}: {' '.join(args.cmd)}\n{text[-2000:]}")
        parsed = None
        if args.parse:
            m = re.search(args.parse, text)
            parsed = float(m.group(1)) if m else None
        if i >= args.warmup:
            runs.append({"wall_s": wall, "rss_mib": rss_mib, "parsed": parsed})
        tag = "warmup" if i < args.warmup else f"run {i - args.warmup + 1}/{args.runs}"
        extra = f", parsed {parsed}" if parsed is not None else ""
        print(f"  {args.name} {tag}: {wall:.3f} s, peak RSS {rss_mib:.0f} MiB{extra}", flush=True)
    entry = {
        "command": args.label or " ".join(shlex.quote(c) for c in args.cmd),
        "runs": runs,
        "median_wall_s": median([r["wall_s"] for r in runs]),
        "median_rss_mib": median([r["rss_mib"] for r in runs]),
        "max_rss_mib": max(r["rss_mib"] for r in runs),
        "median_parsed": median([r["parsed"] for r in runs]),
    }
    save(args.results, args.name, entry)


# ---------------------------------------------------------------- pty


def screen_class():
    try:
        import pyte  # noqa: F401
    except ImportError:
        sys.exit("bench_measure: the console measurements need pyte: python3 -m pip install pyte")
    import pyte

    return pyte


class Console:
    """The console in a pseudo-terminal, its output fed to a pyte screen."""

    def __init__(self, cmd, env):
        pyte = screen_class()
        self.screen = pyte.Screen(WIDTH, HEIGHT)
        self.stream = pyte.ByteStream(self.screen)
        self.log = []  # (time, bytes)
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: size the terminal, then become the console
            try:
                fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))
                os.execvpe(cmd[0], cmd, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd

    def read(self, timeout):
        """Reads what arrives within `timeout` seconds; returns the bytes."""
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not ready:
            return b""
        try:
            data = os.read(self.fd, 1 << 16)
        except OSError:
            raise EOFError("the console exited")
        if not data:
            raise EOFError("the console exited")
        self.log.append((time.perf_counter(), data))
        self.stream.feed(data)
        return data

    def until(self, predicate, timeout, what):
        deadline = time.perf_counter() + timeout
        while not predicate():
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no {what} within {timeout} s; screen:\n" + "\n".join(self.screen.display))
            self.read(min(left, 0.05))
        return time.perf_counter()

    def quiet(self, seconds, limit=10.0):
        """Reads until nothing arrived for `seconds`; returns (bytes, first byte time)."""
        total, first = 0, None
        deadline = time.perf_counter() + limit
        last = time.perf_counter()
        while time.perf_counter() - last < seconds and time.perf_counter() < deadline:
            data = self.read(seconds - (time.perf_counter() - last))
            if data:
                total += len(data)
                first = first or time.perf_counter()
                last = time.perf_counter()
        return total, first

    def count_for(self, seconds):
        total = 0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            total += len(self.read(end - time.perf_counter()))
        return total

    def send(self, data):
        os.write(self.fd, data)

    def text(self):
        return "\n".join(self.screen.display)

    def status(self, key):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0  # kB → MiB
        return None

    def cpu_seconds(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

    def stop(self):
        try:
            self.send(b"q")
            deadline = time.perf_counter() + 5
            while time.perf_counter() < deadline:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    break
                try:
                    self.read(0.05)
                except EOFError:
                    pass
            else:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        except (OSError, ChildProcessError):
            pass
        finally:
            try:
                os.close(self.fd)
            except OSError:
                pass


def first_frame_bytes_at(log):
    """When the first bytes of the first frame arrived: the first cursor move
    after the switch to the alternate screen (ratatui starts a frame with one)."""
    seen = b""
    for at, data in log:
        seen += data
        i = seen.find(b"\x1b[?1049h")
        if i >= 0 and re.search(rb"\x1b\[\d+;\d+H", seen[i:]):
            return at
    return None


def first_frame_done(console):
    lines = console.screen.display
    return "Inventory ·" in console.text() and lines[HEIGHT - 1].strip() != "" and lines[HEIGHT - 2].strip() != ""


TITLE = re.compile(r"Inventory · (\d+) of (\d+) apps")


def filtered(console):
    """A filter answered over the whole list (not the first page shown
    while the rest loads)."""
    text = console.text()
    m = TITLE.search(text)
    return m is not None and m.group(1) != m.group(2) and "loading" not in text


def selected_row(console):
    """The screen row of the selection marker of the inventory table."""
    for row, line in enumerate(console.screen.display):
        if "▶" in line[:4]:
            return row
    return None


def sync_settled(console):
    text = console.text()
    return "synced" in text and "syncing" not in text


def cmd_console(args):
    env = parse_env(args.env)
    firsts, frames, searches = [], [], []
    detail = None
    for run in range(args.runs):
        console = Console(args.cmd, env)
        try:
            first_frame = console.until(lambda: first_frame_done(console), 60, "first frame")
            alt = first_frame_bytes_at(console.log)
            frames.append((first_frame - console.started) * 1000)
            firsts.append(((alt or first_frame) - console.started) * 1000)
            # Type a filter the moment the first frame is up.
            console.send(b"/s")
            searched = console.until(lambda: filtered(console), 60, "filtered frame")
            searches.append((searched - console.started) * 1000)
            if run == args.runs - 1:
                detail = measure_steady(console, args)
        finally:
            console.stop()
        print(
            f"  console run {run + 1}/{args.runs}: first frame {frames[-1]:.1f} ms "
            f"(first bytes {firsts[-1]:.1f} ms), first search shown {searches[-1]:.1f} ms",
            flush=True,
        )
    entry = {
        "command": args.label or " ".join(args.cmd),
        "first_frame_ms": frames,
        "first_bytes_ms": firsts,
        "first_search_ms": searches,
        "first_frame_p50_ms": pct(frames, 50),
        "first_frame_p95_ms": pct(frames, 95),
        "first_search_p50_ms": pct(searches, 50),
        "first_search_p95_ms": pct(searches, 95),
    }
    entry.update(detail or {})
    save(args.results, args.name, entry)


def measure_steady(console, args):
    """After the first search: back to the full list, wait for the start-up
    sync to settle, then RSS, idle output and CPU, and bytes per cursor move."""
    console.send(b"\x1b")  # Esc clears the filter
    console.until(lambda: not filtered(console), 30, "cleared filter")
    console.until(lambda: sync_settled(console), 120, "settled sync")
    console.quiet(0.5)
    settled = time.perf_counter() - console.started
    rss = []
    for _ in range(5):
        rss.append(console.status("VmRSS"))
        console.count_for(0.2)
    hwm = console.status("VmHWM")
    # Idle: no key for 5 s (the periodic sync is 15 s after the start-up one).
    cpu_before, wall_before = console.cpu_seconds(), time.perf_counter()
    idle_bytes = console.count_for(args.idle)
    cpu_idle = (console.cpu_seconds() - cpu_before) / (time.perf_counter() - wall_before) * 100
    # One Down at a time: the bytes written until the moved selection shows
    # and the output is quiet again, and the time from the key to that screen.
    moves, latencies = [], []
    for _ in range(args.moves):
        before = selected_row(console)
        start = len(console.log)
        sent = time.perf_counter()
        console.send(DOWN)
        shown = console.until(lambda: selected_row(console) != before, 5, "moved selection")
        console.quiet(0.25)
        moves.append(sum(len(data) for _, data in console.log[start:]))
        latencies.append((shown - sent) * 1000)
    return {
        "settled_s": settled,
        "steady_rss_mib": median(rss),
        "peak_rss_mib": hwm,
        "idle_seconds": args.idle,
        "idle_bytes": idle_bytes,
        "idle_cpu_pct": cpu_idle,
        "cursor_move_bytes": moves,
        "cursor_move_bytes_median": median(moves),
        "cursor_move_bytes_max": max(moves),
        "cursor_move_key_to_screen_ms": latencies,
        "cursor_move_key_to_screen_p50_ms": pct(latencies, 50),
        "cursor_move_key_to_screen_p95_ms": pct(latencies, 95),
    }


def cmd_cold(args):
    """The console against an empty cache: peak RSS while it syncs everything."""
    env = parse_env(args.env)
    console = Console(args.cmd, env)
    try:
        console.until(lambda: first_frame_done(console), 60, "first frame")
        started = time.perf_counter()
        peak, done_at = 0.0, None
        deadline = started + args.timeout
        while time.perf_counter() < deadline:
            console.read(0.2)
            peak = max(peak, console.status("VmRSS") or 0)
            if done_at is None and synced(args.cache_glob):
                done_at = time.perf_counter()
            if done_at is not None and time.perf_counter() - done_at > 3:
                break
        entry = {
            "command": args.label or " ".join(args.cmd),
            "sync_s": (done_at - started) if done_at else None,
            "peak_rss_mib": console.status("VmHWM"),
            "sampled_peak_rss_mib": peak,
            "after_sync_rss_mib": console.status("VmRSS"),
        }
    finally:
        console.stop()
    print(f"  cold console: {entry}", flush=True)
    save(args.results, args.name, entry)


def synced(cache_glob):
    import glob

    for path in glob.glob(cache_glob):
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
            row = conn.execute("SELECT value FROM meta WHERE key = 'last_sync_at'").fetchone()
            conn.close()
            if row:
                return True
        except sqlite3.Error:
            pass
    return False


# ---------------------------------------------------------------- divan

UNITS = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1000.0}
DIVAN_ROW = re.compile(r"^(?P<tree>[│ ]*)[├╰]─ (?P<name>.+?)(?P<rest>(?:\s{2,}.*)?)$")
TIME = re.compile(r"([0-9.]+) (ns|µs|us|ms|s)\b")


def cmd_divan(args):
    """Medians from divan's output: one entry per bench, `bench_<name>[_<arg>]`."""
    text = open(args.log, encoding="utf-8", errors="replace").read()
    stack = []
    count = 0
    for line in text.splitlines():
        m = DIVAN_ROW.match(line)
        if not m:
            continue
        depth = len(m.group("tree")) // 3
        stack = stack[:depth] + [m.group("name").strip().replace(" ", "_")]
        times = TIME.findall(m.group("rest"))
        if len(times) < 4:
            continue  # a group heading (the args follow)
        fastest, slowest, med, mean = [float(v) * UNITS[u] for v, u in times[:4]]
        name = "bench_" + "_".join(stack)
        save(args.results, name, {"median_ms": med, "fastest_ms": fastest, "slowest_ms": slowest, "mean_ms": mean,
                                  "command": f"cargo bench --bench {args.bench}"})
        count += 1
    print(f"  divan: {count} medians from {args.log}", flush=True)


# ---------------------------------------------------------------- report


def cmd_put(args):
    save(args.results, args.name, json.loads(args.json))


def fmt(value, unit, digits=None):
    if value is None:
        return "—"
    if digits is None:
        digits = 0 if abs(value) >= 100 else (1 if abs(value) >= 10 else 2)
    return f"{value:.{digits}f} {unit}".strip()


def verdict(value, target, lower_is_better=True):
    if value is None or target is None:
        return "—", ""
    if target == 0:
        return ("meets" if value == 0 else "**MISSES**"), "—"
    ratio = value / target if target else float("inf")
    ok = value <= target if lower_is_better else value >= target
    return ("meets" if ok else "**MISSES**"), f"{ratio:.2f}×"


def cmd_report(args):
    r = load(args.results)
    rows = []

    def add(what, value, unit, target, target_text, command, note=""):
        status, ratio = verdict(value, target)
        rows.append((what, fmt(value, unit), target_text, ratio, status, command, note))

    def get(name, key):
        return r.get(name, {}).get(key)

    k = r.get("keystrokes", {})
    stats = {s["name"]: s for s in k.get("stats", [])}
    every = stats.get("console: every keystroke above", {})
    rank = stats.get("search::rank, any prefix, all apps", {})
    kcmd = "cargo bench --bench keystrokes"
    add("filter keystroke in the console (key + draw), p50", every.get("p50_ms"), "ms", 8, "≤ 8 ms", kcmd)
    add("filter keystroke in the console (key + draw), p95", every.get("p95_ms"), "ms", 25, "≤ 25 ms", kcmd)
    add("search::rank alone over all apps, p50", rank.get("p50_ms"), "ms", 8, "≤ 8 ms", kcmd)
    add("search::rank alone over all apps, p95", rank.get("p95_ms"), "ms", 25, "≤ 25 ms", kcmd)
    for q in r.get("fzf_queries", {}).get("queries", []):
        g, f = get(f"apps_filter_{q}", "median_wall_s"), get(f"fzf_filter_{q}", "median_wall_s")
        add(
            f"`govdeck apps --filter {q}` (whole process)",
            g * 1000 if g is not None else None,
            "ms",
            f * 1000 if f is not None else None,
            f"≤ fzf: {fmt(f * 1000 if f else None, 'ms')}",
            r.get(f"apps_filter_{q}", {}).get("command", ""),
            "vs " + r.get(f"fzf_filter_{q}", {}).get("command", ""),
        )
    c = r.get("console", {})
    ccmd = "scripts/bench_measure.py console (pty, 120x40)"
    add("first frame, warm cache (process start → frame drawn), p50", c.get("first_frame_p50_ms"), "ms", None, "(info)", ccmd)
    add("first frame, warm cache (process start → frame drawn), p95", c.get("first_frame_p95_ms"), "ms", 50, "≤ 50 ms", ccmd)
    add("list + search index ready (start → `/s` answered), p95", c.get("first_search_p95_ms"), "ms", 250, "≤ 250 ms", ccmd,
        "keys sent the moment the first frame shows")
    s = r.get("full_sync", {})
    add("full initial sync, whole process (wall)", s.get("median_wall_s"), "s", 8, "≤ 8 s", s.get("command", ""))
    add("full initial sync, in process (as printed)", s.get("median_parsed"), "s", 8, "≤ 8 s", s.get("command", ""))
    fl = r.get("sqlite_floor", {})
    add("floor: sqlite3 shell loads the same rows (.dump)", fl.get("median_wall_s"), "s", None, "(floor)", fl.get("command", ""))
    n = r.get("nochange_sync", {})
    add("no-change sync, whole process (wall)", n.get("median_wall_s") * 1000 if n.get("median_wall_s") else None, "ms",
        None, "(≤ 5 ms is in process)", n.get("command", ""))
    nb = r.get("bench_sync_no_change", {}).get("median_ms")
    add("no-change sync, in process (divan median)", nb, "ms", 5, "≤ 5 ms", "cargo bench --bench cache -- sync_no_change")
    add("console RSS, steady, warm cache, idle", c.get("steady_rss_mib"), "MiB", 100, "≤ 100 MiB", ccmd)
    add("console peak RSS (VmHWM), warm start", c.get("peak_rss_mib"), "MiB", None, "(info)", ccmd)
    cold = r.get("cold_console", {})
    add("full initial sync in the console (cold cache, first frame → synced)", cold.get("sync_s"), "s", 8, "≤ 8 s",
        "scripts/bench_measure.py cold (pty)")
    add("console peak RSS during a full sync (cold cache)", cold.get("peak_rss_mib"), "MiB", 200, "≤ 200 MiB",
        "scripts/bench_measure.py cold (pty)")
    add("`govdeck sync` peak RSS during a full sync", s.get("max_rss_mib"), "MiB", 200, "≤ 200 MiB", s.get("command", ""))
    add("bytes for one cursor move (pty, 120x40), median", c.get("cursor_move_bytes_median"), "B", 1024, "≤ 1 KiB", ccmd)
    add("bytes for one cursor move (pty, 120x40), max", c.get("cursor_move_bytes_max"), "B", 1024, "≤ 1 KiB", ccmd)
    add("cursor move: key → moved selection on screen (pty), p50", c.get("cursor_move_key_to_screen_p50_ms"), "ms",
        None, "(info)", ccmd)
    add("cursor move: key → moved selection on screen (pty), p95", c.get("cursor_move_key_to_screen_p95_ms"), "ms",
        None, "(info)", ccmd)
    add(f"idle output over {c.get('idle_seconds', 5)} s", c.get("idle_bytes"), "B", 0, "none", ccmd,
        "no key, no sync in the window")
    add(f"idle CPU over {c.get('idle_seconds', 5)} s", c.get("idle_cpu_pct"), "%", 1, "~0 %", ccmd)
    kb = r.get("bench_kpis", {}).get("median_ms")
    add("KPIs over all events (SQL aggregate + compute), divan median", kb, "ms", 100, "≤ 100 ms",
        "cargo bench --bench cache -- kpis")
    mcmd = "cargo bench --bench merkle"

    def us(name):
        ms = r.get(name, {}).get("median_ms")
        return ms * 1000 if ms is not None else None

    ip, rd = us("bench_inclusion_proof"), us("bench_anchor_read_one_event")
    add("inclusion proof from the stored tree (divan median)", ip, "µs", 1000, "≤ 1 ms", mcmd,
        f"anchor: one event read by seq {fmt(rd, 'µs')}")
    add("consistency proof from the stored tree (divan median)", us("bench_consistency_proof"), "µs", None, "(info)",
        mcmd)
    at, ac = us("bench_append_with_tree"), us("bench_anchor_append_chain_only")
    add("append one event with the tree (divan median)", at, "µs", None, "(info)", mcmd,
        f"anchor: chain only {fmt(ac, 'µs')}" + (f", ratio {at / ac:.2f}×" if at and ac else ""))
    v = r.get("verify", {})
    add("`govdeck audit verify --db` (wall)", v.get("median_wall_s"), "s", 3, "≤ 3 s", v.get("command", ""))
    sd = r.get("seed", {})
    m = r.get("machine", {})
    add(f"`govdeck seed` {m.get('apps')} apps / {m.get('events')} events (wall)", sd.get("median_wall_s"), "s", None, "(info)", sd.get("command", ""))
    load_ = r.get("load", {})
    decide = (load_.get("calls") or {}).get("decide", {})
    if load_:
        add("server: decision p99 under 50 clients", decide.get("p99_ms"), "ms", 50, "≤ 50 ms", load_.get("command", ""))
        add("server: errors under 50 clients", load_.get("errors"), "", 0, "0", load_.get("command", ""))
    else:
        rows.append(("server: 50 clients", "not measured", "p99 ≤ 50 ms, 0 errors", "", "", "", r.get("load_note", {}).get("note", "")))

    print("| measure | median | target | ratio | verdict | command |")
    print("|---|---|---|---|---|---|")
    for what, value, target, ratio, status, command, note in rows:
        cmd = f"`{command}`" if command else ""
        if note:
            cmd += f" ({note})"
        print(f"| {what} | {value} | {target} | {ratio} | {status} | {cmd} |")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", required=True)
    sub = p.add_subparsers(dest="sub", required=True)

    t = sub.add_parser("time")
    t.add_argument("--name", required=True)
    t.add_argument("--runs", type=int, default=5)
    t.add_argument("--warmup", type=int, default=0)
    t.add_argument("--env", action="append")
    t.add_argument("--stdin")
    t.add_argument("--stdout", help="file for the command's stdout (default: read and kept for --parse)")
    t.add_argument("--parse", help="regex whose group 1 is a number in the output")
    t.add_argument("--before", help="shell command run (untimed) before each run")
    t.add_argument("--label", help="the command as shown in the report")
    t.add_argument("cmd", nargs=argparse.REMAINDER)
    t.set_defaults(func=cmd_time)

    c = sub.add_parser("console")
    c.add_argument("--name", default="console")
    c.add_argument("--runs", type=int, default=10)
    c.add_argument("--idle", type=float, default=5.0)
    c.add_argument("--moves", type=int, default=10)
    c.add_argument("--env", action="append")
    c.add_argument("--label")
    c.add_argument("cmd", nargs=argparse.REMAINDER)
    c.set_defaults(func=cmd_console)

    d = sub.add_parser("cold")
    d.add_argument("--name", default="cold_console")
    d.add_argument("--env", action="append")
    d.add_argument("--cache-glob", required=True)
    d.add_argument("--timeout", type=float, default=300)
    d.add_argument("--label")
    d.add_argument("cmd", nargs=argparse.REMAINDER)
    d.set_defaults(func=cmd_cold)

    u = sub.add_parser("put")
    u.add_argument("--name", required=True)
    u.add_argument("json")
    u.set_defaults(func=cmd_put)

    v = sub.add_parser("divan")
    v.add_argument("--log", required=True)
    v.add_argument("--bench", required=True)
    v.set_defaults(func=cmd_divan)

    r = sub.add_parser("report")
    r.set_defaults(func=cmd_report)

    args = p.parse_args()
    if getattr(args, "cmd", None) and args.cmd[0] == "--":
        args.cmd = args.cmd[1:]
    args.func(args)


if __name__ == "__main__":
    main()
