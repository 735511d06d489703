"""Asset permissions as an admin edits them: only this org's people and things, valid rights."""

from __future__ import annotations

from tests.api._assets_helpers import asset, node, permission, person
from tests.helpers import make_org, make_user
from webgate.db.models import AssetPermission, UserGroup


def fields(r) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    return r.json()["error"]["details"]["fields"]


async def test_create_with_everything_and_read_it_back(admin_client, services, default_org):
    alice = await make_user(services, "alice")
    group = await UserGroup.create(org=default_org, name="ops")
    n = await node(admin_client, "Prod")
    a = await asset(admin_client, "srv")
    p = await permission(admin_client, "ops-prod", user_ids=[str(alice.id)], group_ids=[str(group.id)],
                         asset_ids=[a["id"]], node_ids=[n["id"]], accounts=["root", "@SAME"],
                         protocols=["ssh", "sftp"], actions=["upload", "connect"],
                         date_start="2026-01-01T00:00:00Z", date_expired="2026-12-31T00:00:00Z")
    assert p["user_ids"] == [str(alice.id)] and p["group_ids"] == [str(group.id)]
    assert p["asset_ids"] == [a["id"]] and p["node_ids"] == [n["id"]]
    assert p["actions"] == ["connect", "upload"] and p["protocols"] == ["ssh", "sftp"]
    assert p["date_expired"].startswith("2026-12-31")
    default = await permission(admin_client, "defaults")
    assert default["accounts"] == ["@ALL"] and default["protocols"] == ["all"] and default["actions"] == ["connect"]
    r = await admin_client.patch(f"/api/v1/permissions/{p['id']}", json={"user_ids": [], "is_active": False})
    assert r.json()["user_ids"] == [] and r.json()["asset_ids"] == [a["id"]] and r.json()["is_active"] is False
    listing = await admin_client.get("/api/v1/permissions", params={"asset_id": a["id"]})
    assert [i["name"] for i in listing.json()["items"]] == ["ops-prod"]


async def test_bad_rights_and_windows_are_refused_by_field(admin_client):
    post = admin_client.post
    assert "actions" in fields(await post("/api/v1/permissions", json={"name": "p", "actions": ["delete"]}))
    assert "protocols" in fields(await post("/api/v1/permissions", json={"name": "p", "protocols": ["ftp"]}))
    assert "accounts" in fields(await post("/api/v1/permissions", json={"name": "p", "accounts": ["@ROOT"]}))
    r = await post("/api/v1/permissions", json={"name": "p", "date_start": "2026-02-01T00:00:00Z",
                                                "date_expired": "2026-01-01T00:00:00Z"})
    assert r.status_code == 422
    p = await permission(admin_client, "p", date_start="2026-02-01T00:00:00Z")
    r = await admin_client.patch(f"/api/v1/permissions/{p['id']}", json={"date_expired": "2026-01-01T00:00:00Z"})
    assert "date_expired" in fields(r)
    assert (await post("/api/v1/permissions", json={"name": "p"})).status_code == 409


async def test_people_and_things_of_other_orgs_are_refused(admin_client, services):
    other = await make_org("Other")
    hdr = {"X-Webgate-Org": str(other.id)}
    outsider = await make_user(services, "outsider", org=other)
    their_node = (await admin_client.post("/api/v1/nodes", headers=hdr, json={"name": "t"})).json()
    their_asset = (await admin_client.post("/api/v1/assets", headers=hdr,
                                           json={"name": "t", "address": "h", "platform": "linux"})).json()
    their_group = await UserGroup.create(org=other, name="g")
    post = admin_client.post
    assert "user_ids" in fields(await post("/api/v1/permissions", json={"name": "p", "user_ids": [str(outsider.id)]}))
    assert "group_ids" in fields(await post("/api/v1/permissions", json={"name": "p", "group_ids": [str(their_group.id)]}))
    assert "asset_ids" in fields(await post("/api/v1/permissions", json={"name": "p", "asset_ids": [their_asset["id"]]}))
    assert "node_ids" in fields(await post("/api/v1/permissions", json={"name": "p", "node_ids": [their_node["id"]]}))
    assert await AssetPermission.all().count() == 0
    theirs = (await post("/api/v1/permissions", headers=hdr, json={"name": "x"})).json()
    for verb in ("get", "patch", "delete"):
        kw = {"json": {"name": "y"}} if verb == "patch" else {}
        assert (await getattr(admin_client, verb)(f"/api/v1/permissions/{theirs['id']}", **kw)).status_code == 404


async def test_user_and_auditor_cannot_grant(admin_client, services, make_client):
    p = await permission(admin_client, "p")
    _, user = await person(services, make_client, "plain")
    _, auditor = await person(services, make_client, "aud", role="Auditor")
    for c in (user, auditor):
        assert (await c.get("/api/v1/permissions")).status_code == 403
        assert (await c.post("/api/v1/permissions", json={"name": "mine"})).status_code == 403
        assert (await c.patch(f"/api/v1/permissions/{p['id']}", json={"is_active": True})).status_code == 403
        assert (await c.delete(f"/api/v1/permissions/{p['id']}")).status_code == 403


async def test_session_limits_are_set_checked_and_cleared(admin_client):
    post = admin_client.post
    assert "idle_minutes" in fields(await post("/api/v1/permissions", json={"name": "p", "idle_minutes": 0}))
    assert "max_minutes" in fields(await post("/api/v1/permissions", json={"name": "p", "max_minutes": 99999}))
    p = await permission(admin_client, "limited", idle_minutes=15, max_minutes=120)
    assert (p["idle_minutes"], p["max_minutes"]) == (15, 120)
    r = await admin_client.patch(f"/api/v1/permissions/{p['id']}", json={"is_active": True})
    assert r.json()["idle_minutes"] == 15, "a PATCH without the field keeps it"
    r = await admin_client.patch(f"/api/v1/permissions/{p['id']}", json={"idle_minutes": None})
    assert r.json()["idle_minutes"] is None and r.json()["max_minutes"] == 120
