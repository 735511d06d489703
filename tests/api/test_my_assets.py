"""What a person sees under "My assets", and what the resolver lets a connector do."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api._assets_helpers import account, asset, node, permission, person
from tests.helpers import add_membership, make_org
from webgate.db.models import Asset, AssetPermission, User, UserGroup
from webgate.errors import Forbidden, NotFound
from webgate.policy.access import AccessResolver


async def names(client, **params) -> list[str]:  # type: ignore[no-untyped-def]
    r = await client.get("/api/v1/my/assets", params=params)
    assert r.status_code == 200, r.text
    return sorted(i["name"] for i in r.json()["items"])


async def names_ids(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {i["name"]: i["id"] for i in (await client.get("/api/v1/my/assets")).json()["items"]}


async def test_node_permission_covers_sub_nodes_and_assets_added_later(admin_client, services, make_client):
    user, me = await person(services, make_client, "alice")
    prod = await node(admin_client, "Prod")
    db = await node(admin_client, "DB", prod)
    await asset(admin_client, "app", [prod])
    await asset(admin_client, "outside")
    await asset(admin_client, "sleeping", [prod], is_active=False)
    await permission(admin_client, "prod", user_ids=[str(user.id)], node_ids=[prod["id"]])
    assert await names(me) == ["app"]
    deep = await node(admin_client, "Deep", db)
    await asset(admin_client, "later", [deep])
    assert await names(me) == ["app", "later"]
    assert await names(me, node_id=db["id"]) == ["later"]
    assert await names(me, search="lat") == ["later"]
    await admin_client.patch(f"/api/v1/assets/{(await names_ids(me))['app']}", json={"labels": ["env:staging"]})
    assert await names(me, search="staging") == ["app"]
    assert await names(me, label="env:staging", search="app") == ["app"]
    tree = {n["name"]: n for n in (await me.get("/api/v1/my/nodes")).json()}
    assert set(tree) == {"Prod", "DB", "Deep"}
    assert tree["Prod"]["asset_count"] == 2 and tree["DB"]["asset_count"] == 1
    assert tree["Deep"]["parent_id"] == db["id"]


async def test_group_permissions_reach_members_only(admin_client, services, make_client, default_org):
    user, me = await person(services, make_client, "bob")
    _, other = await person(services, make_client, "carol")
    group = await UserGroup.create(org=default_org, name="dbas")
    await group.users.add(user)
    a = await asset(admin_client, "db1", platform="postgresql")
    await permission(admin_client, "dbas", group_ids=[str(group.id)], asset_ids=[a["id"]])
    assert await names(me) == ["db1"]
    assert await names(other) == []
    assert (await other.get(f"/api/v1/my/assets/{a['id']}")).status_code == 404
    await group.users.remove(user)
    assert await names(me) == []


async def test_validity_window_and_inactive_permissions(admin_client, services, make_client, clock):
    user, me = await person(services, make_client, "dave")
    a = await asset(admin_client, "srv")
    start = clock.now() + timedelta(minutes=10)
    p = await permission(admin_client, "later", user_ids=[str(user.id)], asset_ids=[a["id"]],
                         date_start=start.isoformat(), date_expired=(start + timedelta(minutes=10)).isoformat())
    assert await names(me) == []
    clock.advance(600)
    assert await names(me) == ["srv"]
    clock.advance(600)
    assert await names(me) == []
    await admin_client.patch(f"/api/v1/permissions/{p['id']}", json={"date_expired": None})
    assert await names(me) == ["srv"]
    await admin_client.patch(f"/api/v1/permissions/{p['id']}", json={"is_active": False})
    assert await names(me) == []


async def test_other_orgs_assets_never_appear(admin_client, services, make_client):
    user, me = await person(services, make_client, "erin")
    other = await make_org("Other")
    await add_membership(user, other)
    hdr = {"X-Webgate-Org": str(other.id)}
    theirs = (await admin_client.post("/api/v1/assets", headers=hdr,
                                      json={"name": "theirs", "address": "h", "platform": "linux"})).json()
    await admin_client.post("/api/v1/permissions", headers=hdr,
                            json={"name": "p", "user_ids": [str(user.id)], "asset_ids": [theirs["id"]]})
    assert await names(me) == []
    assert (await me.get(f"/api/v1/my/assets/{theirs['id']}")).status_code == 404
    r = await me.get("/api/v1/my/assets", headers=hdr)
    assert [i["name"] for i in r.json()["items"]] == ["theirs"]


async def test_accounts_protocols_and_actions_as_shown(admin_client, services, make_client):
    user, me = await person(services, make_client, "frank")
    a = await asset(admin_client, "srv", protocols=[{"name": "ssh", "port": 22}, {"name": "sftp", "port": 22}])
    await account(admin_client, a, "root", username="root")
    await account(admin_client, a, "mine", username="frank")
    await account(admin_client, a, "other", username="svc")
    await permission(admin_client, "p1", user_ids=[str(user.id)], asset_ids=[a["id"]],
                     accounts=["root", "@SAME", "@INPUT"], protocols=["ssh"], actions=["connect"])
    item = (await me.get(f"/api/v1/my/assets/{a['id']}")).json()
    assert item["protocols"] == [{"name": "ssh", "port": 22}] and item["actions"] == ["connect"]
    accounts = {x["name"]: x for x in item["accounts"]}
    assert set(accounts) == {"root", "mine", "@INPUT"}
    assert accounts["mine"]["alias"] == "@SAME"
    assert accounts["@INPUT"] == {"id": None, "name": "@INPUT", "username": "", "alias": "@INPUT"}
    await permission(admin_client, "p2", user_ids=[str(user.id)], asset_ids=[a["id"]],
                     accounts=["@ALL"], protocols=["sftp"], actions=["upload"])
    item = (await me.get(f"/api/v1/my/assets/{a['id']}")).json()
    assert {x["name"] for x in item["accounts"]} == {"root", "mine", "other", "@INPUT"}
    assert len(item["protocols"]) == 2 and item["actions"] == ["connect", "upload"]
    assert "secret" not in str(item)


async def test_check_is_what_connectors_call(admin_client, services, make_client, default_org):
    user, _ = await person(services, make_client, "gina")
    a = await asset(admin_client, "srv")
    hidden = await asset(admin_client, "hidden")
    root = await account(admin_client, a, "root", secret="pw")  # noqa: S106
    await account(admin_client, a, "other")
    await permission(admin_client, "p", user_ids=[str(user.id)], asset_ids=[a["id"]],
                     accounts=["root", "@INPUT"], protocols=["ssh"], actions=["connect", "copy"])
    resolver = AccessResolver(services.clock)
    user = await User.get(id=user.id)
    got = await resolver.check(user, default_org.id, a["id"], "root", "ssh")
    assert str(got.account.id) == root["id"] and not got.manual and got.grant.allows_action("copy")
    assert (await resolver.check(user, default_org.id, a["id"], root["id"], "ssh")).account is not None
    manual = await resolver.check(user, default_org.id, a["id"], "@INPUT", "ssh")
    assert manual.manual and manual.account is None
    with pytest.raises(Forbidden):
        await resolver.check(user, default_org.id, a["id"], "other", "ssh")
    with pytest.raises(Forbidden):
        await resolver.check(user, default_org.id, a["id"], "root", "sftp")
    with pytest.raises(Forbidden):
        await resolver.check(user, default_org.id, a["id"], "root", "ssh", action="upload")
    with pytest.raises(NotFound):
        await resolver.check(user, default_org.id, hidden["id"], "root", "ssh")
    with pytest.raises(NotFound):
        await resolver.check(user, default_org.id, "not-a-uuid", "root", "ssh")
    assert await resolver.permitted_asset_ids(user, default_org.id) == {got.asset.id}


async def test_favorites_pagination_and_not_permitted_assets(admin_client, services, make_client):
    user, me = await person(services, make_client, "hank")
    prod = await node(admin_client, "Prod")
    rows = [await asset(admin_client, f"s{i:02d}", [prod]) for i in range(5)]
    outside = await asset(admin_client, "outside")
    await permission(admin_client, "p", user_ids=[str(user.id)], node_ids=[prod["id"]])
    page = (await me.get("/api/v1/my/assets", params={"page": 2, "page_size": 2})).json()
    assert page["total"] == 5 and [i["name"] for i in page["items"]] == ["s02", "s03"]
    assert (await me.post("/api/v1/my/favorites", json={"asset_id": rows[1]["id"]})).json() == [rows[1]["id"]]
    assert (await me.post("/api/v1/my/favorites", json={"asset_id": outside["id"]})).status_code == 404
    assert (await me.get("/api/v1/my/favorites")).json() == [rows[1]["id"]]
    assert (await me.delete(f"/api/v1/my/favorites/{rows[1]['id']}")).status_code == 204
    assert (await me.get("/api/v1/my/favorites")).json() == []
    assert (await me.get(f"/api/v1/my/assets/{outside['id']}")).status_code == 404
    assert (await me.get("/api/v1/my/assets/nonsense")).status_code == 404


async def test_a_link_to_another_orgs_asset_is_still_fenced_out(admin_client, services, make_client, default_org):
    """Even if a row linked a permission to a foreign asset (the API refuses that), it stays hidden."""
    user, me = await person(services, make_client, "ivan")
    other = await make_org("Other")
    foreign = await Asset.create(org=other, name="foreign", address="h", platform="linux")
    p = await permission(admin_client, "p", user_ids=[str(user.id)])
    await (await AssetPermission.get(id=p["id"])).assets.add(foreign)
    assert await names(me) == []
    assert (await me.get(f"/api/v1/my/assets/{foreign.id}")).status_code == 404
