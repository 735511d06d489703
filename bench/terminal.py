"""Browser terminal performance against peers in the same run (issue 3, "Performance").

    python bench/terminal.py                      # everything, ~6-10 minutes on 2 cores
    python bench/terminal.py --mb 20 --levels 50 200 --echo-windows 1   # quicker
    python bench/terminal.py --profile   # then py-spy profiles of webgate (bench/terminal_profile.py)

Starts its own sshd on a loopback port (a local key user), the real gateway
(`python -m webgate serve`, SQLite in a temp dir, provisioned through the REST API),
the same gateway with recording switched off, WebSSH from PyPI (venv under /tmp) and
ttyd→ssh (ttyd built once from Debian's source package, cached outside the repo: a C
gateway running one OpenSSH client per browser, which the issue's figures include).
Then, median of repeats where it applies:

1. output throughput of `cat` of a 50 MB text file: direct asyncssh, OpenSSH client,
   webgate (binary frames; with and without permessage-deflate), WebSSH, ttyd;
2. gateway CPU seconds per MB of that output (/proc/<pid>/stat; ttyd with its ssh processes);
3. keystroke echo latency p50/p99 with K concurrent sessions each typing ~5 bytes/s;
4. gateway RSS per idle session (N sessions open, delta / N);
5. session open time p50 (WebSocket/TCP open → first prompt byte);
6. recording on vs off throughput.

Figures go to RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncssh
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import terminal_peers as peers  # noqa: E402
from bench._common import client_gc_paused  # noqa: E402
from bench.terminal_clients import (  # noqa: E402
    DirectSSH,
    OpenSSH,
    Term,
    TtydWS,
    WebgateWS,
    WebSSHWS,
    echo_loop,
    make_echoer,
    stream,
    wait_prompt,
)
from bench.terminal_report import Results, report  # noqa: E402

Opener = Callable[[], Awaitable[Term]]
SETTLE = 2.0  # seconds of quiet before a measurement


async def open_ready(opener: Opener) -> Term:
    term = await opener()
    await wait_prompt(term)
    return term


async def settled_cpu(pid: int, within: float = 30) -> float:
    """The process's CPU seconds once it has stopped working (e.g. a recording gzipped at session end)."""
    deadline = time.monotonic() + within
    last = peers.cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        now = peers.cpu_seconds(pid)
        if now - last < 0.015:
            return now
        last = now
    return last


async def throughput(name: str, repeat: int, opener: Opener, payload: Path, res: Results, pid: int | None) -> None:
    """One `cat` through a new session; the gateway's CPU during it and until the session is wound up."""
    term = await open_ready(opener)
    cpu0 = await settled_cpu(pid) if pid else 0.0
    try:
        t = await stream(term, payload)
        cpu = (peers.cpu_seconds(pid) - cpu0) if pid else 0.0
    finally:
        await term.close()
    total = (await settled_cpu(pid) - cpu0) if pid else 0.0
    res.add_throughput(name, repeat, t.nbytes, t.seconds, cpu, total)
    print(f"  {name:34} {t.nbytes / t.seconds / 1e6:6.1f} MB/s  {t.nbytes / t.chunks / 1024:5.0f} KiB/frame"
          f"  client cpu {t.client_cpu:4.2f} s"
          + (f"  gateway cpu {cpu:4.2f} s, {total:4.2f} s with the session's end" if pid else ""), flush=True)


async def open_times(name: str, opener: Opener, count: int, res: Results) -> None:
    for _ in range(count):
        start = time.perf_counter()
        term = await opener()
        try:
            while not await term.read():
                pass
            res.open_ms.setdefault(name, []).append((time.perf_counter() - start) * 1000)
        finally:
            await term.close()
    print(f"  {name:34} open p50 {statistics.median(res.open_ms[name]):6.1f} ms", flush=True)


async def open_many(opener: Opener, count: int, parallel: int, deadline: float) -> tuple[list[Term], int]:
    """Open ``count`` echoing sessions, ``parallel`` at a time; gives up at ``deadline``."""
    sem = asyncio.Semaphore(parallel)
    failed = 0

    async def one() -> Term | None:
        nonlocal failed
        async with sem:
            if time.monotonic() > deadline:
                failed += 1
                return None
            try:
                async with asyncio.timeout(max(1.0, deadline - time.monotonic())):
                    term = await open_ready(opener)
                    await make_echoer(term)
                    return term
            except Exception as exc:  # noqa: BLE001
                failed += 1
                if failed <= 3:
                    print(f"    open failed: {type(exc).__name__}: {exc}", flush=True)
                return None

    # The first alone: WebSSH loses sessions when the first ones from an address open concurrently
    # (its per-address dict is created by whichever POST finishes last); harmless for the others.
    first = [await one()] if count else []
    terms = first + list(await asyncio.gather(*(one() for _ in range(count - len(first)))))
    return [t for t in terms if t is not None], failed


async def echo(terms: list[Term], seconds: float, interval: float, pid: int | None
               ) -> tuple[list[float], list[str], str]:
    """Every session types at ``interval``; also returns the client's and the gateway's CPU use."""
    samples: list[float] = []
    failures: list[str] = []
    start, cpu, gw_cpu = time.perf_counter(), time.process_time(), peers.cpu_seconds(pid) if pid else 0.0
    busy0, total0 = peers.machine_busy()
    until = start + seconds
    n = len(terms)
    with client_gc_paused():
        await asyncio.gather(*(echo_loop(t, until, interval, interval * i / n, samples, failures)
                               for i, t in enumerate(terms)))
        wall = time.perf_counter() - start
        busy1, total1 = peers.machine_busy()
    use = f"client cpu {(time.process_time() - cpu) / wall:.0%}" + (
        f", gateway cpu {(peers.cpu_seconds(pid) - gw_cpu) / wall:.0%}" if pid else "") + (
        f", machine busy {(busy1 - busy0) / max(total1 - total0, 1e-9):.0%} of {os.cpu_count()} cores")
    return samples, failures, use


async def load_phase(name: str, opener: Opener, pid: int | None, args: argparse.Namespace, res: Results) -> None:
    """Idle memory at N sessions, then echo latency at each level, reusing the open sessions."""
    terms: list[Term] = []
    budget = time.monotonic() + args.phase_seconds
    try:
        base = peers.rss_kib(pid) if pid else 0
        for level in sorted({args.idle, *args.levels}):
            if len(terms) < level:
                began = time.monotonic()
                more, failed = await open_many(opener, level - len(terms), args.parallel, budget)
                terms += more
                print(f"  {name:34} {len(terms)} sessions open (+{len(more)} in {time.monotonic() - began:.0f} s,"
                      f" {failed} failed)", flush=True)
                if failed:
                    res.notes.append(f"{name}: {failed} of {level} sessions could not be opened in time")
                    break
                await asyncio.sleep(SETTLE)  # let the last shells and sshd children finish starting
            if level == args.idle and pid:
                res.idle_kib[name] = (peers.rss_kib(pid) - base) / level
                print(f"  {name:34} RSS +{res.idle_kib[name]:.0f} KiB per idle session", flush=True)
            if level in args.levels:
                if time.monotonic() + args.echo_seconds * args.echo_windows > budget:
                    res.notes.append(f"{name}: echo at {level} skipped (phase time budget)")
                    break
                for _ in range(args.echo_windows):  # the median window tames other load on a shared machine
                    samples, failures, use = await echo(terms[:level], args.echo_seconds, args.interval, pid)
                    res.add_echo(name, level, samples, failures)
                print(f"  {name:34} K={level}: {res.echo_line(name, level)}; {use}", flush=True)
                if level == max(args.levels):
                    res.notes.append(f"{name} at K={level}, last window: {use}")
    finally:
        await asyncio.gather(*(t.close() for t in terms), return_exceptions=True)


async def quiet(sshd: peers.Sshd, within: float = 20) -> None:
    """Wait (bounded) until the sessions of the last phase are gone from sshd, so phases do not overlap."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and peers.children(sshd.proc.pid) > 0:  # noqa: ASYNC110 - polls /proc
        await asyncio.sleep(0.25)
    await asyncio.sleep(SETTLE)


def webgate_opener(gw: peers.Gateway, cookie: str, asset: str, deflate: bool = True
                   ) -> tuple[Opener, peers.Gateway]:
    return (lambda: WebgateWS.open(gw.addr, cookie, asset, deflate=deflate)), gw


def webssh_opener(server: peers.Gateway, http: httpx.AsyncClient, sshd: peers.Sshd) -> tuple[Opener, peers.Gateway]:
    return (lambda: WebSSHWS.open(server.addr, http, sshd.port, peers.USER, sshd.private_key)), server


def ttyd_opener(server: peers.Gateway, deflate: bool = False) -> Opener:
    return lambda: TtydWS.open(server.addr, deflate=deflate)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=50, help="size of the streamed file (MB)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--levels", type=int, nargs="+", default=[50, 200, 500], help="concurrent sessions")
    parser.add_argument("--idle", type=int, default=200, help="sessions for the idle memory figure")
    parser.add_argument("--echo-seconds", type=float, default=6, help="length of one echo window")
    parser.add_argument("--echo-windows", type=int, default=3, help="windows per level (median reported)")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between keystrokes per session")
    parser.add_argument("--opens", type=int, default=15, help="sequential opens for the open-time p50")
    parser.add_argument("--parallel", type=int, default=16, help="sessions opened at a time")
    parser.add_argument("--phase-seconds", type=float, default=150, help="time budget per load phase")
    parser.add_argument("--no-webssh", action="store_true")
    parser.add_argument("--no-ttyd", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs) and print it")
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, py-spy profiles of webgate streaming and echoing (implies --keep)")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 500 sessions × several sockets

    work = Path(tempfile.mkdtemp(prefix="wg-term-bench-"))
    os.chmod(work, 0o755)  # noqa: S103 - the sshd user reads the payload file below it
    res = Results(mb=args.mb, repeats=args.repeats, interval=args.interval, idle=args.idle)
    procs: list[peers.Gateway | peers.Sshd] = []
    try:
        sshd = peers.start_sshd(work / "sshd")
        procs.append(sshd)
        payload = peers.payload_file(work / "sshd", args.mb)
        data = work / "gw"
        data.mkdir()
        peers.create_admin(data)
        gw = peers.start_gateway(data, sshd)
        procs.append(gw)
        asset, cookie = peers.provision(gw, sshd)
        gw_norec = peers.start_gateway(data, sshd, recording=False)
        procs.append(gw_norec)
        wssh_bin = None if args.no_webssh else peers.ensure_webssh()
        webssh = peers.start_webssh(wssh_bin, work) if wssh_bin else None
        if webssh:
            procs.append(webssh)
        else:
            res.notes.append("WebSSH was not measured (disabled or could not be installed)")
        ttyd_bin = None if args.no_ttyd else peers.ensure_ttyd()
        ttyd = peers.start_ttyd(ttyd_bin, work, sshd) if ttyd_bin else None
        if ttyd:
            procs.append(ttyd)
        else:
            res.notes.append("ttyd was not measured (disabled or could not be built)")
        key = asyncssh.import_private_key(sshd.private_key)
        http = httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=64))

        openers: dict[str, tuple[Opener, int | None]] = {
            "direct asyncssh": (lambda: DirectSSH.open(sshd.port, peers.USER, key), None),
            "OpenSSH client": (lambda: OpenSSH.open(sshd.port, peers.USER, sshd.key_path), None),
            "webgate": (webgate_opener(gw, cookie, asset)[0], gw.pid),
            "webgate, no permessage-deflate": (webgate_opener(gw, cookie, asset, False)[0], gw.pid),
            "webgate, recording off": (webgate_opener(gw_norec, cookie, asset)[0], gw_norec.pid),
            "webgate, recording off, no deflate": (webgate_opener(gw_norec, cookie, asset, False)[0], gw_norec.pid),
        }
        if webssh:
            openers["WebSSH"] = (webssh_opener(webssh, http, sshd)[0], webssh.pid)
        if ttyd:
            openers["ttyd"] = (ttyd_opener(ttyd), ttyd.pid)
            openers["ttyd, permessage-deflate"] = (ttyd_opener(ttyd, deflate=True), ttyd.pid)

        def revive_ttyd(when: str) -> peers.Gateway | None:
            """ttyd 1.7.7 has died under permessage-deflate here (a segfault in memcpy, in dmesg): a new one
            keeps the rest of its figures, and the crash is reported."""
            if not ttyd or ttyd.proc.poll() is None:
                return ttyd
            res.notes.append(f"ttyd exited (code {ttyd.proc.returncode}) {when}; restarted")
            procs.remove(ttyd)
            new = peers.start_ttyd(ttyd_bin, work, sshd)  # type: ignore[arg-type]
            procs.append(new)
            openers["ttyd"] = (ttyd_opener(new), new.pid)
            openers["ttyd, permessage-deflate"] = (ttyd_opener(new, deflate=True), new.pid)
            return new

        print(f"work dir {work}; sshd :{sshd.port}, webgate :{gw.port} (recording off :{gw_norec.port})"
              + (f", WebSSH :{webssh.port}" if webssh else "") + (f", ttyd :{ttyd.port}" if ttyd else ""), flush=True)
        print("warm-up", flush=True)
        for opener, _ in openers.values():
            term = await open_ready(opener)
            await term.close()

        print(f"1+2+6. throughput, cat of {args.mb} MB, {args.repeats} repeats (interleaved)", flush=True)
        for repeat in range(args.repeats):
            for name in list(openers):
                if name.startswith("ttyd"):
                    ttyd = revive_ttyd(f"before {name}, repeat {repeat + 1}")
                opener, pid = openers[name]
                try:
                    await throughput(name, repeat, opener, payload, res, pid)
                except (ConnectionError, TimeoutError) as exc:  # one lost transfer is reported, not fatal
                    print(f"  {name:34} failed: {exc!r}", flush=True)
                    res.notes.append(f"{name}: throughput repeat {repeat + 1} failed ({exc!r})")

        print(f"5. open time, {args.opens} sequential opens", flush=True)
        ttyd = revive_ttyd("before the open times")
        for name in ("direct asyncssh", "webgate", "WebSSH", "ttyd"):
            if name in openers:
                await open_times(name, openers[name][0], args.opens, res)

        print(f"3+4. idle memory at {args.idle} sessions; echo at {args.levels} sessions "
              "(each gateway freshly started and warmed up with 3 sessions)", flush=True)
        names = ["direct asyncssh", "webgate", "webgate, no permessage-deflate"] + (["WebSSH"] if webssh else []) + (
            ["ttyd"] if ttyd else [])
        for name in names:
            await quiet(sshd)
            if name == "direct asyncssh":
                opener, server = openers[name][0], None
            elif name == "WebSSH":
                opener, server = webssh_opener(peers.start_webssh(wssh_bin, work), http, sshd)  # type: ignore[arg-type]
            elif name == "ttyd":
                server = peers.start_ttyd(ttyd_bin, work, sshd)  # type: ignore[arg-type]
                opener = ttyd_opener(server)
            else:
                server = peers.start_gateway(data, sshd)
                opener, server = webgate_opener(server, cookie, asset, "deflate" not in name)
            try:
                for _ in range(3):
                    await (await open_ready(opener)).close()
                await quiet(sshd)
                await load_phase(name, opener, server.pid if server else None, args, res)
            finally:
                if server:
                    peers.stop(server.proc)
        await http.aclose()
        if args.profile:
            from bench.terminal_profile import run_profiles

            await quiet(sshd)
            await run_profiles(data, sshd, work / "profiles", cookie, asset, payload, max(args.levels),
                               args.echo_seconds)
    finally:
        for proc in reversed(procs):
            peers.stop(proc.proc)
        if args.keep or args.profile:
            print(f"kept {work}")
        else:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    report(res)


if __name__ == "__main__":
    asyncio.run(main())
