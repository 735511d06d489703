"""One terminal, five ways: direct asyncssh, the OpenSSH client, webgate's, WebSSH's and ttyd's WebSocket.

Each ``Term`` has ``write(bytes)``, ``read() -> bytes`` (the next output chunk, ``b""``
at the end) and ``close()``, so that the measurements are written once. The WebSocket
clients behave as the browsers' pages do: webgate gets binary frames both ways with the
session cookie and its own Origin (and, like every browser, offers permessage-deflate
unless told not to); WebSSH gets a form POST, then ``/ws?id=`` with JSON text input; ttyd
gets its page's protocol (subprotocol ``tty``, a JSON hello with the size, then binary
frames whose first byte says what they carry: ``0`` input/output).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import asyncssh
import httpx
import websockets

from webgate.protocols.ssh import _CIPHERS as CIPHERS

READ_SIZE = 1 << 16


class Term(Protocol):
    async def write(self, data: bytes) -> None: ...
    async def read(self) -> bytes: ...
    async def close(self) -> None: ...


class DirectSSH:
    def __init__(self, conn: asyncssh.SSHClientConnection, stdin: asyncssh.SSHWriter[bytes],
                 stdout: asyncssh.SSHReader[bytes]) -> None:
        self.conn, self.stdin, self.stdout = conn, stdin, stdout

    @classmethod
    async def open(cls, port: int, user: str, key: asyncssh.SSHKey) -> DirectSSH:
        # The gateway's own cipher preference (AES-GCM first), so that the comparison is of the relay, not of
        # asyncssh's default chacha20-poly1305, which costs the client ~4x more per packet.
        conn = await asyncssh.connect("127.0.0.1", port, username=user, client_keys=[key], known_hosts=None,
                                      agent_path=None, config=None, connect_timeout=60, encryption_algs=CIPHERS)
        stdin, stdout, _ = await conn.open_session(term_type="xterm-256color", term_size=(80, 24), encoding=None,
                                                   env={"LANG": "C.UTF-8"})
        return cls(conn, stdin, stdout)

    async def write(self, data: bytes) -> None:
        self.stdin.write(data)

    async def read(self) -> bytes:
        return await self.stdout.read(READ_SIZE)

    async def close(self) -> None:
        self.conn.close()
        try:
            await asyncio.wait_for(self.conn.wait_closed(), 5)
        except (TimeoutError, OSError, asyncssh.Error):
            pass


class OpenSSH:
    """The `ssh` binary with a remote PTY (-tt), fed through pipes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def open(cls, port: int, user: str, key_path: Path) -> OpenSSH:
        proc = await asyncio.create_subprocess_exec(
            "ssh", "-tt", "-i", str(key_path), "-p", str(port), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
            "-F", "/dev/null", f"{user}@127.0.0.1",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        return cls(proc)

    async def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        await self.proc.stdin.drain()

    async def read(self) -> bytes:
        assert self.proc.stdout is not None
        return await self.proc.stdout.read(READ_SIZE)

    async def close(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
        await asyncio.wait_for(self.proc.wait(), 10)


class WebgateWS:
    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.controls: list[dict[str, object]] = []

    @classmethod
    async def open(cls, addr: str, cookie: str, asset: str, *, deflate: bool = True) -> WebgateWS:
        ws = await websockets.connect(
            f"ws://{addr}/ws/terminal?asset={asset}&protocol=ssh&account=bench&cols=80&rows=24",
            additional_headers={"Origin": f"http://{addr}", "Cookie": cookie}, max_size=None,
            compression="deflate" if deflate else None, open_timeout=60, ping_interval=None)
        return cls(ws)

    async def write(self, data: bytes) -> None:
        await self.ws.send(data)

    async def read(self) -> bytes:
        while True:
            try:
                msg = await self.ws.recv()
            except websockets.ConnectionClosed:
                return b""
            if isinstance(msg, bytes):
                return msg
            control = json.loads(msg)
            self.controls.append(control)
            if control.get("type") in ("exit", "error") and control.get("fatal", True):
                raise ConnectionError(f"webgate: {control}")

    async def close(self) -> None:
        await self.ws.close()


class WebSSHWS:
    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, addr: str, http: httpx.AsyncClient, port: int, user: str, key: str) -> WebSSHWS:
        r = await http.post(f"http://{addr}/", data={"hostname": "127.0.0.1", "port": str(port), "username": user,
                                                     "password": "", "privatekey": key, "term": "xterm-256color"})
        body = r.json()
        if r.status_code != 200 or not body.get("id"):
            raise ConnectionError(f"WebSSH: {r.status_code} {body}")
        ws = await websockets.connect(f"ws://{addr}/ws?id={body['id']}", max_size=None, open_timeout=60,
                                      ping_interval=None)
        return cls(ws)

    async def write(self, data: bytes) -> None:
        await self.ws.send(json.dumps({"data": data.decode()}))

    async def read(self) -> bytes:
        try:
            msg = await self.ws.recv()
        except websockets.ConnectionClosed:
            return b""
        return msg if isinstance(msg, bytes) else msg.encode()

    async def close(self) -> None:
        await self.ws.close()


class TtydWS:
    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, addr: str, *, deflate: bool = False) -> TtydWS:
        ws = await websockets.connect(f"ws://{addr}/ws", subprotocols=[websockets.Subprotocol("tty")],
                                      additional_headers={"Origin": f"http://{addr}"}, max_size=None,
                                      compression="deflate" if deflate else None, open_timeout=60,
                                      ping_interval=None)
        await ws.send(json.dumps({"AuthToken": "", "columns": 80, "rows": 24}).encode())  # ttyd spawns then
        return cls(ws)

    async def write(self, data: bytes) -> None:
        await self.ws.send(b"0" + data)

    async def read(self) -> bytes:
        while True:
            try:
                msg = await self.ws.recv(decode=False)
            except websockets.ConnectionClosed:
                return b""
            if msg[:1] == b"0":  # output; "1" (window title) and "2" (preferences) are not terminal bytes
                return bytes(msg[1:])

    async def close(self) -> None:
        await self.ws.close()


# -- what every measurement does with a Term -------------------------------------------------

async def read_until(term: Term, marker: bytes, within: float) -> tuple[int, int]:
    """Read until ``marker`` appears (also across chunk borders); returns (bytes, chunks) read."""
    total, chunks, tail = 0, 0, b""
    async with asyncio.timeout(within):
        while True:
            chunk = await term.read()
            if not chunk:
                raise ConnectionError(f"closed before {marker!r}")
            total += len(chunk)
            chunks += 1
            if marker in tail + chunk[:len(marker)] or marker in chunk:
                return total, chunks
            tail = chunk[-len(marker):]


async def wait_prompt(term: Term, within: float = 60) -> None:
    await read_until(term, b"$ ", within)


@dataclass
class Transfer:
    nbytes: int
    seconds: float
    chunks: int  # WebSocket frames (or SSH/pipe reads) that carried the output
    client_cpu: float  # CPU seconds of this (client) process during the transfer


async def stream(term: Term, path: Path, within: float = 120) -> Transfer:
    """`cat` a file through the terminal; timed from sending the line to the end marker."""
    start, cpu = time.perf_counter(), time.process_time()
    await term.write(f"cat {path}; echo END$((6*7))MARK\n".encode())
    nbytes, chunks = await read_until(term, b"END42MARK", within)
    return Transfer(nbytes, time.perf_counter() - start, chunks, time.process_time() - cpu)


async def make_echoer(term: Term, within: float = 60) -> None:
    """Leave the PTY echoing each byte at once (non-canonical) into `cat`: the kernel's echo, no shell work."""
    await term.write(b"stty -icanon; echo RE''ADY; exec cat >/dev/null\n")
    await read_until(term, b"READY\r\n", within)


async def echo_loop(term: Term, until: float, interval: float, offset: float, samples: list[float],
                    failures: list[str]) -> None:
    """Type one byte every ``interval`` seconds and time its echo, until ``until`` (perf_counter)."""
    await asyncio.sleep(offset)
    due = time.perf_counter()
    while time.perf_counter() < until:
        sent = time.perf_counter()
        try:
            async with asyncio.timeout(5):
                await term.write(b"x")
                while b"x" not in await term.read():
                    pass
        except Exception as exc:  # noqa: BLE001 - a failed session is counted, not fatal
            failures.append(type(exc).__name__)
            return
        samples.append((time.perf_counter() - sent) * 1000)
        due += interval
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
