"""AUTHZ: every route is closed to strangers, to people without the permission, and to other orgs.

Routes are enumerated from the running app, so a new endpoint is attacked the moment
it is mounted. (JumpServer CVE-2023-42442, CVE-2024-29020/29024.)
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.helpers import login
from tests.security._db import diff, snapshot
from tests.security._routes import (
    ANY_USER,
    API,
    PARTIAL,
    PUBLIC,
    api_routes,
    collection_route,
    random_id,
    refusals,
    resource_routes,
)
from tests.security.conftest import MARKER, World
from webgate.db.models import (
    Account,
    AccountTemplate,
    ApiToken,
    Applet,
    Asset,
    AssetPermission,
    Membership,
    Node,
    Role,
    User,
    UserGroup,
)
from webgate.policy.rbac import PERMISSIONS, SYSTEM_ROLES

# Routes anyone may call without logging in, and why.
PUBLIC_ROUTES = {
    ("POST", f"{API}/auth/login"): "the login form itself",
}
# Routes under /api/v1 that are not built with endpoint() (so carry no permission), and why.
NO_PERM_ROUTES = {
    ("GET", f"{API}/openapi.json"): "the API description; holds no data",
}
# The resources with ids an org owns: API segment -> model.
RESOURCES: dict[str, type] = {
    "groups": UserGroup, "users": User, "roles": Role, "tokens": ApiToken, "nodes": Node, "assets": Asset,
    "accounts": Account, "account-templates": AccountTemplate, "permissions": AssetPermission,
    "applets": Applet,
}
MASS_FIELDS = ("org", "org_id", "is_superadmin", "builtin", "id")


def test_every_route_names_a_known_permission(app):
    problems = []
    for route in api_routes(app):
        if route.perm is None:
            if (route.method, route.path) not in NO_PERM_ROUTES:
                problems.append(f"{route}: no perm= (build it with endpoint())")
        elif route.perm not in (PUBLIC, ANY_USER, PARTIAL) and route.perm not in PERMISSIONS:
            problems.append(f"{route}: unknown permission {route.perm!r}")
        elif route.perm == PUBLIC and (route.method, route.path) not in PUBLIC_ROUTES:
            problems.append(f"{route}: public route not reviewed (add it to PUBLIC_ROUTES with a reason)")
    assert problems == []


async def test_every_non_public_route_refuses_anonymous_callers(app, client):
    failures = []
    for route in api_routes(app):
        if route.perm is None or route.perm == PUBLIC:
            continue
        r = await client.request(route.method, route.url(), json={})
        if r.status_code != 401:
            failures.append(f"{route}: {r.status_code}")
    assert failures == []


async def test_an_unknown_token_or_cookie_is_anonymous(app, make_client):
    for headers in ({"Authorization": "Bearer wg_forged"}, {"Authorization": "Bearer not-a-token"},
                    {"Cookie": "webgate_session=forged"}):
        browser = make_client()
        r = await browser.get(f"{API}/auth/me", headers=headers)
        assert r.status_code == 401, headers


@pytest.mark.parametrize("role", ["User", "Auditor"])
async def test_each_role_is_refused_every_permission_it_lacks(app, role, plain_client, auditor_client):
    browser = plain_client if role == "User" else auditor_client
    granted = set(SYSTEM_ROLES[role])
    before = await snapshot()
    lacking = [r for r in api_routes(app) if r.named and r.perm not in granted]
    assert await refusals(browser, lacking, 403, "forbidden") == []
    assert diff(before, await snapshot()) == []


def _routes_or_skip(app: Any, segment: str) -> list:
    routes = resource_routes(app, segment)
    if not routes:
        pytest.fail(f"/{segment} has no routes: a resource lost its endpoints")
    return routes


async def _row(model: type, ident: Any) -> list[dict[str, Any]]:
    return await model.filter(id=ident).values()


async def _shape(response: Any) -> tuple[int, str]:
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = ""
    return response.status_code, code


@pytest.mark.parametrize("segment", sorted(RESOURCES))
async def test_other_orgs_objects_answer_404_and_stay_unchanged(app, segment, home_admin, other: World):
    routes = _routes_or_skip(app, segment)
    model, obj = RESOURCES[segment], other.objects[segment]
    before = await _row(model, obj.id)
    assert before, "fixture object missing"
    failures = []
    for route in routes:
        body = {"name": "pwned", "comment": "pwned", "is_active": False}
        r = await home_admin.request(route.method, route.url(str(obj.id)), json=body)
        if route.path == f"{API}/{segment}/{{id}}":
            if r.status_code != 404:
                failures.append(f"{route}: {r.status_code} {r.text[:120]}")
            continue
        # Sub-actions must not tell another org's id from an id that does not exist.
        unknown = await home_admin.request(route.method, route.url(random_id()), json=body)
        if await _shape(r) != await _shape(unknown) or r.status_code < 400:
            failures.append(f"{route}: {r.status_code} vs {unknown.status_code} for an unknown id")
    assert failures == []
    assert await _row(model, obj.id) == before


# Create bodies that follow docs/api.md; the mass-assignment fields are added on top.
def _create_bodies(home: World) -> dict[str, dict[str, Any]]:
    return {
        "groups": {"name": "ma-group"},
        "users": {"username": "ma-user", "name": "ma-user", "password": "Mass-Assign-Horse-77"},
        "roles": {"name": "ma-role", "permissions": ["assets.view"]},
        "nodes": {"name": "ma-node"},
        "assets": {"name": "ma-asset", "address": "10.1.1.1", "platform": "linux",
                   "protocols": [{"name": "ssh", "port": 22}]},
        "accounts": {"asset_id": str(home.objects["assets"].id), "name": "ma-account", "username": "root",
                     "secret_type": "password", "secret": "Mass-Assign-Secret-1"},
        "account-templates": {"name": "ma-template", "username": "root", "secret_type": "password"},
        "permissions": {"name": "ma-perm", "user_ids": [str(home.member.id)], "accounts": ["@ALL"]},
        "tokens": {"name": "ma-token", "role_id": None},
        "applets": {"name": "ma-applet", "asset_platforms": ["website"], "protocol": "https", "program": "chromium"},
    }


def _check_fields(row: dict[str, Any], home: World, forged: uuid.UUID) -> list[str]:
    problems = []
    if "org_id" in row and row["org_id"] is not None and str(row["org_id"]) != str(home.org.id):
        problems.append(f"org_id became {row['org_id']}")
    if str(row["id"]) == str(forged):
        problems.append("id was taken from the body")
    for flag in ("is_superadmin", "builtin"):
        if row.get(flag):
            problems.append(f"{flag} became true")
    return problems


def _refused_for_mass_field(r: Any) -> bool:
    """422 naming one of the fields, or 403: a field the caller may not set (e.g. is_superadmin)."""
    if r.status_code == 403:
        return r.json()["error"]["code"] == "forbidden"
    fields = r.json().get("error", {}).get("details", {}).get("fields", {})
    return r.status_code == 422 and any(f.split(".")[0] in MASS_FIELDS for f in fields)


@pytest.mark.parametrize("flags", [True, False], ids=["with-flags", "org-and-id-only"])
@pytest.mark.parametrize("segment", sorted(RESOURCES))
async def test_mass_assignment_on_create_is_ignored_or_refused(app, segment, flags, home_admin, home: World,
                                                               other: World):
    route = collection_route(app, segment, "POST")
    if route is None:
        pytest.fail(f"/{segment} cannot be created through the API")
    body = _create_bodies(home)[segment]
    if segment == "tokens":
        body["role_id"] = str((await Role.get(org_id=None, name="User")).id)
    forged = uuid.uuid4()
    extra: dict[str, Any] = {"org": str(other.org.id), "org_id": str(other.org.id), "id": str(forged)}
    if flags:  # a refusal of these (403) must not hide how org and id are treated: hence two runs
        extra |= {"is_superadmin": True, "builtin": True}
    r = await home_admin.post(route.url(), json={**body, **extra})
    model = RESOURCES[segment]
    key = "username" if segment == "users" else "name"
    rows = await model.filter(**{key: body[key]}).values()
    if r.status_code in (403, 422):
        assert _refused_for_mass_field(r), f"the sample body no longer fits the contract: {r.text}"
        assert rows == [], "refused, yet created"
        return
    assert r.status_code in (200, 201), r.text
    assert len(rows) == 1
    assert _check_fields(rows[0], home, forged) == []
    if segment == "users":
        memberships = await User.get(id=rows[0]["id"]).prefetch_related("memberships")
        assert {str(m.org_id) for m in memberships.memberships} <= {str(home.org.id)}


@pytest.mark.parametrize("segment", sorted(RESOURCES))
async def test_mass_assignment_on_update_is_ignored_or_refused(app, segment, home_admin, home: World,
                                                               other: World):
    routes = [r for r in resource_routes(app, segment) if r.method == "PATCH" and r.path.endswith("/{id}")]
    if not routes:
        # Nothing to forge through (tokens are immutable: revoke and create); prove the route is really absent.
        r = await home_admin.patch(f"/api/v1/{segment}/{home.objects[segment].id}", json={"org_id": str(other.org.id)})
        assert r.status_code in (404, 405), r.text
        return
    model, obj = RESOURCES[segment], home.objects[segment]
    before = (await _row(model, obj.id))[0]
    forged = uuid.uuid4()
    extra = {"org": str(other.org.id), "org_id": str(other.org.id), "is_superadmin": True, "builtin": True,
             "id": str(forged)}
    r = await home_admin.patch(routes[0].url(str(obj.id)), json=extra)
    assert r.status_code in (200, 204) or _refused_for_mass_field(r), r.text
    after = await _row(model, obj.id)
    assert len(after) == 1, "the object moved or vanished"
    assert _check_fields(after[0], home, forged) == []
    for key in ("org_id", "is_superadmin", "builtin"):
        assert after[0].get(key) == before.get(key), key


async def test_a_user_cannot_make_themselves_super_admin_through_any_own_route(app, plain_client):
    """Routes for "any user" (profile, MFA, switch-org, password) ignore privilege fields."""
    extra = {"is_superadmin": True, "org_id": None, "builtin": True, "role_ids": [], "permissions": ["orgs.manage"]}
    for route in api_routes(app):
        if route.perm in (ANY_USER, PARTIAL) and route.method in ("POST", "PATCH", "PUT") \
                and route.path != f"{API}/auth/logout":
            await plain_client.request(route.method, route.url(), json=extra)
    user = await User.get(username="plain-user")
    assert not user.is_superadmin
    me = (await plain_client.get(f"{API}/auth/me")).json()
    assert me["permissions"] == [] and me["user"]["is_superadmin"] is False


async def test_an_org_admin_cannot_grant_powers_only_a_super_admin_holds(app, home_admin, home: World):
    """Roles are where privilege hides: global permissions never enter an org's role."""
    create = collection_route(app, "roles", "POST")
    patch = [r for r in resource_routes(app, "roles") if r.method == "PATCH" and r.path.endswith("/{id}")]
    if create is None or not patch:
        pytest.fail("/roles cannot be created and changed through the API")
    global_only = ["orgs.manage", "acls.manage"]
    r = await home_admin.post(create.url(), json={"name": "escalate", "permissions": global_only})
    assert r.status_code in (403, 422), r.text
    assert not await Role.filter(name="escalate").exists()
    role = home.objects["roles"]
    r = await home_admin.patch(patch[0].url(str(role.id)), json={"permissions": ["assets.view", *global_only]})
    assert r.status_code in (403, 422), r.text
    assert (await Role.get(id=role.id)).permissions == ["assets.view"]
    system = await Role.get(org_id=None, name="User")
    r = await home_admin.patch(patch[0].url(str(system.id)), json={"permissions": ["users.manage"]})
    assert r.status_code in (403, 404, 409, 422)
    assert (await Role.get(id=system.id)).permissions == []


async def test_my_views_show_only_what_a_permission_grants(app, make_client, plain_client, home: World,
                                                           other: World):
    """The person's own view: no permission, no asset — not even by guessing its id."""
    if not any(r.path == f"{API}/my/assets/{{id}}" for r in api_routes(app)):
        pytest.fail("/my has no routes")
    member = make_client()
    await login(member, home.member.username)
    mine = (await member.get(f"{API}/my/assets")).json()
    assert [a["name"] for a in mine["items"]] == ["home-asset"]
    assert "secret" not in str(mine) and MARKER not in str(mine)
    assert (await member.get(f"{API}/my/assets/{other.objects['assets'].id}")).status_code == 404
    assert (await plain_client.get(f"{API}/my/assets")).json()["items"] == []
    assert (await plain_client.get(f"{API}/my/assets/{home.objects['assets'].id}")).status_code == 404
    assert MARKER not in (await member.get(f"{API}/my/nodes")).text
    # A favorite cannot be made of an asset one may not use, nor removed for someone else.
    r = await plain_client.post(f"{API}/my/favorites", json={"asset_id": str(home.objects["assets"].id)})
    assert r.status_code in (403, 404, 422)
    assert (await member.post(f"{API}/my/favorites", json={"asset_id": str(home.objects["assets"].id)})).is_success
    await plain_client.delete(f"{API}/my/favorites/{home.objects['assets'].id}")
    assert str(home.objects["assets"].id) in (await member.get(f"{API}/my/favorites")).text


async def test_a_member_of_two_orgs_is_granted_in_each_org_only_what_that_org_grants(make_client, home: World,
                                                                                   other: World):
    """One person in two orgs, with a permission in each: the current org's permissions and
    assets decide, never the other org's (the resolver's org filter and its second fence)."""
    await Membership.create(user=home.member, org=other.org, role=await Role.get(org_id=None, name="User"))
    await other.objects["permissions"].users.add(home.member)
    member = make_client()
    await login(member, home.member.username)
    in_home = {"X-Webgate-Org": str(home.org.id)}
    assert [a["name"] for a in (await member.get(f"{API}/my/assets", headers=in_home)).json()["items"]] == [
        "home-asset"]
    assert (await member.get(f"{API}/my/assets/{other.objects['assets'].id}", headers=in_home)).status_code == 404
    in_other = {"X-Webgate-Org": str(other.org.id)}
    assert [a["name"] for a in (await member.get(f"{API}/my/assets", headers=in_other)).json()["items"]] == [
        f"{MARKER}-asset"]
    assert (await member.get(f"{API}/my/assets/{home.objects['assets'].id}", headers=in_other)).status_code == 404
