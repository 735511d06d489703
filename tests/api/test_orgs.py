"""Organizations: only super admins manage them; the default and non-empty orgs are kept."""

from __future__ import annotations

from tests.helpers import add_membership, login, make_org, make_user
from webgate.db.models import Asset, OperationLog, Organization

API = "/api/v1/orgs"


async def test_super_admin_creates_org_and_it_appears_in_their_switcher(admin_client):
    r = await admin_client.post(API, json={"name": "Acme", "comment": "first customer"})
    assert r.status_code == 201, r.text
    org = r.json()
    assert org["name"] == "Acme" and org["comment"] == "first customer"
    me = (await admin_client.get("/api/v1/auth/me")).json()
    assert "Acme" in [o["name"] for o in me["orgs"]]
    r = await admin_client.post("/api/v1/auth/switch-org", json={"org_id": org["id"]})
    assert r.status_code == 200 and "users.manage" in r.json()["permissions"]
    listing = (await admin_client.get(API, params={"search": "acm"})).json()
    assert [o["name"] for o in listing["items"]] == ["Acme"]
    assert await OperationLog.filter(resource_type="org", action="create").count() == 1


async def test_rename_and_duplicate_name(admin_client):
    org = (await admin_client.post(API, json={"name": "One"})).json()
    await admin_client.post(API, json={"name": "Two"})
    r = await admin_client.patch(f"{API}/{org['id']}", json={"name": "Two"})
    assert r.status_code == 409 and r.json()["error"]["details"]["field"] == "name"
    r = await admin_client.patch(f"{API}/{org['id']}", json={"name": "Uno", "is_default": True})
    assert r.status_code == 200 and r.json()["name"] == "Uno" and r.json()["is_default"] is False
    r = await admin_client.post(API, json={"name": ""})
    assert r.status_code == 422 and "name" in r.json()["error"]["details"]["fields"]


async def test_default_org_cannot_be_deleted(admin_client, default_org):
    r = await admin_client.delete(f"{API}/{default_org.id}")
    assert r.status_code == 409
    assert "default" in r.json()["error"]["message"]


async def test_org_with_users_or_assets_is_not_deleted_until_empty(admin_client, services):
    org = (await admin_client.post(API, json={"name": "Busy"})).json()
    await add_membership(await make_user(services, "worker"), await Organization.get(id=org["id"]))
    r = await admin_client.delete(f"{API}/{org['id']}")
    assert r.status_code == 409 and "1 user" in r.json()["error"]["message"]
    with_assets = await make_org("With assets")
    await Asset.create(org=with_assets, name="db1", address="10.0.0.5", platform="linux")
    r = await admin_client.delete(f"{API}/{with_assets.id}")
    assert r.status_code == 409 and "1 asset" in r.json()["error"]["message"]
    empty = (await admin_client.post(API, json={"name": "Empty"})).json()
    assert (await admin_client.delete(f"{API}/{empty['id']}")).status_code == 204
    assert (await admin_client.get(f"{API}/{empty['id']}")).status_code == 404


async def test_org_admin_and_plain_user_cannot_manage_orgs(make_client, services, default_org):
    await make_user(services, "orgadmin", role="OrgAdmin")
    await make_user(services, "plain")
    for name in ("orgadmin", "plain"):
        browser = make_client()
        await login(browser, name)
        assert (await browser.get(API)).status_code == 403
        assert (await browser.post(API, json={"name": "Mine"})).status_code == 403
        assert (await browser.delete(f"{API}/{default_org.id}")).status_code == 403


async def test_anonymous_is_refused(client):
    assert (await client.get(API)).status_code == 401
