"""Auditors list sessions and read recordings; admins end a live session from the API."""

from __future__ import annotations

import gzip

import httpx
import pytest

from tests.helpers import make_user
from tests.integration.conftest import SshPeer
from tests.integration.terminal_client import (
    Term,
    grant,
    make_account,
    make_ssh_asset,
    user_and_cookie,
)
from webgate.db.models import OperationLog, Session
from webgate.services import Services

pytestmark = pytest.mark.slow


async def _auditor(services: Services, gateway: str, role: str = "Auditor") -> httpx.AsyncClient:
    await make_user(services, f"eve-{role.lower()}", role=role)
    c = httpx.AsyncClient(base_url=f"http://{gateway}/api/v1", timeout=10, headers={"Origin": f"http://{gateway}"})
    r = await c.post("/auth/login", json={"username": f"eve-{role.lower()}", "password": "Correct-Horse-9"})
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


async def _session(services: Services, gateway: str, sshd: SshPeer) -> Term:
    user, cookie = await user_and_cookie(services, gateway)
    asset = await make_ssh_asset(services, sshd.port)
    await make_account(services, asset, "ops", sshd.password_user, secret=sshd.password)
    await grant(user, asset, ["ops"])
    term = await Term.connect(gateway, cookie, f"asset={asset.id}&protocol=ssh&account=ops")
    await term.opened()
    return term


async def test_auditor_lists_session_and_reads_its_recording(services, gateway, sshd):
    term = await _session(services, gateway, sshd)
    await term.run("echo recorded-$((40+2))", "recorded-42")
    await term.send(b"exit\n")
    await term.until_control("exit")
    auditor = await _auditor(services, gateway)
    listed = (await auditor.get("/sessions")).json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert item["status"] == "ended" and item["has_recording"] and item["protocol"] == "ssh"
    r = await auditor.get(f"/sessions/{item['id']}/recording")
    assert r.status_code == 200 and "recorded-42" in r.text
    assert r.text.splitlines()[0].startswith('{"version": 2') or '"version":2' in r.text.splitlines()[0]
    assert await OperationLog.filter(action="view_recording", resource_id=item["id"]).count() == 1

    # A plain user may not read recordings at all.
    plain = await _auditor(services, gateway, role="User")
    assert (await plain.get(f"/sessions/{item['id']}/recording")).status_code == 403

    # Tampering with the stored file is detected and reported, not served.
    row = await Session.get(id=item["id"])
    raw = gzip.decompress(await services.storage.get_bytes(row.recording_key)).replace(b"recorded-42", b"recorded-41")
    path = services.storage.root / row.recording_key  # type: ignore[attr-defined]
    path.write_bytes(gzip.compress(raw))
    r = await auditor.get(f"/sessions/{item['id']}/recording")
    assert r.status_code == 409 and r.json()["error"]["code"] == "recording_altered"


async def test_admin_ends_a_live_session_and_the_user_sees_who(services, gateway, sshd):
    term = await _session(services, gateway, sshd)
    admin = await _auditor(services, gateway, role="OrgAdmin")
    live = (await admin.get("/sessions", params={"status": "live"})).json()["items"]
    assert len(live) == 1
    auditor = await _auditor(services, gateway)
    assert (await auditor.post(f"/sessions/{live[0]['id']}/terminate")).status_code == 403
    r = await admin.post(f"/sessions/{live[0]['id']}/terminate")
    assert r.status_code == 200
    ended = await term.until_control("exit")
    assert ended["reason"] == "killed" and "eve-orgadmin" in ended["message"]
    row = await Session.get(id=live[0]["id"])
    assert row.status == "ended" and row.end_reason == "killed"
    assert (await admin.post(f"/sessions/{live[0]['id']}/terminate")).status_code == 409


async def test_kill_published_on_the_bus_reaches_the_holding_node(services, gateway, sshd):
    """A terminate arriving at another node travels over the bus to the node holding the session."""
    from webgate.sessions.control import KILL_CHANNEL

    term = await _session(services, gateway, sshd)
    row = await Session.get(status="live")
    await services.bus.publish(KILL_CHANNEL, f'{{"id": "{row.id}", "by": "node-2 admin"}}'.encode())
    ended = await term.until_control("exit")
    assert ended["reason"] == "killed" and "node-2 admin" in ended["message"]
