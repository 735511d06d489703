"""``LocalAppHost``: one Xvnc display per session on this machine, running only the applet's program.

Isolation, per display: its own X display number with an MIT cookie (``-auth``; other
local users cannot attach to the X server), its own VNC password (random, one-time,
written 0600; Xvnc listens on loopback only unless a remote agent is told otherwise), its
own temp directory (the browser profile, the password file) and a process group per
child, so ``stop`` kills everything the program started. The program gets a clean
environment: nothing of the gateway's own (``WEBGATE_*``, database URLs) leaks into it.

When the program exits (the person closed the window) the display is stopped too, so
guacd's VNC connection ends and the session ends with it instead of showing a blank screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from webgate.remoteapp.browser import Browser, die_with_parent, log_file
from webgate.remoteapp.host import AppDisplay, AppHostError, AppSpec
from webgate.remoteapp.templates import render

log = logging.getLogger("webgate.remoteapp")

START_TIMEOUT = 10.0
_BASE_ENV = ("PATH", "LANG", "LC_ALL", "TZ")
_PATH = "/usr/local/bin:/usr/bin:/bin"
PREFIX = "webgate-app-"


@dataclass
class _Running:
    display: AppDisplay
    work: Path
    number: int = 0  # the X display number
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)
    browser: Browser | None = None
    watcher: asyncio.Task[None] | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def _sweep(root: Path) -> None:
    """Remove displays' directories left by a process that died (a crash: its children were
    killed with it, see ``die_with_parent``, but the files, a password file among them, stay)."""
    for work in root.glob(f"{PREFIX}*"):
        try:
            owner = int((work / "owner").read_text())
        except (OSError, ValueError):
            continue  # not ours, or being made right now
        if owner != os.getpid() and not _alive(owner):
            shutil.rmtree(work, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free_port(bind: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET) as s:
        s.bind((bind, 0))
        return int(s.getsockname()[1])


def _free_display() -> int:
    for number in range(secrets.randbelow(400) + 100, 1000):
        # X servers' own lock and socket names, fixed by X11 (not files webgate creates)
        if not Path(f"/tmp/.X{number}-lock").exists() and not Path(f"/tmp/.X11-unix/X{number}").exists():  # noqa: S108
            return number
    raise AppHostError("The app host has no free display left. Try again later.")


def _xauthority(path: Path, number: int) -> None:
    """An Xauthority file with one MIT-MAGIC-COOKIE-1 for any host (FamilyWild), display ``number``."""
    def item(data: bytes) -> bytes:
        return struct.pack(">H", len(data)) + data

    cookie = secrets.token_bytes(16)
    path.write_bytes(struct.pack(">H", 0xFFFF) + item(b"") + item(str(number).encode())
                     + item(b"MIT-MAGIC-COOKIE-1") + item(cookie))
    path.chmod(0o600)


def vnc_password_file(password: str) -> bytes:
    """The 8-byte DES-encrypted VNC password file (as ``vncpasswd -f`` writes it)."""
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    # VNC's fixed key, with each byte's bits reversed as VNC's DES variant expects.
    key = bytes(int(f"{b:08b}"[::-1], 2) for b in bytes([23, 82, 107, 6, 35, 78, 88, 7]))
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()  # noqa: S305 - the RFB format, not secrecy
    return encryptor.update(password.encode()[:8].ljust(8, b"\0")) + encryptor.finalize()


async def _wait_listening(host: str, port: int, proc: asyncio.subprocess.Process, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while loop.time() < deadline:
        if proc.returncode is not None:
            raise AppHostError(f"The app host could not start {what}. Tell your admin.")
        try:
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AppHostError(f"The app host's {what} did not start in time. Try again, or tell your admin.")


async def _kill(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM to the whole process group, SIGKILL after 3 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.returncode is not None:
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            async with asyncio.timeout(3):
                await proc.wait()
        except TimeoutError:
            continue
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # what the program left behind in its group


class LocalAppHost:
    """Displays on this machine. ``vnc_bind`` is where Xvnc listens (loopback unless guacd is elsewhere)."""

    def __init__(self, root: Path | None = None, vnc_bind: str = "127.0.0.1",
                 programs: tuple[str, ...] = ("chromium",)) -> None:
        self.root = root
        self.vnc_bind = vnc_bind
        self.programs = programs  # what this host may run: the operator's list, never the request's
        self.running: dict[str, _Running] = {}

    async def start(self, spec: AppSpec) -> AppDisplay:
        if shutil.which("Xvnc") is None:
            raise AppHostError("The app host has no Xvnc (tigervnc-standalone-server). Tell your admin.")
        program = self._program(spec.program, os.environ.get("PATH") or _PATH)  # refused before anything starts
        if self.root is not None:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        # A short, unpredictable, 0700 directory: Chromium's singleton socket lives under it and
        # Unix socket paths are limited to 107 bytes.
        _sweep(Path(tempfile.gettempdir()) if self.root is None else self.root)
        work = Path(tempfile.mkdtemp(prefix=PREFIX, dir=self.root))
        (work / "owner").write_text(str(os.getpid()))
        ident = work.name.removeprefix(PREFIX)
        password = secrets.token_urlsafe(6)[:8]  # VNC passwords are 8 characters at most
        display = AppDisplay(id=ident, host=self.vnc_bind, port=0, password=password)
        running = _Running(display, work)
        self.running[ident] = running
        try:
            display = await self._start_xvnc(running, spec, password)
            running.display = display
            await self._start_program(running, spec, program)
        except BaseException:
            await self.stop(ident)
            raise
        running.watcher = asyncio.create_task(self._watch(ident, running.procs[-1]))
        return display

    async def _start_xvnc(self, running: _Running, spec: AppSpec, password: str) -> AppDisplay:
        work = running.work
        (work / "vncpasswd").write_bytes(vnc_password_file(password))
        (work / "vncpasswd").chmod(0o600)
        for _ in range(3):  # a display number or port taken between the check and Xvnc's start: retry
            number, port = _free_display(), _free_port(self.vnc_bind)
            _xauthority(work / "Xauthority", number)
            local = ["-localhost"] if self.vnc_bind in ("127.0.0.1", "::1") else ["-interface", self.vnc_bind]
            proc = await asyncio.create_subprocess_exec(
                "Xvnc", f":{number}", "-rfbport", str(port), *local, "-nolisten", "tcp",
                "-auth", str(work / "Xauthority"), "-SecurityTypes", "VncAuth",
                "-PasswordFile", str(work / "vncpasswd"), "-geometry", f"{spec.width}x{spec.height}",
                "-depth", "24", "-NeverShared", "-DisconnectClients=0",
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=log_file(work / "xvnc.log"), start_new_session=True, env=self._env(work, None),
                preexec_fn=die_with_parent)  # noqa: PLW1509
            running.procs.append(proc)
            try:
                await _wait_listening(self.vnc_bind, port, proc, "display server")
            except AppHostError:
                if proc.returncode is None:
                    raise
                running.procs.remove(proc)
                continue
            running.number = number
            return AppDisplay(id=running.display.id, host=self.vnc_bind, port=port, password=password)
        raise AppHostError("The app host could not start a display. Tell your admin.")

    def _env(self, work: Path, number: int | None) -> dict[str, str]:
        env = {k: os.environ[k] for k in _BASE_ENV if k in os.environ}
        env.setdefault("PATH", _PATH)
        env.update(HOME=str(work), XAUTHORITY=str(work / "Xauthority"), TMPDIR=str(work))
        if number is not None:
            env["DISPLAY"] = f":{number}"
        return env

    async def _start_program(self, running: _Running, spec: AppSpec, program: str) -> None:
        env = self._env(running.work, running.number)
        values = dict(spec.values)
        if spec.password is not None:
            secret = running.work / "password"
            fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(spec.password)
            values["password_file"] = str(secret)
            if spec.password_env:
                env[spec.password_env] = spec.password
        if spec.is_browser:  # only webgate's own switches: some Chromium switches run commands
            running.browser = Browser(program, running.work, spec)
            running.procs.append(await running.browser.start([], env))
            running.tasks += [asyncio.create_task(running.browser.autofill()),
                              asyncio.create_task(running.browser.guard())]
            return
        try:
            argv = render(spec.arguments, values)
        except ValueError as exc:
            raise AppHostError(f"The applet's arguments are not valid: {exc} Tell your admin.") from None
        running.procs.append(await asyncio.create_subprocess_exec(
            program, *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=log_file(running.work / "program.log"), start_new_session=True, env=env,
            preexec_fn=die_with_parent))  # noqa: PLW1509

    def readiness(self) -> tuple[bool, str]:
        """What ``webgate check`` and the agent's ``/health`` report: Xvnc and each allowed program found."""
        path = os.environ.get("PATH") or _PATH
        missing = [p for p in ("Xvnc", *self.programs)
                   if (shutil.which(p, path=path) if not os.path.isabs(p) else (p if os.access(p, os.X_OK) else None))
                   is None]
        if missing:
            return False, f"missing: {', '.join(missing)} (install them or change WEBGATE_APP_PROGRAMS)"
        return True, f"Xvnc and {', '.join(self.programs) or 'no programs'} found"

    def _program(self, name: str, path: str) -> str:
        """The allowed program's path; the allow-list is the host's (WEBGATE_APP_PROGRAMS, --programs)."""
        found = shutil.which(name, path=path) if not os.path.isabs(name) else name
        allowed = {shutil.which(p, path=path) if not os.path.isabs(p) else p for p in self.programs}
        if name not in self.programs and (found is None or found not in allowed):
            raise AppHostError(f"The app host does not allow the program {name[:64]!r}. Tell your admin.")
        if found is None or not os.access(found, os.X_OK):
            raise AppHostError(f"The app host has no program {name[:64]!r}. Tell your admin.")
        return found

    async def _watch(self, ident: str, proc: asyncio.subprocess.Process) -> None:
        await proc.wait()
        if ident in self.running:
            log.info("remoteapp %s: the program exited (%s); stopping its display", ident, proc.returncode)
            await self.stop(ident, from_watcher=True)

    async def stop(self, display_id: str, *, from_watcher: bool = False) -> None:
        running = self.running.pop(display_id, None)
        if running is None:
            return
        if running.watcher is not None and not from_watcher:
            running.watcher.cancel()
        for task in running.tasks:
            task.cancel()
        if running.browser is not None:
            await running.browser.close()
        for proc in reversed(running.procs):
            await _kill(proc)
        shutil.rmtree(running.work, ignore_errors=True)
