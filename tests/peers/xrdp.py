"""xrdp (Debian's, with xorgxrdp) on a free loopback port and a local user whose desktop is an xterm.

Verified traps (see TESTBED.md):
- xrdp reads the session manager's port only from ``/etc/xrdp/sesman.ini`` (at each login),
  whatever config ``xrdp-sesman -c`` was given. The fixture runs sesman from a copy, and
  touches the system file only when its port is taken — then it patches ``ListenPort`` and
  restores the file afterwards.
- ``require_credentials=true``: with a wrong password xrdp hangs up instead of drawing its
  own login screen (where the failure would only be a picture the gateway cannot read).
- The user's desktop is one xterm at the top left with ``selectToClipboard`` on, so a
  double-click copies a word to the RDP clipboard and Shift+Insert pastes from it.
- The shared drive reaches the Linux user only through FUSE: chansrv (libfuse 2) mounts
  ``[Chansrv] FuseMountName`` of the *system* sesman.ini (``~/thinclient_drives``) with the
  setuid ``fusermount`` that Debian's ``fuse3`` package provides, and guacd's drive shows up
  in it as ``GUACFS``. The mount is the user's alone (no ``allow_other``): even root gets
  "Permission denied", so tests look at it from the desktop (commands typed into the xterm).
  chansrv logs per display to ``~/.local/share/xrdp/xrdp-chansrv.<display>.log``; ``xrdp``
  removes those logs before each test so one test reads only its own session's.

``xrdp`` (function scope) ends the user's desktop after each test, so every test gets a
fresh one (~1.5 s to the first image). The test user, its desktops and the system sesman.ini
are machine-wide, so two test runs (say the integration and the e2e suite) take turns: the
fixture holds an exclusive lock for as long as its xrdp runs. A machine without xrdp skips
locally, fails in CI.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.peers.desktop import _log, _stop, wait_port
from tests.peers.required import peer_missing
from tests.peers.sshd import _ensure_user, free_port

RDP_USER = "wgrdp"
RDP_PASSWORD = "Rdp-Test-Pass-5"  # noqa: S105 - a throwaway local test account
SYSTEM_SESMAN = Path("/etc/xrdp/sesman.ini")
XORGXRDP = Path("/usr/lib/xorg/modules/drivers/xrdpdev_drv.so")
LOCK = Path("/tmp/webgate-tests-xrdp.lock")  # noqa: S108 - machine-wide on purpose: one xrdp user at a time
LOCK_WAIT = 900.0
STARTWM = """#!/bin/sh
# webgate test desktop: one xterm, top left; selecting text copies it to the clipboard.
cd "$HOME"
exec xterm -xrm 'XTerm*selectToClipboard: true' -geometry 80x24+0+0
"""


@dataclass(frozen=True)
class RdpPeer:
    port: int
    user: str
    password: str
    home: Path
    sesman_pid: int
    drives: Path  # where chansrv mounts the redirected drives in the user's desktop

    def chansrv_log(self) -> str:
        """What chansrv logged in this test's desktop (see the module docstring)."""
        return "".join(p.read_text(errors="replace") for p in sorted(_chansrv_logs(self.home)))


def _chansrv_logs(home: Path) -> list[Path]:
    return list((home / ".local" / "share" / "xrdp").glob("xrdp-chansrv.*.log"))


def fuse_mount_dir(sesman_ini: str, home: Path, user: str) -> Path:
    """chansrv's ``FuseMountName``: relative to the home directory unless absolute (%u uid, %U name)."""
    section = re.search(r"^\[Chansrv\]\n((?:(?!\[).*\n?)*)", sesman_ini, re.M)
    found = re.search(r"^FuseMountName=(.+?)\s*$", section.group(1), re.M) if section else None
    name = found.group(1) if found else "thinclient_drives"
    name = name.replace("%u", str(home.stat().st_uid)).replace("%U", user)
    return Path(name) if name.startswith("/") else home / name


def need_fuse() -> None:
    """The desktop sees the drive only with a setuid fusermount (package fuse3) and /dev/fuse."""
    if shutil.which("fusermount") is None or not Path("/dev/fuse").exists():
        peer_missing("fuse3 (fusermount) and /dev/fuse, for the drive inside the xrdp desktop")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _set(text: str, section: str, key: str, value: str) -> str:
    """Set ``key=value`` in an ini ``[section]`` (replacing it, or adding it as the section's first line)."""
    pattern = re.compile(rf"(^\[{re.escape(section)}\]\n(?:(?!\[).*\n)*?){re.escape(key)}=.*$", re.M)
    if pattern.search(text):
        return pattern.sub(lambda m: f"{m.group(1)}{key}={value}", text, count=1)
    return text.replace(f"[{section}]\n", f"[{section}]\n{key}={value}\n", 1)


def _sesman_port(text: str) -> int:
    found = re.search(r"^ListenPort=(\d+)\s*$", text, re.M)
    return int(found.group(1)) if found else 3350


def _pids(*args: str) -> list[int]:
    return [int(p) for p in subprocess.run(["pgrep", *args], capture_output=True, text=True).stdout.split()]


def end_desktops(user: str = RDP_USER, sesman_pid: int | None = None) -> None:
    """End the test user's desktop (Xorg, chansrv, the xterm) and wait until sesman has let go
    of it: a login while sesman still lists the dying session is sent to its dead display."""
    for pid in _pids("-u", user):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not _pids("-u", user) and (sesman_pid is None or not _pids("-P", str(sesman_pid))):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the desktop of {user} did not end within 10 s")


@contextmanager
def _machine_lock() -> Iterator[None]:
    """Wait for any other test run's xrdp to finish (flock: released even if that run was killed)."""
    with open(LOCK, "a") as handle:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"another test run held {LOCK} for {LOCK_WAIT:.0f} s") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def xrdp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RdpPeer]:
    for binary in ("xrdp", "xrdp-sesman", "xterm"):
        if shutil.which(binary) is None:
            peer_missing(binary)
    if not XORGXRDP.exists() or not SYSTEM_SESMAN.exists():
        peer_missing("xorgxrdp")
    with _machine_lock():
        yield from _run_xrdp(tmp_path_factory.mktemp("xrdp"))


def _run_xrdp(work: Path) -> Iterator[RdpPeer]:
    end_desktops()  # left over by a run that was killed
    home = _ensure_user(RDP_USER, RDP_PASSWORD)
    (home / "startwm.sh").write_text(STARTWM)
    (home / "startwm.sh").chmod(0o755)
    shutil.chown(home / "startwm.sh", RDP_USER, RDP_USER)

    original = SYSTEM_SESMAN.read_text()
    sesman_port, restore = _sesman_port(original), False
    if not _port_free(sesman_port):  # only then the system file, which xrdp itself reads
        sesman_port, restore = free_port(), True
        SYSTEM_SESMAN.write_text(_set(original, "Globals", "ListenPort", str(sesman_port)))
    sesman = _set(original, "Globals", "ListenPort", str(sesman_port))
    sesman = _set(_set(sesman, "Logging", "LogFile", str(work / "sesman.log")), "Logging", "EnableSyslog", "false")
    (work / "sesman.ini").write_text(sesman)
    xrdp_port = free_port()
    xrdp = Path("/etc/xrdp/xrdp.ini").read_text()
    xrdp = _set(xrdp, "Globals", "port", f"tcp://127.0.0.1:{xrdp_port}")
    xrdp = _set(xrdp, "Globals", "require_credentials", "true")
    xrdp = _set(_set(xrdp, "Logging", "LogFile", str(work / "xrdp.log")), "Logging", "EnableSyslog", "false")
    (work / "xrdp.ini").write_text(xrdp)

    procs: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(["sh", "-c", ". /usr/share/xrdp/socksetup"], check=True)
        procs.append(subprocess.Popen(["xrdp-sesman", "-n", "-c", str(work / "sesman.ini")],
                                      stdout=subprocess.DEVNULL, stderr=_log(work, "sesman.err")))
        procs.append(subprocess.Popen(["xrdp", "-n", "-c", str(work / "xrdp.ini")],
                                      stdout=subprocess.DEVNULL, stderr=_log(work, "xrdp.err")))
        wait_port(xrdp_port, procs[1], "xrdp")
        yield RdpPeer(port=xrdp_port, user=RDP_USER, password=RDP_PASSWORD, home=home, sesman_pid=procs[0].pid,
                      drives=fuse_mount_dir(original, home, RDP_USER))
    finally:
        _stop(procs)
        end_desktops()
        if restore:
            SYSTEM_SESMAN.write_text(original)


@pytest.fixture
def xrdp(xrdp_server: RdpPeer) -> Iterator[RdpPeer]:
    """The xrdp server, with the user's desktop ended after the test (each test starts fresh)."""
    for log in _chansrv_logs(xrdp_server.home):
        log.unlink()
    try:
        yield xrdp_server
    finally:
        end_desktops(sesman_pid=xrdp_server.sesman_pid)
