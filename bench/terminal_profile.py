"""Where the gateway's CPU goes: py-spy profiles of webgate under the benchmark's workloads.

    python bench/terminal.py --profile            # after the measurements, ~1 more minute

Each scenario starts a fresh `webgate serve` under ``py-spy record`` (attaching to a
running process is not possible in every container; launching under py-spy is), runs
one workload, stops the gateway and prints the functions with the most samples, by
own time and including callees. The collapsed stacks are kept for flame graphs.
"""

# ruff: noqa: S603 - runs py-spy and pip from the peers' venv with fixed arguments
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import terminal_peers as peers
from bench.terminal_clients import Term, WebgateWS, stream, wait_prompt

PY_SPY = peers.PEER_VENV / "bin" / "py-spy"


def ensure_py_spy() -> Path | None:
    if not PY_SPY.exists():
        subprocess.run([str(peers.PEER_VENV / "bin" / "pip"), "install", "-q", "py-spy"], check=False, timeout=300)
    return PY_SPY if PY_SPY.exists() else None


def summarize(path: Path, top: int = 14) -> str:
    """Top functions by own samples and by inclusive samples from py-spy's raw (collapsed) output.

    Also the recorder's share: what it costs while the session streams (on the event loop) and
    what it does once the session has ended (the spool converted to the asciicast in a thread).
    """
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    recorder: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split("/")[-1] if " (" in f else f
                  for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
        if "recording/asciicast.py" in stack:
            recorder["at the session's end (worker thread)" if "_convert (" in stack else "while it streams"] += n
    if not total:
        return "  (no samples)"
    lines = [f"  {total} samples; the terminal recorder: "
             + (", ".join(f"{100 * n / total:.1f}% {when}" for when, n in recorder.most_common()) or "none")]
    lines.append("  own time:")
    lines += [f"    {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines.append("  including callees:")
    lines += [f"    {100 * n / total:5.1f}%  {f}" for f, n in incl.most_common(top + 10)
              if not f.startswith(("<module>", "run (", "_run (", "run_forever", "_run_once", "serve ", "main ",
                                   "run_until_complete", "cmd_serve", "_run_module", "_run_code"))][:top]
    return "\n".join(lines)


async def _scenario(name: str, data: Path, sshd: peers.Sshd, out: Path, cookie: str, asset: str,
                    work: Callable[[Callable[[], Awaitable[Term]]], Awaitable[None]], *, deflate: bool) -> None:
    raw = out / f"{name}.txt"
    prefix = (str(PY_SPY), "record", "-r", "250", "--format", "raw", "-o", str(raw), "--")
    gw = peers.start_gateway(data, sshd, prefix=prefix)
    try:
        await work(lambda: WebgateWS.open(gw.addr, cookie, asset, deflate=deflate))
    finally:
        os.kill(gw.pid, signal.SIGTERM)
        try:
            gw.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            gw.proc.kill()
    print(f"profile '{name}' ({raw}):\n{summarize(raw)}", flush=True)


async def run_profiles(data: Path, sshd: peers.Sshd, out: Path, cookie: str, asset: str, payload: Path, sessions: int,
                       seconds: float) -> None:
    if ensure_py_spy() is None:
        print("py-spy could not be installed; no profiles", flush=True)
        return
    out.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before any workload

    async def streaming(opener: Callable[[], Awaitable[Term]]) -> None:
        for _ in range(2):
            term = await opener()
            await wait_prompt(term)
            await stream(term, payload)
            await term.close()

    async def echoing(opener: Callable[[], Awaitable[Term]]) -> None:
        from bench.terminal import echo, open_many

        terms, _ = await open_many(opener, sessions, 16, asyncio.get_running_loop().time() + 120)
        try:
            await asyncio.sleep(2)
            await echo(terms, seconds, 0.2, None)
        finally:
            await asyncio.gather(*(t.close() for t in terms), return_exceptions=True)

    await _scenario("stream-deflate", data, sshd, out, cookie, asset, streaming, deflate=True)
    await _scenario("stream-plain", data, sshd, out, cookie, asset, streaming, deflate=False)
    await _scenario(f"echo-{sessions}", data, sshd, out, cookie, asset, echoing, deflate=False)
