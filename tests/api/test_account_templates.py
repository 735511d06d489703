"""Account templates: one secret, applied as accounts across assets and whole sub-trees."""

from __future__ import annotations

from tests.api._assets_helpers import account, asset, node, person
from webgate.assets.secrets import reveal_secret
from webgate.db.models import Account, AccountTemplate

SECRET = "Templ4te-Secret-0815"


async def test_apply_creates_accounts_on_assets_and_under_nodes_and_skips_existing(admin_client, services):
    prod = await node(admin_client, "Prod")
    sub = await node(admin_client, "Sub", prod)
    a1 = await asset(admin_client, "a1")
    a2 = await asset(admin_client, "a2", [sub])
    a3 = await asset(admin_client, "a3", [prod])
    await account(admin_client, a3, "ops")
    await asset(admin_client, "untouched")
    r = await admin_client.post("/api/v1/account-templates", json={"name": "ops", "username": "ops", "secret": SECRET})
    tpl = r.json()
    assert r.status_code == 200 and tpl["has_secret"] is True and SECRET not in r.text
    assert SECRET not in (await AccountTemplate.get(id=tpl["id"])).secret_enc
    r = await admin_client.post(f"/api/v1/account-templates/{tpl['id']}/apply",
                                json={"asset_ids": [a1["id"]], "node_ids": [prod["id"]]})
    assert r.json() == {"created": 2, "skipped": 1}
    made = await Account.filter(name="ops", template_id=tpl["id"])
    assert sorted(str(m.asset_id) for m in made) == sorted([a1["id"], a2["id"]])
    # Each copy is sealed to its own row, and the secret survives the copy.
    assert all(reveal_secret(services, m) == (SECRET, None) for m in made)
    assert made[0].secret_enc != made[1].secret_enc
    r = await admin_client.post(f"/api/v1/account-templates/{tpl['id']}/apply", json={"asset_ids": [a1["id"]]})
    assert r.json() == {"created": 0, "skipped": 1}
    listing = await admin_client.get("/api/v1/account-templates")
    assert listing.json()["total"] == 1 and SECRET not in listing.text


async def test_apply_refuses_unknown_ids_and_roles_without_accounts_manage(admin_client, services, make_client):
    tpl = (await admin_client.post("/api/v1/account-templates", json={"name": "t", "username": "u"})).json()
    r = await admin_client.post(f"/api/v1/account-templates/{tpl['id']}/apply",
                                json={"asset_ids": ["00000000-0000-0000-0000-000000000001"]})
    assert r.status_code == 422 and "asset_ids" in r.json()["error"]["details"]["fields"]
    r = await admin_client.post("/api/v1/account-templates", json={"name": "t", "username": "u"})
    assert r.status_code == 409
    _, auditor = await person(services, make_client, "aud", role="Auditor")
    assert (await auditor.get("/api/v1/account-templates")).status_code == 403
    assert (await auditor.post(f"/api/v1/account-templates/{tpl['id']}/apply", json={})).status_code == 403
    r = await admin_client.patch(f"/api/v1/account-templates/{tpl['id']}", json={"username": "v", "secret": "s"})
    assert r.json()["username"] == "v" and r.json()["has_secret"] is True
    assert (await admin_client.delete(f"/api/v1/account-templates/{tpl['id']}")).status_code == 204
