"""Figures of the desktop benchmark, the goal table of issue 4, and its RESULTS.md section."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from bench._common import percentiles, record, table
from bench.terminal_report import _f, _ratio, paired_ratio

DIRECT, WEBGATE, NOREC, LITE = "direct guacd", "webgate", "webgate, recording off", "guacamole-lite"


@dataclass
class Results:
    seconds: float
    repeats: int
    sessions: int
    windows: int
    window_seconds: float
    load_start: tuple[float, float, float]
    load_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    image: list[str] = field(default_factory=list)
    ips: dict[str, list[float]] = field(default_factory=dict)  # instructions per second
    mbps: dict[str, list[float]] = field(default_factory=dict)
    cpu_per_mb: dict[str, list[float]] = field(default_factory=dict)  # during the window
    cpu_per_mb_all: dict[str, list[float]] = field(default_factory=dict)  # until idle after the session
    sync: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # per round: percentiles
    direct: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # the joiners, same frames
    added: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # per frame: relayed − joiner
    back: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # pointer move → seen by the joiner
    ping: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    samples: dict[str, int] = field(default_factory=dict)
    use: dict[str, str] = field(default_factory=dict)
    open_failures: dict[str, list[str]] = field(default_factory=dict)  # latency phase, retried
    notes: list[str] = field(default_factory=list)
    busy_desktop_cpu: float | None = None  # cores its Xvnc + xterm used, unwatched, before it was stopped

    def add_throughput(self, name: str, count: int, nbytes: int, seconds: float, cpu: float, cpu_all: float) -> None:
        self.ips.setdefault(name, []).append(count / seconds)
        self.mbps.setdefault(name, []).append(nbytes / seconds / 1e6)
        if cpu_all:
            self.cpu_per_mb.setdefault(name, []).append(cpu / (nbytes / 1e6))
            self.cpu_per_mb_all.setdefault(name, []).append(cpu_all / (nbytes / 1e6))

    def add_latency(self, name: str, sync: list[float], ping: list[float], use: str, direct: list[float],
                    added: list[float], back: list[float]) -> None:
        for kind, samples in ((self.sync, sync), (self.ping, ping), (self.direct, direct), (self.added, added),
                              (self.back, back)):
            if len(samples) >= 2:
                kind.setdefault(name, []).append(percentiles(samples))
        self.samples[name] = self.samples.get(name, 0) + len(added)
        self.use[name] = use

    def lat(self, kind: dict[str, list[dict[str, float]]], name: str, key: str) -> float | None:
        windows = kind.get(name)
        return statistics.median(w[key] for w in windows) if windows else None

    def latency_line(self, name: str) -> str:
        p99s = ", ".join(f"{w['p99']:.1f}" for w in self.added.get(name, []))
        ping = self.lat(self.ping, name, "p99")
        return (f"sync delay p99 {_f(self.lat(self.sync, name, 'p99'))} ms vs {_f(self.lat(self.direct, name, 'p99'))}"
                f" direct; added per frame p50 {_f(self.lat(self.added, name, 'p50'))} ms, p99"
                f" {_f(self.lat(self.added, name, 'p99'))} ms (rounds: {p99s}); {self.samples.get(name, 0)} frames"
                + f"; pointer → guacd → joiner p99 {_f(self.lat(self.back, name, 'p99'))} ms"
                + (f"; ping p99 {ping:.1f} ms" if ping is not None else "") + f"; {self.use.get(name)}")

    def over_direct(self, kind: dict[str, list[dict[str, float]]], name: str) -> float | None:
        """A relay's p99 minus direct's in the same rounds: direct's is the measurement's own floor (one
        client process reading every socket of a loaded machine)."""
        a, d = self.lat(kind, name, "p99"), self.lat(kind, DIRECT, "p99")
        return None if a is None or d is None else a - d

    def round_trip(self, name: str) -> float | None:
        """Added sync round trip p99 ≤ the relay's share of each way's p99, summed."""
        fwd, back = self.over_direct(self.added, name), self.over_direct(self.back, name)
        return None if fwd is None or back is None else max(fwd, 0) + max(back, 0)

    def paired(self, name: str, base: str) -> float | None:
        """Median over the repeats of name's instructions/s over base's in the same repeat (minutes
        apart at most), which follows the machine's changing load better than a ratio of medians."""
        return paired_ratio(self.ips.get(name, []), self.ips.get(base, []))

    @staticmethod
    def med(values: dict[str, list[float]], name: str) -> float | None:
        return statistics.median(values[name]) if values.get(name) else None


def _goal(value: float | None, ok: bool) -> str:
    return "n/a" if value is None else ("met" if ok else "**missed**")


def report(r: Results) -> None:
    names = list(r.ips)
    rows = [[n, _f(r.med(r.ips, n), "{:,.0f}"), _f(r.med(r.mbps, n)), _f(r.paired(n, DIRECT), "{:.1%}"),
             _f(r.med(r.cpu_per_mb, n), "{:.4f}"), _f(r.med(r.cpu_per_mb_all, n), "{:.4f}")] for n in names]
    figures = table(["path", "instructions/s (median)", "MB/s", "vs direct (median of per-repeat ratios)", "relay CPU s/MB during the window",
                     "… with the session's end"], rows)
    lrows = [[n, _f(r.lat(r.sync, n, "p50")), _f(r.lat(r.sync, n, "p99")), _f(r.lat(r.direct, n, "p50")),
              _f(r.lat(r.direct, n, "p99")), _f(r.lat(r.added, n, "p50")), _f(r.lat(r.added, n, "p99")),
              _f(r.lat(r.back, n, "p50")), _f(r.lat(r.back, n, "p99")),
              _f(r.lat(r.ping, n, "p99")), _f(r.round_trip(n)) if n != DIRECT else "–"] for n in r.sync]
    lat = table(["path", "sync delay p50 ms", "p99", "same frames at the joiner p50", "p99", "relayed − joiner per frame p50",
                 "p99", "pointer → guacd → joiner p50", "p99", "tunnel ping p99",
                 "added sync round trip p99 ≤"], lrows)

    ips_ratio = r.paired(WEBGATE, DIRECT)
    vs_lite = r.paired(WEBGATE, LITE)
    cpu_ratio = _ratio(r.med(r.cpu_per_mb, WEBGATE), r.med(r.cpu_per_mb, LITE))
    norec_ratio = r.paired(NOREC, DIRECT)
    rtt = r.round_trip(WEBGATE)
    goals = table(["goal (issue 4)", "measured", "status"], [
        ["webgate throughput ≥ 97% of direct guacd", _f(ips_ratio, "{:.1%}"),
         _goal(ips_ratio, ips_ratio is not None and ips_ratio >= 0.97)],
        ["… with its recording off (the relay alone)", _f(norec_ratio, "{:.1%}"),
         _goal(norec_ratio, norec_ratio is not None and norec_ratio >= 0.97)],
        ["webgate throughput ≥ guacamole-lite's", _f(vs_lite, "{:.2f}×"), _goal(vs_lite, vs_lite is not None
                                                                               and vs_lite >= 1)],
        ["relay CPU/MB ≤ guacamole-lite's", _f(cpu_ratio, "{:.2f}×"), _goal(cpu_ratio, cpu_ratio is not None
                                                                             and cpu_ratio <= 1)],
        [f"added sync round trip p99 < 10 ms at {r.sessions} sessions", _f(rtt, "{:.1f} ms"),
         _goal(rtt, rtt is not None and rtt < 10)],
    ])
    load = (f"Load average at the start {r.load_start[0]:.1f} / {r.load_start[1]:.1f} / {r.load_start[2]:.1f}, "
            f"at the end {r.load_end[0]:.1f} / {r.load_end[1]:.1f} / {r.load_end[2]:.1f} (1/5/15 min; the "
            "machine is shared with other builds and tests).")
    busy_share = "" if r.busy_desktop_cpu is None else f" (unwatched, it used {r.busy_desktop_cpu:.0%} of a core)"
    body = (
        "One run, everything on 127.0.0.1: guacd 1.3.0, Xvnc 1024×768 (VncAuth), the real `python -m webgate serve` "
        "(SQLite; it records what it relays) and the same with its recording off (bench/desktop_norec.py), guacamole-lite "
        f"(npm, Node.js); every client offers guacd {' and '.join(r.image)}. Throughput: a full-screen xterm "
        f"redrawn 60 times a second, one session at a time, {r.seconds:.0f} s after its first frame, median of "
        f"{r.repeats} interleaved repeats; MB = 10⁶ bytes received by the client. Relay CPU: the relay process's "
        "user+system time in the window over the MB relayed, and until it is idle again after the session (webgate "
        f"gzips the recording then). Latency: {r.sessions} concurrent sessions per relay on a desktop whose top line "
        "changes 10×/s, each with a direct read-only joiner of the same guacd connection (it receives the same "
        f"frames at the same time), {r.windows} interleaved rounds of {r.window_seconds:.0f} s (median of the rounds' "
        "percentiles). Sync delay = client arrival − guacd's timestamp in the `sync` ending each frame; added per "
        "frame = the frame's arrival through the relay − its arrival at the joiner. The way back: each session moves "
        "the pointer twice a second and guacd tells the joiner at once (its `mouse`). The throughput phase's busy "
        f"desktop is stopped before it{busy_share}: a target on its own host takes no CPU from the relay. "
        "Direct's figures in the same "
        "rounds are the measurement's floor (one client process, on uvloop, reads all sockets); added sync round trip p99 ≤ "
        "(relayed − joiner p99 − direct's) + (pointer → joiner p99 − direct's) (see the docstring of "
        "bench/desktop.py). "
        f"{load}\n\n{figures}\n\nLatency at {r.sessions} sessions:\n\n{lat}\n\nGoals:\n\n{goals}\n")
    for name, failed in r.open_failures.items():
        kinds = sorted({f.split(":")[0] for f in failed})
        r.notes.append(f"{name}: {len(failed)} of the latency phase's session opens failed and were retried "
                       f"({', '.join(kinds)}; the first: {failed[0][:160]})")
    if r.notes:
        body += "\nNotes:\n" + "".join(f"- {n}\n" for n in r.notes)
    record("desktop", "Remote desktop relay (/ws/guacamole) against peers", body)
