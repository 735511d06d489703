"""CRED, full scenario: real sessions with known secrets, then a search of everything that came out.

Accounts with known secrets go in through the admin API (an SSH password, an SSH key
with its passphrase, a Telnet password, a Kubernetes token, a VNC password, an RDP
password, a website password that a RemoteApp Chromium types in on the host side); a
user opens a real session of each kind through the gateway (sshd, telnetd,
kube-apiserver with its kubelet, guacd+Xvnc, guacd+xrdp, the local app host) and types
into it. Then every GET route is called as
the admin and as the user, and the answers, every WebSocket frame the browser
received, every log record at DEBUG, every database cell and every recording are
searched for each secret: zero hits. (CVE-2025-27095: a K8s token leaked.)

A new session type joins by adding its opener to ``SESSIONS``.
"""

# ruff: noqa: S106 - secret_type values are type names, not secrets
from __future__ import annotations

import asyncio
import gzip
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.api._assets_helpers import account, asset, permission, person
from tests.integration.k8s_peer import ExecPeer, RealCluster
from tests.integration.telnet_peer import TelnetPeer, telnetd_peer  # noqa: F401 - fixture
from tests.integration.terminal_client import Term, browser_cookie
from tests.integration.test_kubernetes import k8s, kubelet  # noqa: F401 - fixtures
from tests.integration.test_remoteapp import LoginSite, site  # noqa: F401 - fixture
from tests.peers.desktop import VNC_PASSWORD, Desktop, GuacClient
from tests.peers.sshd import SshPeer
from tests.peers.xrdp import RdpPeer
from tests.security._db import cells_containing
from tests.security.test_cred import _every_get
from webgate.db.models import Account, Session
from webgate.protocols.guacamole.instruction import encode
from webgate.services import Services
from webgate.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(settings: Settings, desktop: Desktop) -> Settings:  # noqa: F811 - fixture
    """The peers listen on loopback, which the target address policy refuses by default."""
    return settings.with_(guacd=(("127.0.0.1", desktop.guacd_port),), allow_targets=("127.0.0.0/8",))


@dataclass
class World:
    """The admin's and the user's browsers, the secrets to look for, and what the browser received."""

    admin: httpx.AsyncClient
    user: httpx.AsyncClient
    gateway: str
    cookie: str = ""
    asset_ids: list[str] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)  # label → secret
    received: list[str] = field(default_factory=list)  # every frame the browser got, as text
    user_id: str = ""

    async def add(self, name: str, protocol: str, port: int, address: str = "127.0.0.1",
                  **extra: Any) -> dict[str, Any]:
        row = await asset(self.admin, name, address=address, platform=extra.pop("platform", "linux"),
                          protocols=[{"name": protocol, "port": port}], **extra)
        self.asset_ids.append(row["id"])
        return row

    async def permit(self, box: dict[str, Any], accounts: list[str], protocol: str) -> None:
        await permission(self.admin, f"{box['name']}-{protocol}", user_ids=[self.user_id], asset_ids=[box["id"]],
                         accounts=accounts, protocols=[protocol], actions=["connect"])

    async def terminal(self, query: str, marker_command: str, marker: str) -> None:
        term = await Term.connect(self.gateway, self.cookie, query)
        try:
            await term.opened()
            await term.run(marker_command, marker)
            await term.send(b"exit\n")
            await term.until_control("exit", timeout=20)
        finally:
            self.received += [bytes(term.raw).decode("utf-8", "replace"), json.dumps(term.controls)]
            await term.close()


# -- one opener per session type: each stores its accounts (with secrets) and runs a session ------------


async def open_ssh(world: World, peers: dict[str, Any]) -> None:
    sshd: SshPeer = peers["sshd"]
    box = await world.add("ssh-box", "ssh", sshd.port)
    await account(world.admin, box, "pw", username=sshd.password_user, secret_type="password",
                  secret=sshd.password)
    await account(world.admin, box, "key", username=sshd.key_user, secret_type="ssh_key",
                  secret=sshd.private_key, passphrase=sshd.passphrase)
    world.secrets |= {"ssh password": sshd.password, "ssh key passphrase": sshd.passphrase,
                      "ssh private key": sshd.private_key,
                      "ssh private key line": max(sshd.private_key.splitlines(), key=len)}
    await world.permit(box, ["pw", "key"], "ssh")
    await world.terminal(f"asset={box['id']}&account=pw", "echo ssh-$((2+3))", "ssh-5")
    await world.terminal(f"asset={box['id']}&account=key", "echo key-$((2+3))", "key-5")


async def open_telnet(world: World, peers: dict[str, Any]) -> None:
    telnet: TelnetPeer = peers["telnet"]
    box = await world.add("telnet-box", "telnet", telnet.port)
    await account(world.admin, box, "tel", username=telnet.user, secret_type="password", secret=telnet.password)
    world.secrets["telnet password"] = telnet.password
    await world.permit(box, ["tel"], "telnet")
    await world.terminal(f"asset={box['id']}&protocol=telnet&account=tel", "echo tel-$((2+3))", "tel-5")


async def open_k8s(world: World, peers: dict[str, Any]) -> None:
    cluster: RealCluster = peers["cluster"]
    box = await world.add("cluster", "k8s", int(cluster.url.rsplit(":", 1)[1]), address=cluster.url,
                          platform="kubernetes", extra={"ca_cert": cluster.ca_pem})
    await account(world.admin, box, "sa", username="admin", secret_type="token", secret=cluster.admin_token)
    world.secrets["kubernetes token"] = cluster.admin_token
    await world.permit(box, ["sa"], "k8s")
    # The listing the browser uses to choose a pod goes through the same account.
    r = await world.user.get(f"/api/v1/my/assets/{box['id']}/k8s/namespaces/team-a/pods", params={"account": "sa"})
    world.received.append(r.text)
    await world.terminal(f"asset={box['id']}&protocol=k8s&account=sa&namespace=team-a&pod=web-1&container=app",
                         "echo k8s-$((2+3))", "k8s-5")


async def open_vnc(world: World, peers: dict[str, Any]) -> None:
    desk: Desktop = peers["desk"]
    box = await world.add("desk", "vnc", desk.vnc_port)
    await account(world.admin, box, "vnc", username="vncuser", secret_type="password", secret=VNC_PASSWORD)
    world.secrets["vnc password"] = VNC_PASSWORD
    await world.permit(box, ["vnc"], "vnc")
    client = await GuacClient.connect(world.gateway, world.cookie, f"asset={box['id']}&account=vnc&width=800"
                                                                     "&height=600")
    try:
        await client.until("sync")
        await client.send("3.key,3.120,1.1;3.key,3.120,1.0;")
        await client.until("sync", where=lambda i: i is not client.instructions[0])
    finally:
        world.received += client.messages
        await client.ws.close()


async def _desktop(world: World, query: str, typed: str = "") -> None:
    """Open a desktop, wait until it draws, type ``typed`` into it, close it."""
    client = await GuacClient.connect(world.gateway, world.cookie, query + "&width=800&height=600")
    try:
        await client.until("img", timeout=40)
        await client.send(encode("mouse", "300", "200", "0"))
        for char in typed:
            await client.send(encode("key", str(ord(char)), "1") + encode("key", str(ord(char)), "0"))
        await client.until("sync", where=lambda i: i is not client.instructions[0])
    finally:
        world.received += client.messages
        await client.ws.close()


async def open_rdp(world: World, peers: dict[str, Any]) -> None:
    rdp: RdpPeer = peers["rdp"]
    box = await world.add("rdp-box", "rdp", rdp.port, platform="windows", extra={"rdp_security": "any",
                                                                                  "rdp_ignore_cert": True})
    await account(world.admin, box, "rdp", username=rdp.user, secret_type="password", secret=rdp.password)
    world.secrets["rdp password"] = rdp.password
    await world.permit(box, ["rdp"], "rdp")
    await _desktop(world, f"asset={box['id']}&protocol=rdp&account=rdp", typed="echo rdp\r")


async def open_remoteapp(world: World, peers: dict[str, Any]) -> None:
    web: LoginSite = peers["site"]
    box = await world.add("intranet", "http", web.port, address=f"http://127.0.0.1:{web.port}/login",
                          platform="website")
    await account(world.admin, box, "web", username="alice-web", secret_type="password", secret=WEB_SECRET)
    world.secrets["website password (RemoteApp)"] = WEB_SECRET
    await world.permit(box, ["web"], "http")
    r = await world.admin.post("/api/v1/applets", json={
        "name": "Chromium", "icon": "chromium", "asset_platforms": ["website"], "protocol": "http", "kind": "linux",
        "program": "chromium", "autofill": {"username": "#user", "password": "#pass", "submit": "#go"}})
    assert r.status_code == 200, r.text
    query = f"asset={box['id']}&protocol=remoteapp&account=web&applet={r.json()['id']}"
    deadline = time.monotonic() + 40
    client = await GuacClient.connect(world.gateway, world.cookie, query + "&width=800&height=600")
    try:
        await client.until("img", timeout=40)
        while not web.received and time.monotonic() < deadline:  # noqa: ASYNC110 - another thread records it
            await asyncio.sleep(0.2)  # the host side logs in for the user
        assert web.received and web.received[0]["pass"] == [WEB_SECRET]
    finally:
        world.received += client.messages
        await client.ws.close()


# A new session type: an opener that stores its accounts' secrets in ``world.secrets`` and
# the browser's frames in ``world.received``; the search below covers it unchanged.
SESSIONS: list[Callable[[World, dict[str, Any]], Awaitable[None]]] = [
    open_ssh, open_telnet, open_k8s, open_vnc, open_rdp, open_remoteapp]
WEB_SECRET = "Web-Only;Secret \"7\" 中"  # noqa: S105 - a test account


async def _all_finalised() -> list[Session]:
    deadline = time.monotonic() + 20
    while True:
        rows = await Session.all()
        if all(r.status == "ended" for r in rows) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.2)


async def test_no_secret_of_a_real_session_leaves_the_gateway(
        app: Any, services: Services, admin_client: httpx.AsyncClient, make_client: Any, gateway: str,
        sshd: SshPeer, telnetd_peer: TelnetPeer, k8s: RealCluster, kubelet: ExecPeer,  # noqa: F811
        desktop: Desktop, xrdp: RdpPeer, site: LoginSite,  # noqa: F811
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    user, user_client = await person(services, make_client, "kate")
    world = World(admin_client, user_client, gateway, cookie=await browser_cookie(gateway, "kate"),
                  user_id=str(user.id))
    peers = {"sshd": sshd, "telnet": telnetd_peer, "cluster": k8s, "desk": desktop, "rdp": xrdp, "site": site}
    for opener in SESSIONS:
        await opener(world, peers)

    rows = await _all_finalised()  # ssh with a password, ssh with a key, telnet, k8s, vnc, rdp, remoteapp
    assert len(rows) == 7 and all(r.status == "ended" for r in rows), [(r.protocol, r.status) for r in rows]
    recordings = {}
    for row in rows:
        assert row.recording_key, f"{row.protocol} session has no recording"
        recordings[f"recording of {row.protocol}"] = gzip.decompress(
            await services.storage.get_bytes(row.recording_key)).decode("utf-8", "replace")
    ids = world.asset_ids + [str(a.id) for a in await Account.all()] + [str(r.id) for r in rows]
    answers = await _every_get(app, admin_client, ids) + await _every_get(app, user_client, ids)
    places = {**dict(answers), "WebSocket frames": "\n".join(world.received), "log": caplog.text, **recordings}
    leaks = [f"{where} holds the {label}" for label, secret in world.secrets.items()
             for where, text in places.items() if secret in text]
    assert leaks == []
    assert await cells_containing(list(world.secrets.values())) == []
    assert len(world.secrets) >= 9 and {"kubernetes token", "rdp password"} <= set(world.secrets)
