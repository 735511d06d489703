"""Roles: system roles are read-only, custom roles are org-scoped and never escalate privileges."""

from __future__ import annotations

from tests.helpers import login, make_org, make_user
from webgate.db.models import Membership, Role
from webgate.policy.rbac import GLOBAL_ONLY, PERMISSIONS

API = "/api/v1/roles"


async def test_list_shows_system_roles_and_this_orgs_custom_roles(admin_client):
    other = await make_org("Other")
    await Role.create(org=other, name="Elsewhere", permissions=["assets.view"])
    r = await admin_client.post(API, json={"name": "Operators", "permissions": ["assets.view", "assets.manage"]})
    assert r.status_code == 201, r.text
    assert r.json()["builtin"] is False
    names = [x["name"] for x in (await admin_client.get(API)).json()["items"]]
    assert {"OrgAdmin", "Auditor", "User", "Operators"} <= set(names)
    assert "Elsewhere" not in names
    builtin = next(x for x in (await admin_client.get(API)).json()["items"] if x["name"] == "Auditor")
    assert builtin["builtin"] is True and "audit.view" in builtin["permissions"]


async def test_other_orgs_role_is_404(admin_client):
    other = await make_org("Other")
    role = await Role.create(org=other, name="Elsewhere", permissions=["assets.view"])
    assert (await admin_client.get(f"{API}/{role.id}")).status_code == 404
    assert (await admin_client.patch(f"{API}/{role.id}", json={"name": "x"})).status_code == 404
    assert (await admin_client.delete(f"{API}/{role.id}")).status_code == 404


async def test_builtin_roles_are_read_only(admin_client):
    role = await Role.get(org_id=None, name="User")
    r = await admin_client.patch(f"{API}/{role.id}", json={"permissions": ["assets.view"]})
    assert r.status_code == 403 and "Built-in" in r.json()["error"]["message"]
    assert (await admin_client.delete(f"{API}/{role.id}")).status_code == 403
    assert (await Role.get(id=role.id)).permissions == []


async def test_unknown_and_global_permissions_are_refused(admin_client):
    r = await admin_client.post(API, json={"name": "Bad", "permissions": ["assets.fly"]})
    assert r.status_code == 422 and "assets.fly" in r.json()["error"]["details"]["fields"]["permissions"]
    r = await admin_client.post(API, json={"name": "Bad", "permissions": ["orgs.manage"]})
    assert r.status_code == 422 and "permissions" in r.json()["error"]["details"]["fields"]
    r = await admin_client.post(API, json={"name": "OrgAdmin", "permissions": []})
    assert r.status_code == 409


async def test_permission_catalogue_hides_global_permissions_from_org_admins(admin_client, make_client, services):
    names = {p["name"] for p in (await admin_client.get(f"{API}/permissions")).json()}
    assert names == set(PERMISSIONS)
    await make_user(services, "oa", role="OrgAdmin")
    browser = make_client()
    await login(browser, "oa")
    perms = (await browser.get(f"{API}/permissions")).json()
    assert {p["name"] for p in perms} == set(PERMISSIONS) - GLOBAL_ONLY
    assert all(p["description"] for p in perms)


async def test_role_manager_cannot_grant_permissions_they_lack(admin_client, make_client, services, default_org):
    limited = await Role.create(org=default_org, name="RoleEditor", permissions=["roles.view", "roles.manage"])
    user = await make_user(services, "editor")
    await Membership.create(user=user, org=default_org, role=limited)
    browser = make_client()
    await login(browser, "editor")
    r = await browser.post(API, json={"name": "Sneaky", "permissions": ["users.manage"]})
    assert r.status_code == 403 and "users.manage" in r.json()["error"]["message"]
    r = await browser.patch(f"{API}/{limited.id}", json={"permissions": ["roles.view", "roles.manage", "assets.manage"]})
    assert r.status_code == 403
    r = await browser.post(API, json={"name": "Viewer", "permissions": ["roles.view"]})
    assert r.status_code == 201


async def test_update_and_delete_custom_role(admin_client, services, default_org):
    role = (await admin_client.post(API, json={"name": "Ops", "permissions": ["assets.view"]})).json()
    r = await admin_client.patch(f"{API}/{role['id']}", json={"name": "Operations", "permissions": ["assets.view", "accounts.view"],
                                                               "builtin": True})
    assert r.status_code == 200
    assert r.json()["permissions"] == ["accounts.view", "assets.view"] and r.json()["builtin"] is False
    user = await make_user(services, "op")
    await Membership.create(user=user, org=default_org, role_id=role["id"])
    r = await admin_client.delete(f"{API}/{role['id']}")
    assert r.status_code == 409 and "Take it away" in r.json()["error"]["message"]
    await Membership.filter(role_id=role["id"]).delete()
    assert (await admin_client.delete(f"{API}/{role['id']}")).status_code == 204


async def test_plain_user_and_auditor_cannot_change_roles(make_client, services):
    await make_user(services, "plain")
    await make_user(services, "aud", role="Auditor")
    for name in ("plain", "aud"):
        browser = make_client()
        await login(browser, name)
        assert (await browser.post(API, json={"name": "X", "permissions": []})).status_code == 403
    plain = make_client()
    await login(plain, "plain")
    assert (await plain.get(API)).status_code == 403


async def test_changed_role_permissions_apply_on_the_next_request(admin_client, make_client, services, default_org):
    role = (await admin_client.post(API, json={"name": "Readers", "permissions": []})).json()
    user = await make_user(services, "reader")
    await Membership.filter(user_id=user.id).delete()
    await Membership.create(user=user, org=default_org, role_id=role["id"])
    browser = make_client()
    await login(browser, "reader")
    assert (await browser.get("/api/v1/groups")).status_code == 403
    await admin_client.patch(f"{API}/{role['id']}", json={"permissions": ["groups.view"]})
    assert (await browser.get("/api/v1/groups")).status_code == 200
