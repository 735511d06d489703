"""Telnet connector: RFC 854 with NAWS and TERMINAL-TYPE, and automatic login by prompts.

Network devices and old Unix hosts ask for a login name and a password as plain text
on the terminal. When the account has a password, the connector answers those prompts
itself (patterns configurable per asset, sane defaults) and waits for a shell prompt or
a failure message, so the user lands at the prompt and a wrong password is reported as
such. Everything the device printed meanwhile (banner, prompts) is handed over as the
first output, so the screen looks as if the user had typed it — except the password.

Without a password (a user-typed account) nothing is automated: the user answers.

Limits: the text kept during login is at most ``LOGIN_BUFFER`` bytes (the newest part);
each login step waits at most the login timeout. The data path after login is the
parser's: big reads, ``bytes.find`` for IAC, no per-byte Python loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from webgate.protocols.reach import dial_failed
from webgate.protocols.telnet_login import (
    InvalidOptions,
    LoginClosed,
    LoginFailed,
    LoginScript,
    LoginStalled,
)
from webgate.protocols.telnet_options import (
    BINARY,
    NAWS,
    TTYPE,
    TTYPE_IS,
    TTYPE_SEND,
    Negotiation,
    Negotiator,
    TelnetParser,
    escape_input,
    naws,
    subnegotiation,
)
from webgate.terminal.channel import ConnectFailed, Target

CONNECT_TIMEOUT = 10.0
KEEPALIVE_INTERVAL = 15  # seconds; like the SSH connector: a dead peer is noticed within about a minute
KEEPALIVE_COUNT_MAX = 4
READ_SIZE = 256 * 1024
REPLY_LIMIT = 64 * 1024  # negotiation answers are dropped while this much is unsent (a peer that never reads)
TERMINAL_TYPE = b"XTERM-256COLOR"


class TelnetChannel:
    """A telnet connection as a terminal ``Channel``; negotiation is answered inside ``read``."""

    exit_status: int | None = None
    host_key: str | None = None

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cols: int, rows: int) -> None:
        self._reader = reader
        self._writer = writer
        self._parser = TelnetParser()
        self._neg = Negotiator()
        self._size = (cols, rows)
        self._pending = b""  # output seen during login, handed to the first read
        self._closed = False
        sock = writer.get_extra_info("socket")
        if sock is not None:
            _keepalive(sock)
        self._send(self._neg.start())

    def _send(self, data: bytes) -> None:
        """Negotiation traffic: small, unawaited, and bounded against a peer that floods requests."""
        if not data or self._closed or self._writer.is_closing():
            return
        if self._writer.transport.get_write_buffer_size() > REPLY_LIMIT:
            return
        self._writer.write(data)

    async def receive(self) -> bytes:
        """Data from the wire with negotiation answered and stripped; ``b""`` at the end."""
        while True:
            try:
                raw = await self._reader.read(READ_SIZE)
            except (ConnectionError, OSError):
                raw = b""
            if not raw:
                return b""
            data, events = self._parser.feed(raw)
            for event in events:
                if isinstance(event, Negotiation):
                    reply, enabled = self._neg.receive(event)
                    self._send(reply)
                    if enabled == NAWS:
                        self._send(naws(*self._size))
                    self._parser.strip_cr_nul = BINARY not in self._neg.remote_on
                elif event.option == TTYPE and event.payload[:1] == bytes((TTYPE_SEND,)):
                    self._send(subnegotiation(TTYPE, bytes((TTYPE_IS,)) + TERMINAL_TYPE))
            if data:
                return data

    async def read(self) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        return await self.receive()

    async def write(self, data: bytes) -> None:
        if self._closed or self._writer.is_closing():
            return
        self._writer.write(escape_input(data, BINARY in self._neg.local_on))
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.drain()

    async def resize(self, cols: int, rows: int) -> None:
        self._size = (cols, rows)
        if NAWS in self._neg.local_on:
            self._send(naws(cols, rows))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), 5)


def _keepalive(sock: socket.socket) -> None:
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_INTERVAL)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_COUNT_MAX)


def _login_script(target: Target) -> LoginScript:
    try:
        return LoginScript.from_options(target.options)
    except InvalidOptions as exc:
        wrong = "; ".join(f"{key} {why}" for key, why in exc.errors.items())
        raise ConnectFailed(
            f"The telnet login settings of {target.asset_name or target.host} cannot be used: {wrong}. "
            "Ask your admin to correct them on the asset.", code="target_config_invalid",
            details={"fields": exc.errors}) from None


async def _dial(target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await asyncio.wait_for(asyncio.open_connection(target.host, target.port), CONNECT_TIMEOUT)
    except (TimeoutError, OSError) as exc:
        raise dial_failed(exc, target.host, target.port, CONNECT_TIMEOUT) from None


async def open_channel(target: Target) -> TelnetChannel:
    """Dial, negotiate, and log in automatically when the account has a password."""
    script = _login_script(target) if target.password is not None else None
    reader, writer = await _dial(target)
    channel = TelnetChannel(reader, writer, target.cols, target.rows)
    if script is None:
        return channel
    asset = target.asset_name or f"{target.host}:{target.port}"
    password = target.password or ""
    try:
        channel._pending = await script.run(channel, target.username, password)
    except (LoginFailed, LoginStalled, LoginClosed) as exc:
        await channel.close()
        raise _login_error(exc, target.username, asset, password) from None
    except BaseException:
        await channel.close()
        raise
    return channel


def _login_error(exc: LoginFailed | LoginStalled | LoginClosed, username: str, asset: str,
                 password: str) -> ConnectFailed:
    # A device that echoes the password must not get it quoted back into an error message.
    shown = exc.said.replace(password, "***") if password else exc.said
    tail = f" The last thing it showed was '{shown}'." if shown else ""
    if isinstance(exc, LoginFailed):
        said = f"the device said '{shown}'" if shown else "the device did not accept it"
        return ConnectFailed(f"Telnet login failed for account {username} on asset {asset}: {said}. "
                             "Ask your admin to update the account.", code="target_auth_failed")
    if isinstance(exc, LoginStalled):
        return ConnectFailed(f"{asset} did not {exc.waiting_for} within {exc.seconds:g} seconds.{tail} "
                             "If the device uses other wording, ask your admin to set the telnet prompt "
                             "patterns on the asset.", code="target_timeout")
    return ConnectFailed(f"{asset} closed the telnet connection before the login finished.{tail} "
                         "Try again; if it persists, ask your admin to check the asset.", code="target_refused")
