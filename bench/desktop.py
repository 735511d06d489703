"""Remote-desktop relay performance against peers in the same run (issue 4, "Performance").

    python bench/desktop.py                              # everything, ~10 minutes on 2 cores
    python bench/desktop.py --seconds 5 --repeats 1 --sessions 20   # quicker

Starts guacd 1.3.0 and two Xvnc desktops (1024×768, VncAuth) on loopback ports:

- *busy*: a full-screen xterm whose text is redrawn completely 60 times a second
  (bench/desktop_painter.py) — every frame changes the whole screen;
- *light*: an xterm whose top line changes 10 times a second (a ticking clock) — what most
  of 50 people's desktops look like most of the time.

Clients (bench/desktop_clients.py, one Python client for all, answering every ``sync`` at
once like guacamole-common-js): *direct* speaks to guacd itself (the handshake webgate
does); *guacamole-lite* (npm, Node.js, ``NODE_CACHE`` outside the repo) and *webgate*
(``python -m webgate serve``, SQLite in a temp dir, a VNC asset provisioned through the
REST API; also with its recording off, bench/desktop_norec.py) are WebSocket tunnels.

1. Throughput on *busy*: one session at a time, after its first frame, ``--seconds`` of
   instructions and bytes received; median of ``--repeats`` interleaved repeats. Relay CPU
   per MB: the relay process's user+system time during the window (/proc/<pid>/stat: the
   node process, the uvicorn process) over the MB received; for webgate also until it is
   idle after the session ended (the recording is gzipped then).
2. Latency on *light* (the busy desktop is stopped first: on a real deployment the target
   is another host and takes no CPU from the relay) with ``--sessions`` concurrent sessions per relay, ``--windows``
   rounds (each relay opens its sessions, samples one window of ``--window-seconds``,
   closes them; the relays take turns, so a change in the machine's other load hits all);
   p50/p99 are medians over the rounds. Every relayed session gets a *direct read-only
   joiner* of the same guacd connection (``select $<id>`` with the id from guacd's log):
   guacd sends both users the same frames at the same moment, so that
   a frame's arrival through the relay − its arrival at the joiner (frames matched by their
   ``sync`` stamp) is the relay's own delay, measured under the very load the relay ran
   in; the same figure for direct sessions (≈ 0 at p50) is the measurement's floor (one
   client process reads every socket), and a relay's p99 minus direct's is its *added*
   p99. *Sync delay* (client arrival − the timestamp guacd puts in
   the ``sync`` ending a frame, its clock in ms just before flushing; same machine) is
   shown for both.
   The way back (the browser's ``sync`` answer → guacd) is timed the same way: every
   session moves the pointer twice a second to a position no other move used, and guacd
   sends the new position (``mouse``) to the connection's other users at once, so the
   joiner sees when the move reached guacd; that delay through the relay minus direct's
   (p99) is the relay's share of the way back. *Added sync round trip* ≤ added per frame
   p99 + added way back p99 is what is held against the goal (p99 < 10 ms at 50
   sessions). webgate's tunnel ping round trip (answered by the gateway itself) is shown
   too; guacamole-lite forwards pings to guacd, which does not answer them.

Figures go to the ``desktop`` section of RESULTS.md, with the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import desktop_peers as peers  # noqa: E402
from bench._common import client_gc_paused  # noqa: E402
from bench.desktop_clients import Conn, DirectGuacd, Driver, WSTunnel  # noqa: E402
from bench.desktop_report import NOREC, Results, report  # noqa: E402
from bench.terminal_peers import cpu_seconds, machine_busy, stop  # noqa: E402

Opener = Callable[[int], Awaitable[Conn]]  # VNC port → an open connection
Session = tuple[Driver, "asyncio.Task[None]"]
MOVE_EVERY = 0.5  # seconds between pointer moves of each session in the latency phase


async def settled_cpu(pid: int, within: float = 60, quiet_for: int = 3) -> float:
    """The process's CPU seconds once it has stopped working (e.g. gzipping a recording):
    ``quiet_for`` 0.3 s intervals in a row with (almost) no CPU."""
    deadline, last, calm = time.monotonic() + within, cpu_seconds(pid), 0
    while time.monotonic() < deadline and calm < quiet_for:
        await asyncio.sleep(0.3)
        now = cpu_seconds(pid)
        calm = calm + 1 if now - last < 0.015 else 0
        last = now
    return last


async def desktop_cpu_share(desktop: list[subprocess.Popen[bytes]], seconds: float = 3.0) -> float:
    """Cores the desktop's X server, terminal and painter use while nobody watches."""
    before = sum(cpu_seconds(p.pid) for p in desktop)
    await asyncio.sleep(seconds)
    return (sum(cpu_seconds(p.pid) for p in desktop) - before) / seconds


async def quiet(guacd_pid: int, within: float = 30) -> None:
    """Wait until guacd's per-connection processes of the last phase are gone."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and peers.guacd_children(guacd_pid):  # noqa: ASYNC110 - polls /proc
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)


async def start(opener: Opener, vnc_port: int) -> Session:
    driver = Driver(await opener(vnc_port))
    task = asyncio.create_task(driver.run())
    try:
        await asyncio.wait_for(driver.first_sync.wait(), 20)  # a stuck open is retried (latency phase)
        if driver.ended.is_set():
            raise RuntimeError(f"the session ended before its first frame {driver.error}".strip())
    except BaseException:
        await finish(driver, task)
        raise
    return driver, task


async def finish(driver: Driver, task: asyncio.Task[None]) -> None:
    await driver.conn.close()
    try:
        await asyncio.wait_for(task, 10)
    except (TimeoutError, asyncio.CancelledError):
        task.cancel()


async def throughput(name: str, opener: Opener, vnc_port: int, pid: int | None, seconds: float,
                     res: Results, guacd_pid: int) -> None:
    driver, task = await start(opener, vnc_port)
    await asyncio.sleep(1.0)  # past the first full-screen frame
    cpu0 = cpu_seconds(pid) if pid else 0.0
    n0, b0, t0 = driver.instructions, driver.nbytes, time.perf_counter()
    await asyncio.sleep(seconds)
    n1, b1, t1 = driver.instructions, driver.nbytes, time.perf_counter()
    cpu = cpu_seconds(pid) - cpu0 if pid else 0.0
    await finish(driver, task)
    await quiet(guacd_pid)  # guacd has hung up: webgate gzips and stores the recording now
    total = (await settled_cpu(pid) - cpu0) if pid else 0.0
    res.add_throughput(name, n1 - n0, b1 - b0, t1 - t0, cpu, total)
    mb = (b1 - b0) / 1e6
    print(f"  {name:26} {(n1 - n0) / (t1 - t0):7.0f} instr/s {mb / (t1 - t0):6.1f} MB/s"
          + (f"  relay cpu {cpu / mb:.4f} s/MB, {total / mb:.4f} with the session's end" if pid else ""), flush=True)


async def open_many(starts: list[Callable[[], Awaitable[Session]]], parallel: int, tries: int,
                    failures: list[str]) -> list[Session]:
    """Run the openers, ``parallel`` at a time; a failed open is noted and retried up to ``tries`` times."""
    sem = asyncio.Semaphore(parallel)

    async def one(begin: Callable[[], Awaitable[Session]]) -> Session | None:
        for _ in range(tries):
            async with sem:
                try:
                    return await begin()
                except Exception as exc:  # noqa: BLE001
                    failures.append(f"{type(exc).__name__}: {exc}")
        return None

    return [s for s in await asyncio.gather(*(one(b) for b in starts)) if s is not None]


def connection_ids(log: Path, offset: int) -> list[str]:
    """guacd's ids of the connections it created since ``offset`` in its log."""
    return [m.decode() for m in re.findall(rb'Connection ID is "(\$[0-9a-f-]+)"', log.read_bytes()[offset:])]


def per_frame(relayed: list[Session], joined: list[Session]) -> list[float]:
    """For each relayed session, the joiner that saw the same frames (the same sync stamps): the
    relay's delay of every frame = its arrival through the relay − its arrival at the joiner."""
    added: list[float] = []
    for r, _ in relayed:
        got = r.arrivals or {}
        best = max(joined, key=lambda j: len(got.keys() & (j[0].arrivals or {}).keys()), default=None)
        if best is None:
            continue
        seen = best[0].arrivals or {}
        common = got.keys() & seen.keys()
        if len(common) >= len(got) // 2:  # the joiner of this very connection, not a look-alike
            added += [got[t] - seen[t] for t in common]
    return added


async def move(driver: Driver, phase: float, count: Iterator[int], moved: dict[tuple[int, int], float]) -> None:
    """Move the pointer every MOVE_EVERY seconds, each time to a position no session used in this window."""
    await asyncio.sleep(phase)
    while True:
        k = next(count)
        position = (k % 1000 + 1, k // 1000 + 1)
        moved[position] = time.monotonic() * 1000
        await driver.move_pointer(*position)
        await asyncio.sleep(MOVE_EVERY)


async def latency(name: str, opener: Opener, vnc_port: int, pid: int | None, args: argparse.Namespace,
                  res: Results, guacd_port: int, guacd_log: Path) -> None:
    """Open ``--sessions`` sessions through the relay and, for each, a direct read-only joiner of the
    same guacd connection; sample one window; close them (rounds interleave the paths)."""
    failures: list[str] = []
    offset = guacd_log.stat().st_size  # noqa: ASYNC240 - a local log file, read between phases
    began = time.monotonic()
    relayed = await open_many([lambda: start(opener, vnc_port)] * args.sessions, args.parallel, 3, failures)
    ids: list[str] = []
    for _ in range(30):  # guacd logs each id when the connection is made
        ids = connection_ids(guacd_log, offset)
        if len(ids) >= len(relayed):
            break
        await asyncio.sleep(0.1)
    def joiner(cid: str) -> Callable[[], Awaitable[Session]]:
        return lambda: start(lambda _port: DirectGuacd.join(guacd_port, cid, peers.SIZE), vnc_port)

    join_failures: list[str] = []  # ids of sessions that failed to open: nothing to join
    joined = await open_many([joiner(cid) for cid in ids], args.parallel, 1, join_failures)
    if failures:
        res.open_failures.setdefault(name, []).extend(failures)
        print(f"    {len(failures)} opens failed: {sorted(set(failures))}", flush=True)
    if len(relayed) < args.sessions:
        res.notes.append(f"{name}: only {len(relayed)} of {args.sessions} sessions opened")
    try:
        await asyncio.sleep(2.0)
        sync: list[float] = []
        direct: list[float] = []
        ping: list[float] = []
        moved: dict[tuple[int, int], float] = {}
        seen: dict[tuple[int, int], float] = {}
        for driver, _task in relayed:
            driver.sync_ms, driver.ping_ms, driver.arrivals = sync, ping, {}
        for driver, _task in joined:
            driver.sync_ms, driver.arrivals, driver.pointer_seen = direct, {}, seen
        with client_gc_paused():
            busy0, total0 = machine_busy()
            gw0, w0 = (cpu_seconds(pid) if pid else 0.0), time.perf_counter()
            spy = profile(pid, args, guacd_log.parent, name)
            count = itertools.count(1)
            movers = [asyncio.create_task(move(d, i * MOVE_EVERY / len(relayed), count, moved))
                      for i, (d, _t) in enumerate(relayed)]
            await asyncio.sleep(args.window_seconds)
            for task in movers:
                task.cancel()
            if spy is not None:
                spy.wait(30)
            await asyncio.sleep(0.5)  # the last moves arrive
            for driver, _task in relayed + joined:
                driver.sync_ms = driver.ping_ms = driver.pointer_seen = None
            busy1, total1 = machine_busy()
        use = (f"machine busy {(busy1 - busy0) / max(total1 - total0, 1e-9):.0%} of {os.cpu_count()} cores"
               + (f", relay cpu {(cpu_seconds(pid) - gw0) / (time.perf_counter() - w0):.0%}" if pid else "")
               + f", load {os.getloadavg()[0]:.1f}")
        back = [seen[k] - t for k, t in moved.items() if k in seen]
        res.add_latency(name, sync, ping, use, direct, per_frame(relayed, joined), back)
        print(f"  {name:26} {len(relayed)} sessions + {len(joined)} direct joiners (opened in {w0 - began - 2:.0f} s):"
              f" {res.latency_line(name)}", flush=True)
    finally:
        await asyncio.gather(*(finish(d, t) for d, t in relayed + joined), return_exceptions=True)


def profile(pid: int | None, args: argparse.Namespace, work: Path, name: str) -> subprocess.Popen[bytes] | None:
    """``--profile``: py-spy samples webgate's event loop through this latency window (collapsed stacks)."""
    if not (args.profile and pid and name == "webgate"):
        return None
    out = work / f"profile-latency-{time.monotonic():.0f}.txt"
    print(f"    profiling webgate into {out}", flush=True)
    return subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--duration", str(int(args.window_seconds)),  # noqa: S603, S607
                             "--rate", "250", "--format", "raw", "--nonblocking", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="throughput window per repeat")
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--sessions", type=int, default=50, help="concurrent sessions in the latency phase")
    parser.add_argument("--windows", type=int, default=4, help="latency rounds (sessions reopened each round)")
    parser.add_argument("--window-seconds", type=float, default=10)
    parser.add_argument("--parallel", type=int, default=8, help="sessions opened at a time")
    parser.add_argument("--webp", action="store_true", help="clients also offer image/webp")
    parser.add_argument("--no-lite", action="store_true", help="skip guacamole-lite")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs) and print it")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy webgate in each latency window (collapsed stacks in the kept temp dir)")
    args = parser.parse_args()
    args.keep = args.keep or args.profile

    work = Path(tempfile.mkdtemp(prefix="wg-desk-bench-"))
    res = Results(seconds=args.seconds, repeats=args.repeats, sessions=args.sessions, windows=args.windows,
                  window_seconds=args.window_seconds, load_start=os.getloadavg())
    procs: list[subprocess.Popen[bytes]] = []
    guacd_pid = 0
    try:
        guacd_port = peers.start_guacd(work, procs)
        guacd_pid = procs[-1].pid
        busy = peers.start_desktop(work, procs, ["--fps", "60"])
        busy_procs = procs[-2:]  # its Xvnc and xterm (the painter is the xterm's child)
        light = peers.start_desktop(work, procs, ["--fps", "10", "--lines", "1"])
        data = work / "gw"
        data.mkdir()
        peers.create_admin(data)
        gw = peers.start_webgate(data, guacd_port, [busy, light])
        procs.append(gw.proc)
        prov = peers.provision(gw, [busy, light])
        gw_norec = peers.start_webgate(data, guacd_port, [busy, light], recording=False)
        procs.append(gw_norec.proc)
        lite = None
        if not args.no_lite and peers.ensure_guacamole_lite():
            lite = peers.start_guacamole_lite(work, guacd_port)
            procs.append(lite.proc)
        else:
            res.notes.append("guacamole-lite was not measured (disabled or could not be installed)")

        image = peers.IMAGE + (["image/webp"] if args.webp else [])
        res.image = image

        def webgate(addr: str) -> Opener:
            headers = {"Origin": f"http://{addr}", "Cookie": prov.cookie}
            w, h = peers.SIZE
            return lambda port: WSTunnel.open(f"ws://{addr}/ws/guacamole?asset={prov.assets[port]}&account=vnc"
                                              f"&protocol=vnc&width={w}&height={h}&dpi=96"
                                              + "".join(f"&image={t}" for t in image), headers)

        openers: dict[str, tuple[Opener, int | None]] = {
            "direct guacd": (lambda port: DirectGuacd.open(guacd_port, port, peers.VNC_PASSWORD, peers.SIZE,
                                                            tuple(image)), None),
            "webgate": (webgate(gw.addr), gw.pid),
            "webgate, recording off": (webgate(gw_norec.addr), gw_norec.pid),
        }
        if lite:
            openers["guacamole-lite"] = (
                lambda port: WSTunnel.open(f"ws://{lite.addr}/?token={peers.lite_token(port, image)}"), lite.pid)
        print(f"work dir {work}; guacd :{guacd_port}, Xvnc busy :{busy} light :{light}, webgate :{gw.port} "
              f"(recording off :{gw_norec.port})" + (f", guacamole-lite :{lite.port}" if lite else ""), flush=True)
        print("warm-up", flush=True)
        for opener, _ in openers.values():
            await finish(*await start(opener, light))
        await quiet(guacd_pid)

        print(f"1. throughput on the busy desktop, {args.seconds:.0f} s windows, {args.repeats} repeats (interleaved)",
              flush=True)
        names = list(openers)
        for i in range(args.repeats):  # each repeat starts with the next path: no path always follows another
            for name in names[i % len(names):] + names[:i % len(names)]:
                opener, pid = openers[name]
                await throughput(name, opener, busy, pid, args.seconds, res, guacd_pid)

        # The busy desktop is not part of the latency phase: left painting, its Xvnc and xterm
        # took a CPU share from the relays and guacd that a target on its own host does not.
        res.busy_desktop_cpu = await desktop_cpu_share(busy_procs)
        for proc in busy_procs:
            stop(proc)
        print(f"2. latency on the light desktop, {args.sessions} sessions per path, {args.windows} rounds "
              "(interleaved)", flush=True)
        relays = [n for n in names if n != NOREC]  # the recording's cost shows in the throughput
        for i in range(args.windows):
            for name in relays[i % len(relays):] + relays[:i % len(relays)]:
                opener, pid = openers[name]
                await latency(name, opener, light, pid, args, res, guacd_port, work / "guacd.log")
                await quiet(guacd_pid)
    finally:
        for proc in reversed(procs):
            peers.stop_guacd(proc) if proc.pid == guacd_pid else stop(proc)
        res.load_end = os.getloadavg()
        if args.keep:
            print(f"kept {work}")
        else:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    report(res)


if __name__ == "__main__":
    import uvloop

    # The one client process reads every session's socket (100 at 50 sessions, with the
    # joiners) on the same two cores as guacd and the relays: uvloop keeps its own share of
    # the CPU, and so the measurement's floor, down — for every path alike.
    uvloop.run(main())
