"""One Guacamole display client, three ways: straight to guacd, through guacamole-lite, through webgate.

``Driver`` does what guacamole-common-js does with the stream, minus the drawing: it finds
instruction boundaries (webgate's own ``split_complete``, the same for every peer), answers
every ``sync`` with its timestamp at once, and — on the WebSocket tunnels, like the browser —
sends the tunnel ping ``0.,4.ping,<ms>;`` every ``PING_EVERY`` seconds. It counts
instructions and bytes, and can keep two latency samples:

- ``sync_ms``: client arrival time − the timestamp guacd put in the ``sync`` that ends a
  frame (guacd stamps it with its wall clock in ms just before flushing the frame; same
  machine; guacd 1.3.0 here stamps with CLOCK_MONOTONIC, the client picks whichever of
  its monotonic and wall clocks the first stamp is near), i.e. how long after guacd finished a frame the client has all of
  it. The relay's share is the difference to the direct client under the same load.
- ``arrivals``: when each ``sync`` (by its stamp) arrived, to compare the same frames
  received by two users of one guacd connection (a relayed one and a direct read-only joiner);
- ``pointer_seen``: when another user's pointer position (guacd's ``mouse``, sent to every
  other user of a connection as soon as one user moves) arrived — a joiner sees the moves
  a relayed user sent through the relay, which times the way browser → relay → guacd;
- ``ping_ms``: the tunnel ping's round trip (webgate answers it itself: browser → gateway
  → browser through the same socket and event loop as the relayed drawing).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol

import websockets

from webgate.protocols.guacamole.handshake import Display, handshake
from webgate.protocols.guacamole.relay import split_complete

PING_EVERY = 0.5  # guacamole-common-js's WebSocketTunnel PING_FREQUENCY
_SYNC = b"4.sync,"
_PING = b"0.,4.ping,"


class Conn(Protocol):
    async def recv(self) -> bytes: ...  # b"" at the end
    async def send(self, data: bytes) -> None: ...
    async def close(self) -> None: ...
    tunnel: bool


class DirectGuacd:
    """The client speaks to guacd itself: the same handshake webgate does."""

    tunnel = False

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pending: bytes) -> None:
        self.reader, self.writer, self.pending = reader, writer, pending

    @classmethod
    async def open(cls, guacd_port: int, vnc_port: int, password: str, size: tuple[int, int],
                   image: tuple[str, ...] = Display.image) -> DirectGuacd:
        params = {"hostname": "127.0.0.1", "port": str(vnc_port), "password": password,
                  "disable-copy": "true", "disable-paste": "true"}
        c = await handshake("127.0.0.1", guacd_port, "vnc", params, Display(width=size[0], height=size[1], dpi=96,
                                                                                       image=image))
        return cls(c.reader, c.writer, c.pending)

    @classmethod
    async def join(cls, guacd_port: int, connection_id: str, size: tuple[int, int]) -> DirectGuacd:
        """A read-only second user of an existing guacd connection: it receives the same frames."""
        c = await handshake("127.0.0.1", guacd_port, connection_id, {"read-only": "true"},
                            Display(width=size[0], height=size[1], dpi=96))
        return cls(c.reader, c.writer, c.pending)

    async def recv(self) -> bytes:
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        return await self.reader.read(1 << 16)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.write(b"10.disconnect;")
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 5)


class WSTunnel:
    """A WebSocket tunnel opened the way a browser does (subprotocol ``guacamole``, deflate offered)."""

    tunnel = True

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, url: str, headers: dict[str, str] | None = None) -> WSTunnel:
        ws = await websockets.connect(url, subprotocols=[websockets.Subprotocol("guacamole")],
                                      additional_headers=headers or {}, max_size=None, open_timeout=60)
        return cls(ws)

    async def recv(self) -> bytes:
        try:
            data = await self.ws.recv(decode=False)
        except websockets.ConnectionClosed:
            return b""
        return data if isinstance(data, bytes) else data.encode()

    async def send(self, data: bytes) -> None:
        await self.ws.send(data.decode())

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 5)


class Driver:
    """Reads one connection until it ends; answers ``sync``; counts; samples latencies when asked."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.instructions = 0
        self.nbytes = 0
        self.syncs = 0
        self.sync_ms: list[float] | None = None  # set to a list to collect
        self.arrivals: dict[int, float] | None = None  # sync stamp → arrival (monotonic ms), when collecting
        self.pointer_seen: dict[tuple[int, int], float] | None = None  # another user's mouse (x, y) → arrival
        self.ping_ms: list[float] | None = None
        self.first_sync = asyncio.Event()
        self.ended = asyncio.Event()
        self._tail = b""
        self._pings: dict[bytes, float] = {}
        self.error = ""  # the first ``error`` instruction received, as text
        self._clock: float | None = None  # offset of guacd's sync clock from time.monotonic(), in ms

    async def run(self) -> None:
        pinger = asyncio.create_task(self._ping()) if self.conn.tunnel else None
        try:
            while data := await self.conn.recv():
                await self._feed(data)
        except (OSError, websockets.ConnectionClosed):
            pass
        finally:
            self.ended.set()
            self.first_sync.set()
            if pinger:
                pinger.cancel()

    def _offset(self, stamp: int) -> float:
        """guacd's stamp clock vs ours: monotonic (offset 0) or the wall clock."""
        if self._clock is None:
            wall = (time.time() - time.monotonic()) * 1000
            self._clock = 0.0 if abs(time.monotonic() * 1000 - stamp) < abs(wall + time.monotonic() * 1000 - stamp) \
                else wall
        return self._clock

    async def _feed(self, data: bytes) -> None:
        now = time.monotonic() * 1000
        buf = self._tail + data if self._tail else data
        done, starts = split_complete(buf)
        self._tail = buf[done:]
        self.instructions += len(starts)
        self.nbytes += len(data)
        acks: list[bytes] = []
        for start in starts:
            if buf.startswith(_SYNC, start):
                dot = buf.index(b".", start + 7)
                stamp = buf[dot + 1: dot + 1 + int(buf[start + 7: dot])]
                acks.append(b"4.sync,%d.%s;" % (len(stamp), stamp))
                if self.sync_ms is not None:
                    self.sync_ms.append(now + self._offset(int(stamp)) - int(stamp))
                if self.arrivals is not None:
                    self.arrivals[int(stamp)] = now
            elif buf.startswith(b"5.mouse,", start) and self.pointer_seen is not None:
                x, y = _two_numbers(buf, start + 8)
                self.pointer_seen.setdefault((x, y), now)
            elif buf.startswith(b"5.error,", start) and not self.error:
                self.error = buf[start: start + 300].decode(errors="replace")
            elif buf.startswith(_PING, start):
                dot = buf.index(b".", start + 10)
                sent = self._pings.pop(buf[dot + 1: dot + 1 + int(buf[start + 10: dot])], None)
                if sent is not None and self.ping_ms is not None:
                    self.ping_ms.append((time.perf_counter() - sent) * 1000)
        if acks:
            self.syncs += len(acks)
            await self.conn.send(b"".join(acks))
            self.first_sync.set()

    async def move_pointer(self, x: int, y: int) -> None:
        """What a browser sends when its user moves the mouse (guacd tells the connection's other users)."""
        await self.conn.send(b"5.mouse,%d.%d,%d.%d,1.0;" % (len(str(x)), x, len(str(y)), y))

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(PING_EVERY)
            stamp = str(int(time.time() * 1000)).encode()
            self._pings[stamp] = time.perf_counter()
            if len(self._pings) > 100:
                self._pings.clear()
            with contextlib.suppress(Exception):
                await self.conn.send(b"0.,4.ping,%d.%s;" % (len(stamp), stamp))


def _two_numbers(buf: bytes, pos: int) -> tuple[int, int]:
    """The first two elements at ``pos`` (``N.digits,M.digits``) as integers."""
    out: list[int] = []
    for _ in range(2):
        dot = buf.index(b".", pos)
        end = dot + 1 + int(buf[pos:dot])
        out.append(int(buf[dot + 1:end]))
        pos = end + 1
    return out[0], out[1]
