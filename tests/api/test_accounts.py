"""Accounts: secrets go in, are sealed to their row, and never come out of the API."""

from __future__ import annotations

import json

import asyncssh

from tests.api._assets_helpers import account, asset, person
from tests.helpers import make_org
from webgate.assets.secrets import reveal_secret
from webgate.db.crypto import context_for
from webgate.db.models import Account, OperationLog

SECRET = "Sup3r-S3cret-Pa55-4711"


def new_key(passphrase: str | None = None) -> str:
    key = asyncssh.generate_private_key("ssh-ed25519")
    return key.export_private_key("openssh", passphrase).decode()


async def test_secret_is_encrypted_in_the_row_and_never_in_any_response(admin_client, services):
    a = await asset(admin_client, "srv")
    created = await admin_client.post("/api/v1/accounts", json={
        "asset_id": a["id"], "name": "root", "username": "root", "secret": SECRET})
    acc = created.json()
    assert acc["has_secret"] is True and acc["has_passphrase"] is False and "secret" not in acc
    row = await Account.get(id=acc["id"])
    assert SECRET not in row.secret_enc
    assert services.box.decrypt(row.secret_enc, context_for("accounts", "secret", row.id)) == SECRET
    assert reveal_secret(services, row) == (SECRET, None)
    texts = [created.text]
    for url in ("/api/v1/accounts", f"/api/v1/accounts/{acc['id']}", f"/api/v1/accounts?asset_id={a['id']}",
                "/api/v1/audit/operation-logs"):
        texts.append((await admin_client.get(url)).text)
    texts.append((await admin_client.patch(f"/api/v1/accounts/{acc['id']}", json={"secret": SECRET + "x"})).text)
    assert not any(SECRET in t for t in texts)
    assert not any(SECRET in json.dumps(log.changes) for log in await OperationLog.all())


async def test_patch_without_secret_keeps_it_and_empty_string_clears_it(admin_client, services):
    acc = await account(admin_client, await asset(admin_client, "srv"), "root", secret=SECRET)
    r = await admin_client.patch(f"/api/v1/accounts/{acc['id']}", json={"username": "admin", "comment": "c"})
    assert r.status_code == 200 and r.json()["has_secret"] is True and r.json()["username"] == "admin"
    assert reveal_secret(services, await Account.get(id=acc["id"]))[0] == SECRET
    r = await admin_client.patch(f"/api/v1/accounts/{acc['id']}", json={"secret": ""})
    assert r.json()["has_secret"] is False


async def test_ssh_keys_must_parse_and_open_with_the_passphrase(admin_client, services):
    a = await asset(admin_client, "srv")
    ok = await admin_client.post("/api/v1/accounts", json={
        "asset_id": a["id"], "name": "k1", "username": "deploy", "secret_type": "ssh_key",
        "secret": new_key("pw-1"), "passphrase": "pw-1"})
    assert ok.status_code == 200 and ok.json()["has_passphrase"] is True
    for secret, passphrase in (("not a key", None), (new_key("pw-1"), "wrong"), (new_key("pw-1"), None)):
        r = await admin_client.post("/api/v1/accounts", json={
            "asset_id": a["id"], "name": "k2", "username": "u", "secret_type": "ssh_key",
            "secret": secret, "passphrase": passphrase})
        assert r.status_code == 422 and "secret" in r.json()["error"]["details"]["fields"]
    # A new passphrase alone is checked against the stored key.
    r = await admin_client.patch(f"/api/v1/accounts/{ok.json()['id']}", json={"passphrase": "nope"})
    assert r.status_code == 422 and "secret" in r.json()["error"]["details"]["fields"]
    r = await admin_client.patch(f"/api/v1/accounts/{ok.json()['id']}", json={"secret_type": "password"})
    assert r.status_code == 422 and "secret" in r.json()["error"]["details"]["fields"]


async def test_validation_names_fields(admin_client):
    a = await asset(admin_client, "srv")
    await account(admin_client, a, "root")
    post = admin_client.post
    r = await post("/api/v1/accounts", json={"asset_id": a["id"], "name": "root", "username": "x"})
    assert r.status_code == 409
    r = await post("/api/v1/accounts", json={"asset_id": a["id"], "name": "@ALL", "username": "x"})
    assert "name" in r.json()["error"]["details"]["fields"]
    r = await post("/api/v1/accounts", json={"asset_id": a["id"], "name": "n", "username": "x", "secret_type": "cert"})
    assert "secret_type" in r.json()["error"]["details"]["fields"]


async def test_other_org_assets_and_accounts_are_out_of_reach(admin_client, services, make_client):
    other = await make_org("Other")
    hdr = {"X-Webgate-Org": str(other.id)}
    theirs = (await admin_client.post("/api/v1/assets", headers=hdr,
                                      json={"name": "t", "address": "h", "platform": "linux"})).json()
    their_acc = (await admin_client.post("/api/v1/accounts", headers=hdr,
                                         json={"asset_id": theirs["id"], "name": "r", "username": "r"})).json()
    r = await admin_client.post("/api/v1/accounts", json={"asset_id": theirs["id"], "name": "x", "username": "x"})
    assert r.status_code == 422 and "asset_id" in r.json()["error"]["details"]["fields"]
    assert (await admin_client.get(f"/api/v1/accounts/{their_acc['id']}")).status_code == 404
    assert (await admin_client.patch(f"/api/v1/accounts/{their_acc['id']}", json={"secret": "x"})).status_code == 404
    assert (await admin_client.get("/api/v1/accounts")).json()["total"] == 0
    mine = await account(admin_client, await asset(admin_client, "srv"), "root")
    _, user = await person(services, make_client, "plain")
    _, auditor = await person(services, make_client, "aud", role="Auditor")
    for c in (user, auditor):
        assert (await c.get("/api/v1/accounts")).status_code == 403
        assert (await c.patch(f"/api/v1/accounts/{mine['id']}", json={"secret": "x"})).status_code == 403
        assert (await c.delete(f"/api/v1/accounts/{mine['id']}")).status_code == 403
