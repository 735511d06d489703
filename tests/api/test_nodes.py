"""The asset tree as an admin edits it: paths, moves, counts, deletes, and who may do it."""

from __future__ import annotations

from tests.api._assets_helpers import asset, node, person
from tests.helpers import make_org


async def test_child_path_is_the_chain_of_ancestors_and_counts_include_sub_nodes(admin_client):
    prod = await node(admin_client, "Prod")
    db = await node(admin_client, "DB", prod)
    mysql = await node(admin_client, "MySQL", db)
    assert prod["path"] == "/" and db["path"] == f"/{prod['id']}/"
    assert mysql["path"] == f"/{prod['id']}/{db['id']}/"
    await asset(admin_client, "m1", [mysql])
    await asset(admin_client, "p1", [prod])
    tree = {n["name"]: n for n in (await admin_client.get("/api/v1/nodes")).json()["items"]}
    assert tree["Prod"]["asset_count"] == 2 and tree["DB"]["asset_count"] == 1
    assert tree["MySQL"]["parent_id"] == db["id"]


async def test_rename_and_move_recompute_descendant_paths(admin_client):
    a = await node(admin_client, "A")
    b = await node(admin_client, "B")
    child = await node(admin_client, "child", a)
    grandchild = await node(admin_client, "grandchild", child)
    r = await admin_client.patch(f"/api/v1/nodes/{child['id']}", json={"parent_id": b["id"], "name": "moved"})
    assert r.status_code == 200, r.text
    assert r.json()["path"] == f"/{b['id']}/" and r.json()["name"] == "moved"
    g = (await admin_client.get(f"/api/v1/nodes/{grandchild['id']}")).json()
    assert g["path"] == f"/{b['id']}/{child['id']}/"
    r = await admin_client.patch(f"/api/v1/nodes/{child['id']}", json={"parent_id": None})
    assert r.json()["path"] == "/" and r.json()["parent_id"] is None
    g = (await admin_client.get(f"/api/v1/nodes/{grandchild['id']}")).json()
    assert g["path"] == f"/{child['id']}/"


async def test_moving_under_own_descendant_or_itself_is_refused(admin_client):
    a = await node(admin_client, "A")
    child = await node(admin_client, "child", a)
    for target in (child, a):
        r = await admin_client.patch(f"/api/v1/nodes/{a['id']}", json={"parent_id": target["id"]})
        assert r.status_code == 422 and "parent_id" in r.json()["error"]["details"]["fields"]


async def test_sibling_names_are_unique_and_names_cannot_hold_slashes(admin_client):
    await node(admin_client, "Prod")
    r = await admin_client.post("/api/v1/nodes", json={"name": "Prod"})
    assert r.status_code == 409 and r.json()["error"]["details"]["field"] == "name"
    r = await admin_client.post("/api/v1/nodes", json={"name": "a/b"})
    assert r.status_code == 422 and "name" in r.json()["error"]["details"]["fields"]


async def test_delete_refuses_non_empty_node_and_force_moves_assets_to_parent(admin_client):
    root = await node(admin_client, "Root")
    mid = await node(admin_client, "Mid", root)
    leaf = await node(admin_client, "Leaf", mid)
    a = await asset(admin_client, "srv", [leaf])
    r = await admin_client.delete(f"/api/v1/nodes/{mid['id']}")
    assert r.status_code == 409
    assert "force" in r.json()["error"]["message"]
    r = await admin_client.delete(f"/api/v1/nodes/{mid['id']}", params={"force": "true"})
    assert r.status_code == 204
    assert (await admin_client.get(f"/api/v1/nodes/{leaf['id']}")).status_code == 404
    assert (await admin_client.get(f"/api/v1/assets/{a['id']}")).json()["node_ids"] == [root["id"]]
    empty = await node(admin_client, "Empty")
    assert (await admin_client.delete(f"/api/v1/nodes/{empty['id']}")).status_code == 204


async def test_other_orgs_nodes_are_404_and_cannot_be_parents(admin_client):
    other = await make_org("Other")
    r = await admin_client.post("/api/v1/nodes", json={"name": "theirs"}, headers={"X-Webgate-Org": str(other.id)})
    theirs = r.json()
    assert (await admin_client.get(f"/api/v1/nodes/{theirs['id']}")).status_code == 404
    assert (await admin_client.delete(f"/api/v1/nodes/{theirs['id']}")).status_code == 404
    r = await admin_client.post("/api/v1/nodes", json={"name": "x", "parent_id": theirs["id"]})
    assert r.status_code == 422 and "parent_id" in r.json()["error"]["details"]["fields"]
    names = [n["name"] for n in (await admin_client.get("/api/v1/nodes")).json()["items"]]
    assert "theirs" not in names


async def test_user_and_auditor_cannot_change_the_tree(admin_client, services, make_client):
    n = await node(admin_client, "Prod")
    _, user = await person(services, make_client, "plain")
    _, auditor = await person(services, make_client, "aud", role="Auditor")
    assert (await user.get("/api/v1/nodes")).status_code == 403
    assert (await auditor.get("/api/v1/nodes")).status_code == 200
    for c in (user, auditor):
        assert (await c.post("/api/v1/nodes", json={"name": "x"})).status_code == 403
        assert (await c.patch(f"/api/v1/nodes/{n['id']}", json={"name": "y"})).status_code == 403
        assert (await c.delete(f"/api/v1/nodes/{n['id']}")).status_code == 403
