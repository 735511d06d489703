"""A changed SSH host key against a real sshd: refused, then an admin accepts it (or forgets the old one)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import asyncssh
import httpx
import pytest

from tests.helpers import make_user
from tests.integration.conftest import SshPeer
from tests.integration.terminal_client import (
    Term,
    browser_cookie,
    grant,
    make_account,
    make_ssh_asset,
    user_and_cookie,
)
from webgate.db.models import Asset, OperationLog, Session
from webgate.services import Services

pytestmark = pytest.mark.slow


@pytest.fixture
async def admin_http(services: Services, gateway: str) -> AsyncIterator[httpx.AsyncClient]:
    await make_user(services, "boss", superadmin=True, role="OrgAdmin")
    cookie = await browser_cookie(gateway, "boss")
    async with httpx.AsyncClient(base_url=f"http://{gateway}/api/v1",
                                 headers={"Cookie": cookie, "Origin": f"http://{gateway}"}) as http:
        http.headers["X-CSRF-Token"] = (await http.get("/auth/me")).json()["csrf_token"]
        yield http


async def _refused_asset(services: Services, gateway: str, sshd: SshPeer) -> tuple[Asset, str]:
    """An asset whose recorded key is not sshd's (as after a reinstall): refused with an explanation.

    Returns the asset and the user's cookie.
    """
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode().strip()
    user, cookie = await user_and_cookie(services, gateway)
    asset = await make_ssh_asset(services, sshd.port, extra={"ssh_host_key": {"key": other}})
    await make_account(services, asset, "ops", sshd.password_user, secret=sshd.password)
    await grant(user, asset, ["ops"])
    term = await Term.connect(gateway, cookie, f"asset={asset.id}&account=ops")
    err = await term.until_control("error")
    assert err["code"] == "host_key_changed" and "has changed" in err["message"] and "admin" in err["message"]
    assert err["details"]["presented"] != err["details"]["recorded"]
    assert "key" not in err["details"] and sshd.host_key.split()[1] not in json.dumps(err)
    await term.close()
    row = await Session.get(asset_id=asset.id)
    assert row.end_reason == "host_key_changed"
    assert (await Asset.get(id=asset.id)).extra["ssh_host_key"]["key"] == other  # not overwritten
    return asset, cookie


def _sshd_fingerprint(sshd: SshPeer) -> str:
    return asyncssh.import_public_key(sshd.host_key).get_fingerprint("sha256")


async def _connects(gateway: str, cookie: str, asset: Asset, sshd: SshPeer) -> None:
    term = await Term.connect(gateway, cookie, f"asset={asset.id}&account=ops")
    await term.opened()
    await term.run("echo key-ok-$((6*7))", "key-ok-42")
    await term.close()


async def test_changed_key_refused_then_admin_forgets_and_next_connect_records_new(
        services: Services, gateway: str, sshd: SshPeer, admin_http: httpx.AsyncClient) -> None:
    asset, cookie = await _refused_asset(services, gateway, sshd)
    view = (await admin_http.get(f"/assets/{asset.id}/host-key")).json()
    assert view["presented"]["fingerprint"] == _sshd_fingerprint(sshd)  # what the admin compares on the console
    assert view["recorded"]["fingerprint"] != view["presented"]["fingerprint"]
    r = await admin_http.post(f"/assets/{asset.id}/host-key/forget")
    assert r.status_code == 200, r.text
    await _connects(gateway, cookie, asset, sshd)
    stored = (await Asset.get(id=asset.id)).extra["ssh_host_key"]
    assert stored["key"].split()[:2] == sshd.host_key.split()[:2]
    assert await OperationLog.filter(action="forget_host_key", actor="boss").count() == 1


async def test_changed_key_refused_then_admin_accepts_exactly_the_presented_key(
        services: Services, gateway: str, sshd: SshPeer, admin_http: httpx.AsyncClient) -> None:
    asset, cookie = await _refused_asset(services, gateway, sshd)
    r = await admin_http.post(f"/assets/{asset.id}/host-key/accept", json={"fingerprint": _sshd_fingerprint(sshd)})
    assert r.status_code == 200, r.text
    assert r.json()["recorded"]["fingerprint"] == _sshd_fingerprint(sshd) and r.json()["presented"] is None
    await _connects(gateway, cookie, asset, sshd)
    again = await admin_http.get(f"/assets/{asset.id}/host-key")
    assert again.json()["presented"] is None and again.json()["recorded"]["fingerprint"] == _sshd_fingerprint(sshd)
