"""Shared bits of the benchmarks: percentiles, a machine description, and RESULTS.md upkeep."""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import re
import statistics
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = "# Benchmark results\n\nThe latest run of each benchmark, written by the scripts in this folder.\n"


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": ordered[-1]}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        text = Path("/proc/cpuinfo").read_text()
        found = re.search(r"model name\s*:\s*(.+)", text)
        cpu = found.group(1).strip() if found else cpu
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu}, {cores} cores, {platform.system()} {platform.release()}, Python {sys.version.split()[0]}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def record(key: str, title: str, body: str) -> None:
    """Print a section and replace the same section (by key) in RESULTS.md."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = f"<!-- {key} -->\n## {title}\n\n{stamp} · {machine()}\n\n{body}\n<!-- /{key} -->\n"
    print(section)
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    pattern = re.compile(rf"<!-- {re.escape(key)} -->.*?<!-- /{re.escape(key)} -->\n", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


@contextlib.contextmanager
def client_gc_paused() -> Iterator[None]:
    """The benchmark client collects no garbage while it measures, and catches up afterwards.

    The client is one Python process holding hundreds of sessions: its own cyclic collections
    took 5–10 ms (young generations) to ~75 ms (a full one) inside measurement windows, and
    every path's figures — direct ones included — showed them as latency of the thing measured.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
        gc.collect()
