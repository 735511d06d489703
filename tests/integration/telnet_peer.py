"""A real telnet peer: inetutils telnetd under socat on a loopback port, with a local user.

socat accepts each connection and runs ``telnetd -h`` with the socket as its stdio
(``nofork`` matters: telnetd needs the socket itself, not a pipe). Import the fixture
into a test module to use it. A machine without telnetd or socat skips locally and
fails in CI.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import peer_missing
from tests.integration.conftest import _ensure_user, _wait_listening, free_port
from webgate.db.models import Asset, AssetPermission, Organization, User

TELNETD = "/usr/sbin/telnetd"
TELNET_USER = "wgtelnet"
TELNET_PASSWORD = "Telnet-Test-Pass-5"  # noqa: S105 - a throwaway local test account


@dataclass(frozen=True)
class TelnetPeer:
    host: str
    port: int
    user: str
    password: str


def _die_with_parent() -> None:
    """Runs in the child before exec: a killed test run must not leave socat listening (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@pytest.fixture(scope="session")
def telnetd_peer() -> Iterator[TelnetPeer]:
    socat = shutil.which("socat")
    if not os.path.exists(TELNETD) or socat is None:
        peer_missing("telnetd")
    assert socat is not None
    _ensure_user(TELNET_USER, TELNET_PASSWORD)
    port = free_port()
    # Its own process group, so teardown also ends the telnetd/login/bash children of open sessions.
    proc = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
        [socat, f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork", f"EXEC:{TELNETD} -h,nofork"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent)
    try:
        _wait_listening(port, proc)
        yield TelnetPeer(host="127.0.0.1", port=port, user=TELNET_USER, password=TELNET_PASSWORD)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def make_telnet_asset(port: int, *, name: str = "tel01", extra: dict[str, object] | None = None) -> Asset:
    org = await Organization.get(is_default=True)
    return await Asset.create(org=org, name=name, address="127.0.0.1", platform="linux",
                              protocols=[{"name": "telnet", "port": port}], extra=extra or {})


async def grant_telnet(user: User, asset: Asset, accounts: list[str]) -> AssetPermission:
    org_id = asset.org_id  # type: ignore[attr-defined]
    perm = await AssetPermission.create(org_id=org_id, name="telnet", accounts=accounts, protocols=["telnet"],
                                        actions=["connect"])
    await perm.users.add(user)
    await perm.assets.add(asset)
    return perm
