"""WS/DOS: hostile browsers and a hostile target against /ws/terminal, with a real sshd.

Each abuser (a 10 MiB frame, a fragmented message that grows past the limit, invalid
UTF-8 in a text frame, a thousand control messages a second, a target printing
/dev/urandom to a browser that stops reading) must get a clear error frame or close
code, its session row must be finalised, the gateway's memory must stay bounded (RSS
of this process, which serves the gateway) and another user's session must keep
echoing: its round-trip p99, measured *during* the flood, stays under a generous
bound (exact figures belong in bench/, not here).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest
import websockets

from tests.integration.terminal_client import (
    Term,
    grant,
    make_account,
    make_ssh_asset,
    user_and_cookie,
)
from tests.peers.sshd import SshPeer
from webgate.db.models import Session
from webgate.services import Services
from webgate.sessions.registry import live_sessions
from webgate.settings import Settings

pytestmark = pytest.mark.slow

MIB = 1 << 20
# Generous on purpose: 2 shared cores, the gateway, sshd and every client in one event loop.
ECHO_P99_BOUND = 2.0  # seconds
# A 10 MiB frame is held whole by the socket layer before it can be refused: 32 MiB is room
# for that; 50 MB of target output must not be held at all (16 MiB; ~3 MiB measured).
RSS_GROWTH_BOUND = 32 * MIB
URANDOM_RSS_BOUND = 16 * MIB
# What may be read from a target for a browser that reads nothing: socket buffers and the
# SSH window on loopback, not the 50 MB the target prints.
STALLED_BOUND = 16 * MIB
FLOOD_TIME = 120.0  # seconds


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """sshd listens on loopback, which the target address policy refuses by default."""
    return settings.with_(allow_targets=("127.0.0.0/8",))


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@dataclass
class RssWatch:
    """Samples this process's resident memory while a flood runs."""

    bound: int = RSS_GROWTH_BOUND
    base: int = field(default_factory=rss)
    peak: int = 0

    async def run(self) -> None:
        while True:
            self.peak = max(self.peak, rss())
            assert self.growth < self.bound, f"gateway RSS grew by {self.growth / MIB:.0f} MiB during the flood"
            await asyncio.sleep(0.02)

    @property
    def growth(self) -> int:
        return self.peak - self.base


@dataclass
class Setup:
    cookie: str
    query: str
    services: Services


@pytest.fixture
async def ops(services: Services, gateway: str, sshd: SshPeer) -> Setup:
    user, cookie = await user_and_cookie(services, gateway)
    asset = await make_ssh_asset(services, sshd.port)
    await make_account(services, asset, "ops", sshd.password_user, secret=sshd.password)
    await grant(user, asset, ["ops"], actions=("connect", "paste"))
    return Setup(cookie, f"asset={asset.id}&account=ops", services)


class Victim:
    """Another user's session typing one key at a time and timing each echo."""

    def __init__(self, term: Term) -> None:
        self.term = term
        self.rtts: list[float] = []

    async def _echo(self, key: bytes, expect: bytes) -> None:
        start = time.perf_counter()
        seen = len(self.term.raw)
        await self.term.send(key)
        await self.term.wait_for(lambda t: expect in t.raw[seen:], timeout=30)
        self.rtts.append(time.perf_counter() - start)

    async def run(self) -> None:
        while True:
            await self._echo(b"z", b"z")
            await self._echo(b"\x7f", b"\x08")  # erase it again, so the line never grows
            await asyncio.sleep(0.02)

    def p99(self) -> float:
        assert len(self.rtts) >= 10, f"only {len(self.rtts)} echoes measured during the flood"
        return statistics.quantiles(self.rtts, n=100)[98] if len(self.rtts) >= 100 else max(self.rtts)


async def during_flood(gateway: str, ops: Setup, flood: Callable[[], Coroutine[Any, Any, Any]],
                       rss_bound: int = RSS_GROWTH_BOUND) -> tuple[Any, Victim, RssWatch]:
    """Run ``flood`` while a victim session echoes; returns what it returned, the victim and the memory watch.

    The memory watch fails the test as soon as the bound is passed, and the flood has two
    minutes: a gateway that buffers without bound fails here instead of swapping or hanging.
    """
    victim_term = await Term.connect(gateway, ops.cookie, ops.query)
    await victim_term.opened()
    await victim_term.run("echo victim-ready", "victim-ready")
    victim, watch = Victim(victim_term), RssWatch(rss_bound)
    flooding = asyncio.create_task(flood())
    watchers = [asyncio.create_task(victim.run()), asyncio.create_task(watch.run())]
    try:
        done, _ = await asyncio.wait({flooding, *watchers}, timeout=FLOOD_TIME, return_when=asyncio.FIRST_COMPLETED)
        assert done, f"the flood did not finish in {FLOOD_TIME:.0f} s; RSS +{watch.growth / MIB:.0f} MiB"
        for task in done:
            task.result()  # a watcher ending first is the finding (victim stuck, memory over the bound)
        result = flooding.result()
        await asyncio.sleep(0.2)  # a few echoes after the flood, too
        for task in watchers:
            if task.done():
                task.result()
    finally:
        for task in (flooding, *watchers):
            task.cancel()
        await asyncio.gather(flooding, *watchers, return_exceptions=True)
    await victim_term.run("echo victim-still-here", "victim-still-here")
    await victim_term.close()
    return result, victim, watch


def assert_unharmed(victim: Victim, watch: RssWatch) -> None:
    print(f"victim echoes {len(victim.rtts)}, p99 {victim.p99() * 1000:.0f} ms; RSS +{watch.growth / MIB:.1f} MiB")
    assert victim.p99() < ECHO_P99_BOUND, f"victim echo p99 {victim.p99():.3f}s during the flood"
    assert watch.growth < watch.bound, f"gateway RSS grew by {watch.growth / MIB:.0f} MiB"


async def ended_row(session_id: str) -> Session:
    deadline = time.monotonic() + 15
    while True:
        row = await Session.get(id=session_id)
        if row.status == "ended" or time.monotonic() > deadline:
            return row
        await asyncio.sleep(0.1)


async def abuse(gateway: str, ops: Setup, act: Callable[[Term], Coroutine[Any, Any, Any]]) -> Term:
    """Open a session, let ``act`` misbehave on it, and wait until the gateway has closed it."""
    term = await Term.connect(gateway, ops.cookie, ops.query)
    await term.opened()
    with contextlib.suppress(websockets.ConnectionClosed):  # closed while it was still sending
        await act(term)
    await term.wait_for(lambda t: t.ws.close_code is not None, timeout=30)
    return term


async def assert_protocol_error(term: Term, close_code: int, error_code: str | None) -> None:
    """The abuser heard why (error frame and/or close code) and its row ended as a protocol error."""
    assert term.ws.close_code == close_code
    if error_code is not None:
        err = term.control("error")
        assert err is not None and err["code"] == error_code and err["fatal"] is True, term.controls
    opened = term.control("status", state="open")
    assert opened is not None
    row = await ended_row(opened["session_id"])
    assert row.status == "ended" and row.end_reason == "protocol_error"
    assert row.bytes_in < 1024  # none of the oversized message reached the target


# -- hostile browsers ---------------------------------------------------------------------


_SENDS: set[asyncio.Task[None]] = set()


async def ten_mib(term: Term) -> None:
    """Start sending a 10 MiB frame and return: the gateway refuses it part-way and closes, and
    a send cut off like that may never finish (the client library then waits, shielded, for a
    connection end it only learns by reading). ``abuse`` reads on until the close instead."""
    task = asyncio.create_task(term.send(b"\x00" * (10 * MIB)))
    _SENDS.add(task)
    task.add_done_callback(lambda t: (_SENDS.discard(t), t.cancelled() or t.exception()))


async def test_ten_mib_frame_is_refused_with_an_error_frame(gateway: str, ops: Setup) -> None:
    abuser, victim, watch = await during_flood(gateway, ops, lambda: abuse(gateway, ops, ten_mib))
    await assert_protocol_error(abuser, 1008, "too_large")
    assert_unharmed(victim, watch)


async def test_frames_over_the_servers_limit_are_cut_by_the_socket(production_gateway: str, ops: Setup) -> None:
    """``webgate serve`` caps frames at 1 MiB: a 10 MiB frame never reaches the app whole."""
    address = production_gateway
    abuser, victim, watch = await during_flood(address, ops, lambda: abuse(address, ops, ten_mib))
    await assert_protocol_error(abuser, 1009, None)  # 1009 "message too big"
    assert_unharmed(victim, watch)


async def test_fragmented_frames(gateway: str, ops: Setup) -> None:
    """A message in many fragments is one message: small ones work, one growing past the limit is refused."""

    async def fragments(term: Term) -> None:
        await term.ws.send([b"echo ", b"frag", b"mented-", b"ok\n"])  # four fragments, one input
        await term.until_output("fragmented-ok")
        await term.ws.send(['{"type": "pi', 'ng", "t": 7', "}"])  # a control message in fragments
        assert (await term.until_control("pong"))["t"] == 7
        await term.ws.send(b"\x00" * (64 << 10) for _ in range(160))  # 10 MiB in 64 KiB fragments

    abuser, victim, watch = await during_flood(gateway, ops, lambda: abuse(gateway, ops, fragments))
    await assert_protocol_error(abuser, 1008, "too_large")
    assert_unharmed(victim, watch)


async def test_invalid_utf8_in_a_text_frame_closes_as_a_protocol_error(gateway: str, ops: Setup) -> None:
    async def invalid_utf8(term: Term) -> None:
        await term.ws.send(b'{"type": "ping", "t": "\xff\xfe\xc0\xaf"}', text=True)

    abuser, victim, watch = await during_flood(gateway, ops, lambda: abuse(gateway, ops, invalid_utf8))
    await assert_protocol_error(abuser, 1007, None)  # 1007 "invalid frame payload data"
    assert_unharmed(victim, watch)


async def test_a_thousand_control_messages_a_second(gateway: str, ops: Setup) -> None:
    """Pings and resizes at 1,000/s for 3 s: every ping answered, none lost, the shell still right."""

    async def flood() -> Term:
        term = await Term.connect(gateway, ops.cookie, ops.query)
        await term.opened()
        sent = 0
        start = time.perf_counter()
        for second in range(3):
            for i in range(1000):
                if i % 2:
                    await term.send({"type": "ping", "t": sent})
                else:
                    await term.send({"type": "resize", "cols": 80 + i % 40, "rows": 24 + i % 10})
                sent += 1
                if i % 100 == 99:  # pace it: 1,000 per second, not as fast as the socket takes them
                    await asyncio.sleep(max(0.0, start + second + (i + 1) / 1000 - time.perf_counter()))
        await term.send({"type": "resize", "cols": 91, "rows": 21})
        await term.send({"type": "ping", "t": "last"})
        await term.until_control("pong", t="last", timeout=60)
        return term

    term, victim, watch = await during_flood(gateway, ops, flood)
    pongs = [c for c in term.controls if c["type"] == "pong"]
    assert len(pongs) == 1501 and not [c for c in term.controls if c["type"] == "error"]
    await term.run("stty size", "21 91")  # the last resize won, in order
    await term.close()
    assert_unharmed(victim, watch)


# -- a hostile target ---------------------------------------------------------------------


async def test_target_printing_urandom_to_a_browser_that_stops_reading(gateway: str, ops: Setup) -> None:
    """50 MB of /dev/urandom while the browser reads nothing for 5 s: back-pressure, not buffers."""

    async def flood() -> tuple[int, dict[str, Any]]:
        ws = await websockets.connect(f"ws://{gateway}/ws/terminal?{ops.query}",
                                      additional_headers={"Origin": f"http://{gateway}", "Cookie": ops.cookie},
                                      max_size=None, max_queue=4)
        opened: dict[str, Any] = {}
        while opened.get("state") != "open":
            msg = await ws.recv()
            if isinstance(msg, str):
                opened = json.loads(msg)
        await ws.send(b"head -c 50M /dev/urandom; echo; echo urandom-$((6*7))-done\n")
        await asyncio.sleep(5)  # reads nothing: the gateway must stop reading the target
        live = live_sessions(ops.services).get(uuid.UUID(opened["session_id"]))
        assert live is not None
        stalled_out = live.meter.bytes_out
        print(f"read from the target while the browser read nothing: {stalled_out / MIB:.1f} MiB")
        assert stalled_out < STALLED_BOUND, "the gateway kept reading the target for a browser that reads nothing"
        received, tail = 0, b""
        while b"urandom-42-done\r\n" not in tail:
            msg = await asyncio.wait_for(ws.recv(), 60)
            if isinstance(msg, bytes):
                received += len(msg)
                tail = (tail + msg)[-4096:]
        await ws.close()
        return received, opened

    (received, opened), victim, watch = await during_flood(gateway, ops, flood, URANDOM_RSS_BOUND)
    assert received > 50_000_000
    row = await ended_row(opened["session_id"])
    assert row.status == "ended" and row.end_reason == "client_closed" and row.bytes_out >= 50_000_000
    assert_unharmed(victim, watch)


# -- abrupt ends --------------------------------------------------------------------------


async def test_a_browser_that_vanishes_mid_output_finalises_its_row(gateway: str, ops: Setup) -> None:
    """No close frame, no FIN handshake: the TCP connection is aborted while the target prints."""
    term = await Term.connect(gateway, ops.cookie, ops.query)
    opened = await term.opened()
    await term.send(b"yes vanish-test | head -c 20M\n")
    await term.until_output("vanish-test")
    term.ws.transport.abort()
    row = await ended_row(opened["session_id"])
    assert row.status == "ended" and row.end_reason in ("client_closed", "client_gone"), row.end_reason
    assert row.ended_at is not None and row.bytes_out > 0
    assert not live_sessions(ops.services).get(uuid.UUID(opened["session_id"]))
