"""User groups: org-scoped, members only from this org."""

from __future__ import annotations

from tests.helpers import login, make_org, make_user
from webgate.db.models import OperationLog, UserGroup

API = "/api/v1/groups"


async def test_create_update_delete_group(admin_client, services):
    ann = await make_user(services, "ann")
    ben = await make_user(services, "ben")
    r = await admin_client.post(API, json={"name": "DBAs", "comment": "database team", "user_ids": [str(ann.id)]})
    assert r.status_code == 201, r.text
    group = r.json()
    assert group["user_ids"] == [str(ann.id)]
    r = await admin_client.patch(f"{API}/{group['id']}", json={"user_ids": [str(ben.id)], "name": "DBA team"})
    assert r.status_code == 200 and r.json()["user_ids"] == [str(ben.id)] and r.json()["name"] == "DBA team"
    listing = (await admin_client.get(API, params={"search": "dba"})).json()
    assert listing["total"] == 1
    user = (await admin_client.get(f"/api/v1/users/{ben.id}")).json()
    assert user["group_ids"] == [group["id"]]
    assert (await admin_client.delete(f"{API}/{group['id']}")).status_code == 204
    assert not await UserGroup.filter(id=group["id"]).exists()
    actions = await OperationLog.filter(resource_type="group").values_list("action", flat=True)
    assert sorted(actions) == ["create", "delete", "update"]


async def test_members_from_another_org_are_refused_naming_user_ids(admin_client, services):
    outsider = await make_user(services, "outsider", org=await make_org("Other"))
    r = await admin_client.post(API, json={"name": "Mixed", "user_ids": [str(outsider.id)]})
    assert r.status_code == 422 and "user_ids" in r.json()["error"]["details"]["fields"]
    r = await admin_client.post(API, json={"name": "Mixed", "user_ids": ["not-a-uuid"]})
    assert r.status_code == 422 and any(k.startswith("user_ids") for k in r.json()["error"]["details"]["fields"])


async def test_duplicate_name_and_other_orgs_group(admin_client):
    await admin_client.post(API, json={"name": "Ops"})
    r = await admin_client.post(API, json={"name": "Ops"})
    assert r.status_code == 409 and r.json()["error"]["details"]["field"] == "name"
    theirs = await UserGroup.create(org=await make_org("Other"), name="Secret team")
    assert (await admin_client.get(f"{API}/{theirs.id}")).status_code == 404
    assert (await admin_client.patch(f"{API}/{theirs.id}", json={"name": "mine"})).status_code == 404
    assert (await admin_client.delete(f"{API}/{theirs.id}")).status_code == 404
    assert "Secret team" not in [g["name"] for g in (await admin_client.get(API)).json()["items"]]


async def test_plain_user_and_auditor_cannot_manage_groups(make_client, services, default_org):
    group = await UserGroup.create(org=default_org, name="Ops")
    await make_user(services, "plain")
    await make_user(services, "aud", role="Auditor")
    for name in ("plain", "aud"):
        browser = make_client()
        await login(browser, name)
        assert (await browser.post(API, json={"name": "X"})).status_code == 403
        assert (await browser.patch(f"{API}/{group.id}", json={"name": "X"})).status_code == 403
        assert (await browser.delete(f"{API}/{group.id}")).status_code == 403
        assert (await browser.get(API)).status_code == 403


async def test_a_name_with_an_escaped_lone_surrogate_is_refused_and_nothing_is_stored(admin_client):
    body = b'{"name": "Ops \\ud800"}'  # valid JSON, but no text: the database could not store it
    r = await admin_client.post(API, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "surrogate" in r.json()["error"]["message"]
    assert not await UserGroup.filter(name__startswith="Ops").exists()
    r = await admin_client.post(API, content=b'{"name": "Ops \\ud83d\\ude00"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 201 and r.json()["name"] == "Ops \U0001f600"  # a pair is one character
