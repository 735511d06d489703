"""AUTHZ: ids inside request bodies are checked against the caller's org like ids in paths.

A create or update that names another org's asset, node, user, group or role must not
link to it: refused, or the foreign id silently left out, but never stored.
(JumpServer CVE-2024-29020/29024 family: objects reached around the scope.)
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.security._routes import API, api_routes
from tests.security.conftest import World
from webgate.db.models import (
    Account,
    ApiToken,
    AssetPermission,
    Favorite,
    Membership,
    Node,
    UserGroup,
)

Check = Callable[[World, World], Awaitable[list[str]]]


async def _no_account_on_foreign_asset(home: World, other: World) -> list[str]:
    rows = await Account.filter(asset_id=other.objects["assets"].id).exclude(id=other.objects["accounts"].id)
    return [f"account {a.name} created on the other org's asset" for a in rows]


async def _permission_links(home: World, other: World) -> list[str]:
    found = []
    for perm in await AssetPermission.filter(org_id=home.org.id).prefetch_related("users", "groups", "assets",
                                                                                   "nodes"):
        linked = {str(o.id) for rel in (perm.users, perm.groups, perm.assets, perm.nodes) for o in rel}
        if linked & {str(other.member.id), str(other.admin.id), *(str(o.id) for o in other.objects.values())}:
            found.append(f"permission {perm.name} links the other org's objects")
    return found


async def _group_members(home: World, other: World) -> list[str]:
    found = []
    for group in await UserGroup.filter(org_id=home.org.id).prefetch_related("users"):
        if {u.id for u in group.users} & {other.member.id, other.admin.id}:
            found.append(f"group {group.name} holds the other org's users")
    return found


async def _node_parents(home: World, other: World) -> list[str]:
    rows = await Node.filter(org_id=home.org.id, parent_id=other.objects["nodes"].id)
    return [f"node {n.name} hangs under the other org's node" for n in rows]


async def _asset_nodes(home: World, other: World) -> list[str]:
    node = await Node.get(id=other.objects["nodes"].id).prefetch_related("assets")
    return [f"asset {a.name} filed under the other org's node" for a in node.assets if a.org_id == home.org.id]


async def _foreign_roles(home: World, other: World) -> list[str]:
    role = other.objects["roles"].id
    found = [f"membership in {m.org_id} with the other org's role"
             for m in await Membership.filter(role_id=role, org_id=home.org.id)]
    found += [f"token {t.name} carries the other org's role" for t in await ApiToken.filter(role_id=role,
                                                                                            org_id=home.org.id)]
    return found


async def _favorites(home: World, other: World) -> list[str]:
    rows = await Favorite.filter(asset_id=other.objects["assets"].id)
    return [f"favorite of the other org's asset in org {f.org_id}" for f in rows]


Body = Callable[[dict[str, str], str], dict[str, Any]]


def _links(o: dict[str, str], member: str) -> dict[str, Any]:
    return {"user_ids": [member], "group_ids": [o["groups"]], "asset_ids": [o["assets"]], "node_ids": [o["nodes"]]}


# (method, path, body from the other org's ids and its member's id, check); {home:x} is that home object's id.
CASES: list[tuple[str, str, Body, Check]] = [
    ("POST", "/accounts", lambda o, m: {"asset_id": o["assets"], "name": "xref", "username": "root",
                                        "secret_type": "password", "secret": "x"}, _no_account_on_foreign_asset),
    ("POST", "/permissions", lambda o, m: {"name": "xref-perm", "accounts": ["@ALL"], **_links(o, m)},
     _permission_links),
    ("PATCH", "/permissions/{home:permissions}", _links, _permission_links),
    ("POST", "/groups", lambda o, m: {"name": "xref-group", "user_ids": [m]}, _group_members),
    ("PATCH", "/groups/{home:groups}", lambda o, m: {"user_ids": [m]}, _group_members),
    ("POST", "/nodes", lambda o, m: {"name": "xref-node", "parent_id": o["nodes"]}, _node_parents),
    ("PATCH", "/nodes/{home:nodes}", lambda o, m: {"parent_id": o["nodes"]}, _node_parents),
    ("POST", "/assets", lambda o, m: {"name": "xref-asset", "address": "10.2.2.2", "platform": "linux",
                                      "protocols": [{"name": "ssh", "port": 22}], "node_ids": [o["nodes"]]},
     _asset_nodes),
    ("PATCH", "/assets/{home:assets}", lambda o, m: {"node_ids": [o["nodes"]]}, _asset_nodes),
    ("POST", "/users", lambda o, m: {"username": "xref-user", "password": "Cross-Ref-Horse-42",
                                     "role_ids": [o["roles"]]}, _foreign_roles),
    ("POST", "/tokens", lambda o, m: {"name": "xref-token", "role_id": o["roles"]}, _foreign_roles),
    ("POST", "/account-templates/{home:account-templates}/apply",
     lambda o, m: {"asset_ids": [o["assets"]], "node_ids": [o["nodes"]]}, _no_account_on_foreign_asset),
    ("POST", "/my/favorites", lambda o, m: {"asset_id": o["assets"]}, _favorites),
]


def _route_exists(app: Any, method: str, template: str) -> bool:
    shape = re.sub(r"\{[^}]+\}", "{}", f"{API}{template}")
    return any(r.method == method and re.sub(r"\{[^}]+\}", "{}", r.path) == shape for r in api_routes(app))


def _fill(template: str, home: World) -> str:
    return API + re.sub(r"\{home:([^}]+)\}", lambda m: str(home.objects[m.group(1)].id), template)


@pytest.mark.parametrize(("method", "template", "body", "check"), CASES,
                         ids=[f"{c[0]} {c[1]}" for c in CASES])
async def test_body_ids_from_another_org_are_never_linked(app, method, template, body, check, home_admin,
                                                         home: World, other: World):
    if not _route_exists(app, method, template):
        pytest.fail(f"{method} {template} has no route: the resource lost its endpoint")
    ids = {k: str(v.id) for k, v in other.objects.items()}
    r = await home_admin.request(method, _fill(template, home), json=body(ids, str(other.member.id)))
    assert r.status_code < 500, r.text
    assert r.status_code not in (401, 403), f"{method} {template}: {r.status_code} (the test's admin should pass)"
    assert await check(home, other) == [], f"{method} {template} answered {r.status_code}"
