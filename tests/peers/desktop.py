"""Remote-desktop peers shared by the integration, e2e, security tests and the bench:
guacd 1.3.0 and tigervnc's Xvnc with an xterm drawing, each on a free loopback port, and
``GuacClient``, a Guacamole client that drives ``/ws/guacamole`` the way
guacamole-common-js does (answers ``sync``, keeps every instruction and message).

A machine without guacd/Xvnc skips these tests locally and fails them in CI.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import websockets

from tests.peers.required import peer_missing
from tests.peers.sshd import free_port
from webgate.db.models import Asset, OperationLog, Organization, Session
from webgate.protocols.guacamole.instruction import Parser, encode
from webgate.services import Services

VNC_PASSWORD = "vnc-pass1"


@dataclass(frozen=True)
class Desktop:
    guacd_port: int
    vnc_port: int


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 10) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start listening")


def free_display() -> int:
    for _ in range(200):
        n = random.randrange(100, 900)
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number")


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in reversed(procs):
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def _log(work: Path, name: str) -> object:
    return open(work / name, "wb")  # noqa: SIM115 - owned by the child process


def guacd_children(pid: int) -> list[int]:
    """guacd's per-connection processes: forked by its threads, so listed under every task."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in children.read_text().split()]
    return found


def stop_guacd(proc: subprocess.Popen[bytes] | int) -> None:
    """SIGTERM to guacd and to each of its connection processes (each runs in a session of its own
    and outlives guacd otherwise: a test run would leave one per desktop it opened); SIGKILL
    whatever is left after 5 seconds. ``proc`` is our child, or the pid of a guacd that is not."""
    pid = proc if isinstance(proc, int) else proc.pid
    pids = [*guacd_children(pid), pid]

    def alive() -> bool:
        guacd = Path(f"/proc/{pid}").exists() if isinstance(proc, int) else proc.poll() is None
        return guacd or any(Path(f"/proc/{p}").exists() for p in pids[:-1])

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for one in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(one, sig)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and alive():
            time.sleep(0.1)
        if not alive():
            return


@pytest.fixture(scope="session")
def guacd_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real guacd (debug log in its temp dir) for the whole test session."""
    if shutil.which("guacd") is None:
        peer_missing("guacd")
    work = tmp_path_factory.mktemp("guacd")
    port = free_port()
    proc = subprocess.Popen(["guacd", "-b", "127.0.0.1", "-l", str(port), "-f", "-L", "debug"],
                            stdout=subprocess.DEVNULL, stderr=_log(work, "guacd.log"))
    try:
        wait_port(port, proc, "guacd")
        yield port
    finally:
        stop_guacd(proc)


def start_xvnc(work: Path, *, password: str | None = VNC_PASSWORD, geometry: str = "800x600",
               procs: list[subprocess.Popen[bytes]]) -> tuple[int, int]:
    """Start Xvnc (VncAuth with ``password``, or no auth when None); returns (display, rfb port)."""
    port, display = free_port(), free_display()
    if password is None:
        security = ["-SecurityTypes", "None"]
    else:
        pw = work / f"vncpasswd-{display}.bin"
        pw.write_bytes(subprocess.run(["vncpasswd", "-f"], input=f"{password}\n".encode(), capture_output=True,
                                      check=True).stdout)
        pw.chmod(0o600)
        security = ["-SecurityTypes", "VncAuth", "-PasswordFile", str(pw)]
    xvnc = subprocess.Popen(["Xvnc", f":{display}", "-rfbport", str(port), "-localhost", "-nolisten", "tcp",
                             *security, "-geometry", geometry, "-depth", "24", "-AlwaysShared"],
                            stdout=subprocess.DEVNULL, stderr=_log(work, f"xvnc-{display}.log"))
    procs.append(xvnc)
    wait_port(port, xvnc, "Xvnc")
    return display, port


@pytest.fixture(scope="session")
def desktop(tmp_path_factory: pytest.TempPathFactory, guacd_port: int) -> Iterator[Desktop]:
    """guacd plus an Xvnc (password VNC_PASSWORD) whose xterm prints the date five times a second."""
    for binary in ("Xvnc", "vncpasswd", "xterm"):
        if shutil.which(binary) is None:
            peer_missing(binary)
    work = tmp_path_factory.mktemp("vnc")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        display, vnc_port = start_xvnc(work, procs=procs)
        procs.append(subprocess.Popen(["xterm", "-e", "bash -c 'while true; do date; sleep 0.2; done'"],
                                      env={**os.environ, "DISPLAY": f":{display}"},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.5)
        yield Desktop(guacd_port=guacd_port, vnc_port=vnc_port)
    finally:
        _stop(procs)


class GuacClient:
    """A browser-like Guacamole client: answers sync, keeps every instruction and message."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.parser = Parser(max_chars=1 << 22, max_elements=1024)
        self.messages: list[str] = []
        self.instructions: list[list[str]] = []
        self.closed = False

    @classmethod
    async def connect(cls, gateway: str, cookie: str, query: str) -> GuacClient:
        ws = await websockets.connect(f"ws://{gateway}/ws/guacamole?{query}", subprotocols=["guacamole"],
                                      additional_headers={"Origin": f"http://{gateway}", "Cookie": cookie},
                                      max_size=None)
        assert ws.subprotocol == "guacamole"
        return cls(ws)

    def opcodes(self) -> list[str]:
        return [i[0] for i in self.instructions]

    async def until(self, opcode: str, timeout: float = 15, args: list[str] | None = None,
                    where: Callable[[list[str]], bool] | None = None) -> list[str]:
        """The first instruction ``opcode`` (with exactly ``args``, or for which ``where`` holds)."""
        deadline = time.monotonic() + timeout
        while True:
            for instruction in self.instructions:
                if instruction[0] == opcode and (args is None or instruction[1:] == args) and (
                        where is None or where(instruction)):
                    return instruction
            if self.closed:
                errors = [i[1:] for i in self.instructions if i[0] == "error"]
                raise AssertionError(f"closed before {opcode}: {self.opcodes()[-10:]} {errors}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {opcode}; saw {self.opcodes()[-10:]}")
            try:
                message = await asyncio.wait_for(self.ws.recv(), remaining)
            except TimeoutError:
                continue
            except websockets.ConnectionClosed:
                self.closed = True
                continue
            assert isinstance(message, str)
            self.messages.append(message)
            got = self.parser.feed(message)
            assert got and self.parser.pending == 0, "a message did not hold whole instructions"
            for instruction in got:
                self.instructions.append(instruction)
                if instruction[0] == "sync":
                    await self.ws.send(encode("sync", instruction[1]))
                elif instruction[0] == "nop":
                    # guacamole-common-js sends a keep-alive ``nop`` every 5 s; without it guacd 1.3.0
                    # hangs up on a client that sent nothing for 15 s (776), e.g. while a loaded
                    # machine's RDP desktop takes that long to draw. guacd's own idle ``nop`` is our cue.
                    await self.ws.send(encode("nop"))

    async def wait_closed(self, timeout: float = 10) -> None:
        """Read (and drop) until the gateway closes the socket, or ``timeout`` runs out."""
        for _ in range(int(timeout * 10)):
            if self.closed:
                return
            try:
                await asyncio.wait_for(self.ws.recv(), 0.1)
            except TimeoutError:
                pass
            except websockets.ConnectionClosed:
                self.closed = True

    async def send(self, text: str) -> None:
        await self.ws.send(text)


async def open_vnc(services: Services, gateway: str, desktop: Desktop, password: str = VNC_PASSWORD,
                   actions: tuple[str, ...] = ("connect",)) -> GuacClient:
    """A new user allowed ``actions`` on a VNC asset of ``desktop``, connected through the gateway."""
    from tests.integration.terminal_client import grant, make_account, user_and_cookie

    user, cookie = await user_and_cookie(services, gateway)
    org = await Organization.get(is_default=True)
    asset = await Asset.create(org=org, name="desk01", address="127.0.0.1", platform="linux",
                               protocols=[{"name": "vnc", "port": desktop.vnc_port}])
    await make_account(services, asset, "vncacct", "", secret=password)
    perm = await grant(user, asset, ["vncacct"], actions)
    perm.protocols = ["vnc"]
    await perm.save()
    return await GuacClient.connect(gateway, cookie, f"asset={asset.id}&account=vncacct&width=800&height=600")


async def ended_row(timeout: float = 15) -> Session:
    """The (only) session row once finalised: finish() updates the row, then writes the
    disconnect audit row, so wait for both."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = await Session.all()
        if rows and rows[0].status == "ended" and await OperationLog.filter(action="disconnect").exists():
            return rows[0]
        await asyncio.sleep(0.1)
    raise AssertionError("the session row was not finalised")
