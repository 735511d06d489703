"""Figures of the terminal benchmark, the goal table of issue 3, and its RESULTS.md section."""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from bench._common import percentiles, record, table


@dataclass
class Results:
    mb: int
    repeats: int
    interval: float
    idle: int
    mbps: dict[str, dict[int, float]] = field(default_factory=dict)  # by repeat: a lost transfer leaves a gap
    cpu_per_mb: dict[str, list[float]] = field(default_factory=dict)  # during the transfer
    cpu_per_mb_all: dict[str, list[float]] = field(default_factory=dict)  # until the session is wound up
    open_ms: dict[str, list[float]] = field(default_factory=dict)
    echo_ms: dict[tuple[str, int], list[list[float]]] = field(default_factory=dict)  # one list per window
    echo_failed: dict[tuple[str, int], int] = field(default_factory=dict)
    idle_kib: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add_throughput(self, name: str, repeat: int, nbytes: int, seconds: float, cpu: float, cpu_all: float) -> None:
        self.mbps.setdefault(name, {})[repeat] = nbytes / seconds / 1e6
        if cpu:
            self.cpu_per_mb.setdefault(name, []).append(cpu / (nbytes / 1e6))
            self.cpu_per_mb_all.setdefault(name, []).append(cpu_all / (nbytes / 1e6))

    def add_echo(self, name: str, level: int, samples: list[float], failures: list[str]) -> None:
        self.echo_ms.setdefault((name, level), []).append(samples)
        self.echo_failed[(name, level)] = self.echo_failed.get((name, level), 0) + len(failures)

    def echo_stats(self, name: str, level: int) -> dict[str, float] | None:
        """p50 and p99 of each window, then the median window's figure of each."""
        windows = [percentiles(w) for w in self.echo_ms.get((name, level), []) if len(w) >= 2]
        if not windows:
            return None
        return {k: statistics.median(w[k] for w in windows) for k in ("p50", "p99", "max")}

    def echo_line(self, name: str, level: int) -> str:
        s = self.echo_stats(name, level)
        if s is None:
            return "no samples"
        windows = self.echo_ms[(name, level)]
        return (f"p50 {s['p50']:.2f} ms, p99 {s['p99']:.2f} ms (median of {len(windows)} windows; p99 each "
                f"{', '.join(format(percentiles(w)['p99'], '.1f') for w in windows if len(w) >= 2)}), "
                f"{sum(map(len, windows))} echoes, {self.echo_failed[(name, level)]} session failures")

    def med(self, values: dict[str, list[float]], name: str) -> float | None:
        return statistics.median(values[name]) if values.get(name) else None

    def paired(self, name: str, base: str) -> float | None:
        """Throughput ratio over the repeats both paths finished (a lost transfer drops its pair only)."""
        mine, theirs = self.mbps.get(name, {}), self.mbps.get(base, {})
        both = sorted(mine.keys() & theirs.keys())
        return paired_ratio([mine[i] for i in both], [theirs[i] for i in both])


def paired_ratio(values: list[float], base: list[float]) -> float | None:
    """Median over the repeats of a path's figure over base's in the same repeat (seconds apart).

    Repeats are interleaved, so a pair shares the machine's load of the moment; the ratio of
    two medians taken from different repeats does not, and on a shared 2-core VM that noise
    (±10% between two runs of the same server path) is larger than the goals' margins.
    """
    pairs = [a / b for a, b in zip(values, base, strict=False) if b]
    return statistics.median(pairs) if pairs else None


def _f(value: float | None, fmt: str = "{:.1f}") -> str:
    return "–" if value is None else fmt.format(value)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _goal(value: float | None, ok: Callable[[float], bool]) -> str:
    return "n/a" if value is None else ("met" if ok(value) else "**missed**")


def _cost(ratio: float | None) -> float | None:
    """What switching something on costs, from the on/off throughput ratio."""
    return None if ratio is None else 1 - ratio


def report(r: Results) -> None:
    names = list(r.mbps)
    rows = [[n, _f(statistics.median(r.mbps[n].values())), _f(r.paired(n, "direct asyncssh"), "{:.0%}"), _f(r.med(r.cpu_per_mb, n), "{:.4f}"),
             _f(r.med(r.cpu_per_mb_all, n), "{:.4f}"), _f(r.med(r.open_ms, n)), _f(r.idle_kib.get(n), "{:.0f}")]
            for n in names]
    figures = table(["client", "MB/s (median)", "vs direct (median of per-repeat ratios)",
                     "gateway CPU s/MB during transfer", "… with the session's end",
                     "open p50 ms", f"RSS KiB/idle session (N={r.idle})"], rows)
    levels = sorted({lvl for _, lvl in r.echo_ms})
    echo_rows = []
    for name in dict.fromkeys(n for n, _ in r.echo_ms):
        cells = [name]
        for lvl in levels:
            s = r.echo_stats(name, lvl)
            failed = r.echo_failed.get((name, lvl), 0)
            cells.append("–" if s is None else f"{s['p50']:.2f} / {s['p99']:.2f}" + (f" ({failed} failed)" if failed
                                                                                      else ""))
        echo_rows.append(cells)
    echo_table = table(["client", *(f"K={lvl} p50 / p99 ms" for lvl in levels)], echo_rows)

    wg, direct, ws, plain = "webgate", "direct asyncssh", "WebSSH", "webgate, no permessage-deflate"
    top = max(levels) if levels else 0
    wg_echo, ws_echo, d_echo, tt_echo = (r.echo_stats(n, top) for n in (wg, ws, direct, "ttyd"))
    thr = r.paired(wg, direct)
    thr_ws = r.paired(wg, ws)
    thr_tt = r.paired(wg, "ttyd")
    cpu_tt = _ratio(r.med(r.cpu_per_mb_all, wg), r.med(r.cpu_per_mb_all, "ttyd"))
    p99_tt = _ratio(wg_echo and wg_echo["p99"], tt_echo and tt_echo["p99"])
    cpu = _ratio(r.med(r.cpu_per_mb_all, wg), r.med(r.cpu_per_mb_all, ws))
    cpu_plain = _ratio(r.med(r.cpu_per_mb_all, plain), r.med(r.cpu_per_mb_all, ws))
    p99 = _ratio(wg_echo and wg_echo["p99"], ws_echo and ws_echo["p99"])
    plain_echo = r.echo_stats(plain, top)
    p99_plain = _ratio(plain_echo and plain_echo["p99"], ws_echo and ws_echo["p99"])
    added = None if not (wg_echo and d_echo) else wg_echo["p50"] - d_echo["p50"]
    mem = r.idle_kib.get(wg)
    mem_ws = _ratio(mem, r.idle_kib.get(ws))
    opened = _ratio(r.med(r.open_ms, wg), r.med(r.open_ms, direct))
    thr_plain = r.paired(plain, direct)
    mem_plain = r.idle_kib.get(plain)
    rec_cost = _cost(r.paired(wg, "webgate, recording off"))
    rec_cost_plain = _cost(r.paired(plain, "webgate, recording off, no deflate"))
    goals = table(["goal (issue 3)", "measured", "result"], [
        ["throughput ≥ 90% of direct asyncssh", _f(thr and thr * 100, "{:.0f}%"), _goal(thr, lambda v: v >= 0.9)],
        ["throughput ≥ WebSSH's", _f(thr_ws, "{:.2f}×"), _goal(thr_ws, lambda v: v >= 1)],
        ["throughput ≥ ttyd's", _f(thr_tt, "{:.2f}×"), _goal(thr_tt, lambda v: v >= 1)],
        ["throughput without permessage-deflate ≥ 90% of direct", _f(thr_plain and thr_plain * 100, "{:.0f}%"),
         _goal(thr_plain, lambda v: v >= 0.9)],
        ["gateway CPU/MB, recording on, with the session's end ≤ 0.6× WebSSH's", _f(cpu, "{:.2f}×"),
         _goal(cpu, lambda v: v <= 0.6)],
        ["CPU/MB without permessage-deflate ≤ 0.6× WebSSH's", _f(cpu_plain, "{:.2f}×"), _goal(cpu_plain, lambda v: v <= 0.6)],
        ["gateway CPU/MB, recording on, with the session's end ≤ ttyd's (with its ssh)", _f(cpu_tt, "{:.2f}×"),
         _goal(cpu_tt, lambda v: v <= 1)],
        [f"echo p99 at K={top} ≤ 0.5× WebSSH's", _f(p99, "{:.2f}×"), _goal(p99, lambda v: v <= 0.5)],
        [f"echo p99 at K={top} without permessage-deflate ≤ 0.5× WebSSH's", _f(p99_plain, "{:.2f}×"),
         _goal(p99_plain, lambda v: v <= 0.5)],
        [f"echo p99 at K={top} ≤ ttyd→ssh's", _f(p99_tt, "{:.2f}×"), _goal(p99_tt, lambda v: v <= 1)],
        [f"echo p50 added over direct at K={top} < 1 ms", _f(added, "{:+.2f} ms"), _goal(added, lambda v: v < 1)],
        ["RSS per idle session ≤ 64 KiB", _f(mem, "{:.0f} KiB"), _goal(mem, lambda v: v <= 64)],
        ["RSS per idle session ≤ 0.8× WebSSH's", _f(mem_ws, "{:.2f}×"), _goal(mem_ws, lambda v: v <= 0.8)],
        ["RSS per idle session without permessage-deflate ≤ 64 KiB", _f(mem_plain, "{:.0f} KiB"), _goal(mem_plain, lambda v: v <= 64)],
        ["open p50 ≤ 1.2× direct asyncssh", _f(opened, "{:.2f}×"), _goal(opened, lambda v: v <= 1.2)],
        ["recording costs < 10% throughput", _f(rec_cost and rec_cost * 100, "{:.0f}%"),
         _goal(rec_cost, lambda v: v < 0.10)],
        ["recording cost without permessage-deflate < 10%", _f(rec_cost_plain and rec_cost_plain * 100, "{:.0f}%"),
         _goal(rec_cost_plain, lambda v: v < 0.10)],
    ])
    load = os.getloadavg()[0]
    body = (
        f"One run, everything on 127.0.0.1: OpenSSH sshd (key login; webgate and the direct asyncssh client both "
        f"offer AES-GCM first; sshd and its sessions run as SCHED_BATCH, so that, like a target on a host of its "
        f"own, a keystroke's wake-up of sshd does not preempt the gateway relaying it, whichever gateway that is), the real `python -m webgate serve` "
        f"(SQLite) and the same with recording off (bench/terminal_norec.py), WebSSH from PyPI "
        f"(`wssh --policy=autoadd --encoding=utf-8`), ttyd 1.7.7 built from Debian's source package with bookworm's "
        f"libwebsockets 4.1 (`ttyd --writable ssh -tt …`: one OpenSSH client per browser, offering AES-GCM first; "
        f"ttyd accepts permessage-deflate, which browsers offer: its goal row is measured without, its best case, "
        f"and the deflate row shows what a browser gets). Throughput: `cat` of a {r.mb} MB base64 text file in an "
        f"80×24 PTY, {r.repeats} interleaved repeats, MB = 10⁶ bytes received; the goals compare paths by the median "
        f"of their per-repeat ratios (a pair ran seconds apart, under the same load). The webgate client offers "
        f"permessage-deflate as browsers do; `webgate serve` declines it, so the webgate rows with and without it "
        f"are the same server path twice and their difference is this machine's noise. CPU: the gateway process's user+system "
        f"time during the transfer (ttyd's with its ssh processes), and until the gateway is idle again after the session closed (the recording "
        f"is finished and stored then); the goal is judged on webgate as users run it, recording on, session end "
        f"included, and the recording-off rows show the split. Echo: each session types one byte every {r.interval * 1000:.0f} ms into a "
        f"non-canonical PTY (kernel echo) and waits for it; p50/p99 are the median of the windows' figures. Open: socket open → first prompt byte, sequential. "
        f"RSS: the proportional set size (Pss) of the gateway and its processes (ttyd's ssh) with N idle sessions "
        f"open, less that before them, over N. Load average at the end "
        f"{load:.1f}.\n\n" + figures + "\n\nKeystroke echo:\n\n" + echo_table + "\n\nGoals:\n\n" + goals
        + ("\n\nNotes: " + "; ".join(r.notes) if r.notes else ""))
    record("terminal", "Browser terminal (/ws/terminal) against peers", body)
