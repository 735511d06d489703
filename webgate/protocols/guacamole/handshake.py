"""The gateway side of the guacd handshake; the browser never takes part in it.

``select PROTOCOL`` → guacd answers ``args VERSION_x_y_z name...`` → the gateway sends
``size``, ``audio``, ``video``, ``image``, ``timezone`` and then ``connect`` with one value
per name, in the order guacd asked (the version echoed first; names we have no value
for are sent empty) → guacd answers ``ready $connection-id``.

``ready`` means guacd started the connection, NOT that the target accepted the login:
a wrong VNC password arrives afterwards as ``error "..." 519``. The relay watches for
that. Bytes guacd sent after ``ready`` are returned as ``pending`` for the relay.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from webgate.protocols.guacamole.instruction import InstructionError, encode, parse_one
from webgate.protocols.guacamole.relay import instruction_end

log = logging.getLogger("webgate.guacamole")

HANDSHAKE_TIMEOUT = 15.0  # seconds for the TCP connect, and again for the handshake itself
_MAX_HANDSHAKE = 1 << 16


class HandshakeFailed(Exception):
    """guacd refused or broke the handshake; ``status`` is guacd's code when it sent one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Display:
    """What the browser told us about its screen (checked by the endpoint)."""

    width: int = 1024
    height: int = 768
    dpi: int = 96
    timezone: str = ""
    audio: tuple[str, ...] = ()
    video: tuple[str, ...] = ()
    image: tuple[str, ...] = ("image/png", "image/jpeg", "image/webp")


@dataclass
class Connected:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    connection_id: str  # guacd's own id: never shown to the browser (CVE-2021-41767)
    version: str
    pending: bytes = field(default=b"", repr=False)


class _Reader:
    """Whole instructions from guacd during the handshake, keeping whatever follows."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.buf = b""

    async def next(self) -> list[str]:
        while True:
            end = instruction_end(self.buf) if self.buf else None
            if end is not None:
                raw, self.buf = self.buf[:end], self.buf[end:]
                return parse_one(raw.decode("utf-8"), max_chars=_MAX_HANDSHAKE, max_elements=1024)
            if len(self.buf) > _MAX_HANDSHAKE:
                raise HandshakeFailed("guacd sent a handshake instruction that is too large.")
            data = await self.reader.read(8192)
            if not data:
                raise HandshakeFailed("guacd closed the connection during the handshake.")
            self.buf += data


def connect_values(arg_names: list[str], params: Mapping[str, str]) -> list[str]:
    """``connect``'s values in guacd's order: the version echoed, then one per parameter name."""
    version, names = arg_names[0], arg_names[1:]
    first = version if version.startswith("VERSION_") else params.get(version, "")
    return [first, *(params.get(name, "") for name in names)]


def _expect(instruction: list[str], opcode: str) -> None:
    if instruction[0] == "error":
        status = int(instruction[2]) if len(instruction) > 2 and instruction[2].isdigit() else None
        raise HandshakeFailed(instruction[1] if len(instruction) > 1 else "guacd refused", status)
    if instruction[0] != opcode:
        raise HandshakeFailed(f"guacd sent '{instruction[0][:32]}' where '{opcode}' was expected.")


async def handshake(host: str, port: int, protocol: str, params: Mapping[str, str], display: Display) -> Connected:
    """Open a guacd connection and run the handshake; raises HandshakeFailed, OSError or TimeoutError."""
    async with asyncio.timeout(HANDSHAKE_TIMEOUT):
        reader, writer = await asyncio.open_connection(host, port)
    try:
        async with asyncio.timeout(HANDSHAKE_TIMEOUT):
            return await _run(reader, writer, protocol, params, display)
    except BaseException:
        writer.close()
        raise


async def _run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, protocol: str,
               params: Mapping[str, str], display: Display) -> Connected:
    incoming = _Reader(reader)
    writer.write(encode("select", protocol).encode())
    await writer.drain()
    try:
        args = await incoming.next()
        _expect(args, "args")
        if len(args) < 2:
            raise HandshakeFailed("guacd sent no parameter names.")
        values = connect_values(args[1:], params)
        out = [
            encode("size", str(display.width), str(display.height), str(display.dpi)),
            encode("audio", *display.audio),
            encode("video", *display.video),
            encode("image", *display.image),
        ]
        if display.timezone:
            out.append(encode("timezone", display.timezone))
        out.append(encode("connect", *values))
        writer.write("".join(out).encode())
        del values, out
        await writer.drain()
        ready = await incoming.next()
        _expect(ready, "ready")
    except (InstructionError, UnicodeDecodeError) as exc:
        raise HandshakeFailed(f"guacd broke the protocol during the handshake ({exc}).") from None
    return Connected(reader, writer, connection_id=ready[1] if len(ready) > 1 else "", version=args[1],
                     pending=incoming.buf)


class NoGuacd(Exception):
    """No configured guacd endpoint accepted a connection."""


async def handshake_any(endpoints: Sequence[tuple[str, int]], protocol: str, params: Mapping[str, str],
                        display: Display) -> Connected:
    """Spread sessions over the guacd endpoints (random start), skipping dead ones."""
    if not endpoints:
        raise NoGuacd("no guacd endpoint is configured")
    first = random.randrange(len(endpoints))  # noqa: S311 - load spreading, not security
    for host, port in (*endpoints[first:], *endpoints[:first]):
        try:
            return await handshake(host, port, protocol, params, display)
        except (OSError, TimeoutError) as exc:
            log.warning("guacd %s:%s not usable (%s); trying the next one", host, port, type(exc).__name__)
    raise NoGuacd("no guacd endpoint answered")
