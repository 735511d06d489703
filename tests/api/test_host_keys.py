"""SSH host keys through the API: see the recorded and the refused key, accept or forget, audited.

The end-to-end story with a real sshd (refused → accepted/forgotten → connects) is in
tests/integration/test_host_key_acceptance.py.
"""

from __future__ import annotations

from typing import Any

import asyncssh
import pytest

from tests.api._assets_helpers import asset, person
from tests.helpers import make_org
from webgate.db.models import Asset, OperationLog
from webgate.services import Services
from webgate.sessions.hostkeys import note_presented_key, record_host_key


def _key() -> tuple[str, str]:
    key = asyncssh.generate_private_key("ssh-ed25519").convert_to_public()
    return key.export_public_key("openssh").decode().strip(), key.get_fingerprint("sha256")


@pytest.fixture
async def keyed(admin_client: Any, services: Services) -> dict[str, Any]:
    """An asset with a recorded key and a different key it presented later (refused)."""
    row = await asset(admin_client, "web1")
    db = await Asset.get(id=row["id"])
    old, old_fp = _key()
    new, new_fp = _key()
    await record_host_key(db, old, services.clock.now())
    await note_presented_key(db, new, services.clock.now())
    return {"id": row["id"], "old_fp": old_fp, "new_fp": new_fp, "new": new}


async def test_admin_sees_both_keys_and_accepts_the_checked_one(admin_client, keyed) -> None:
    url = f"/api/v1/assets/{keyed['id']}/host-key"
    view = (await admin_client.get(url)).json()
    assert view["recorded"]["fingerprint"] == keyed["old_fp"] and view["presented"]["fingerprint"] == keyed["new_fp"]
    assert view["presented"]["key"] == keyed["new"] and view["presented"]["seen_at"]
    r = await admin_client.post(url + "/accept", json={"fingerprint": keyed["old_fp"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "host_key_mismatch"
    assert "fingerprint" in r.json()["error"]["message"]
    r = await admin_client.post(url + "/accept", json={"fingerprint": keyed["new_fp"]})
    assert r.status_code == 200, r.text
    assert r.json()["recorded"]["fingerprint"] == keyed["new_fp"] and r.json()["presented"] is None
    stored = (await Asset.get(id=keyed["id"])).extra
    assert stored["ssh_host_key"]["key"] == keyed["new"] and "ssh_host_key_presented" not in stored
    log = await OperationLog.get(action="accept_host_key")
    assert log.changes == {"fingerprint": keyed["new_fp"], "previous_fingerprint": keyed["old_fp"]}
    assert log.resource_type == "asset" and log.resource_id == keyed["id"]


async def test_forget_clears_the_key_and_is_audited(admin_client, keyed) -> None:
    r = await admin_client.post(f"/api/v1/assets/{keyed['id']}/host-key/forget")
    assert r.status_code == 200 and r.json()["recorded"] is None and r.json()["presented"] is None
    assert "ssh_host_key" not in (await Asset.get(id=keyed["id"])).extra
    log = await OperationLog.get(action="forget_host_key")
    assert log.changes["previous_fingerprint"] == keyed["old_fp"]


async def test_an_asset_without_keys_shows_nulls(admin_client) -> None:
    row = await asset(admin_client, "fresh")
    view = (await admin_client.get(f"/api/v1/assets/{row['id']}/host-key")).json()
    assert view == {"asset_id": row["id"], "recorded": None, "presented": None}


async def test_bad_bodies_are_refused_naming_the_field(admin_client, keyed) -> None:
    url = f"/api/v1/assets/{keyed['id']}/host-key/accept"
    r = await admin_client.post(url, json={})
    assert r.status_code == 422 and "fingerprint" in r.json()["error"]["details"]["fields"]
    r = await admin_client.post(url, json={"fingerprint": keyed["new_fp"], "key": "ssh-ed25519 AAAA"})
    assert r.status_code == 422 and "key" in r.json()["error"]["details"]["fields"]


async def test_users_and_auditors_may_not_change_trust(services, make_client, keyed) -> None:
    _, user = await person(services, make_client, "bob")
    _, auditor = await person(services, make_client, "eve", role="Auditor")
    url = f"/api/v1/assets/{keyed['id']}/host-key"
    assert (await user.get(url)).status_code == 403
    assert (await auditor.get(url)).status_code == 200  # seeing public keys is part of auditing
    for c in (user, auditor):
        assert (await c.post(url + "/forget")).status_code == 403
        assert (await c.post(url + "/accept", json={"fingerprint": keyed["new_fp"]})).status_code == 403
    assert (await Asset.get(id=keyed["id"])).extra["ssh_host_key"]["fingerprint"] == keyed["old_fp"]


async def test_another_orgs_asset_is_not_found(services, make_client, keyed) -> None:
    other = await make_org("Other")
    _, outsider = await person(services, make_client, "mallory", role="OrgAdmin", org=other)
    url = f"/api/v1/assets/{keyed['id']}/host-key"
    assert (await outsider.get(url)).status_code == 404
    assert (await outsider.post(url + "/forget")).status_code == 404
    assert (await outsider.post(url + "/accept", json={"fingerprint": keyed["new_fp"]})).status_code == 404
    assert (await Asset.get(id=keyed["id"])).extra["ssh_host_key"]["fingerprint"] == keyed["old_fp"]


async def test_patching_extra_cannot_overwrite_or_drop_the_recorded_key(admin_client, keyed) -> None:
    url = f"/api/v1/assets/{keyed['id']}"
    fake, _ = _key()
    current = (await admin_client.get(url)).json()["extra"]
    # The SPA round-trips extra: the key entries in it are ignored, the other fields are saved.
    r = await admin_client.patch(url, json={"extra": {**current, "login_url": "x",
                                                      "ssh_host_key": {"key": fake, "fingerprint": "SHA256:fake"}}})
    assert r.status_code == 200, r.text
    r = await admin_client.patch(url, json={"extra": {"ssh_host_key": fake, "ssh_host_key_presented": fake}})
    assert r.status_code == 200, r.text
    r = await admin_client.patch(url, json={"extra": {}})
    assert r.status_code == 200, r.text
    stored = (await Asset.get(id=keyed["id"])).extra
    assert stored["ssh_host_key"]["fingerprint"] == keyed["old_fp"]
    assert stored["ssh_host_key_presented"]["fingerprint"] == keyed["new_fp"]
    assert "login_url" not in stored  # the last PATCH replaced the other fields as usual
    created = await asset(admin_client, "born-trusted", extra={"ssh_host_key": fake})
    assert "ssh_host_key" not in (await Asset.get(id=created["id"])).extra
