"""Small builders for the asset, account and permission tests: everything through the API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import login, make_user
from webgate.db.models import Organization
from webgate.services import Services


async def node(client: httpx.AsyncClient, name: str, parent: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await client.post("/api/v1/nodes", json={"name": name, "parent_id": parent["id"] if parent else None})
    assert r.status_code == 200, r.text
    return r.json()


async def asset(client: httpx.AsyncClient, name: str, nodes: list[dict[str, Any]] = (), **kw: Any) -> dict[str, Any]:
    body = {"name": name, "address": kw.pop("address", "10.0.0.1"), "platform": kw.pop("platform", "linux"),
            "node_ids": [n["id"] for n in nodes], **kw}
    r = await client.post("/api/v1/assets", json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def account(client: httpx.AsyncClient, asset_row: dict[str, Any], name: str, **kw: Any) -> dict[str, Any]:
    body = {"asset_id": asset_row["id"], "name": name, "username": kw.pop("username", name), **kw}
    r = await client.post("/api/v1/accounts", json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def permission(client: httpx.AsyncClient, name: str, **kw: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/permissions", json={"name": name, **kw})
    assert r.status_code == 200, r.text
    return r.json()


async def person(services: Services, make_client: Any, username: str, role: str = "User",
                 org: Organization | None = None) -> tuple[Any, httpx.AsyncClient]:
    """A user with a role in the org (default org when None), logged in on a fresh client."""
    user = await make_user(services, username, role=role, org=org)
    client = make_client()
    await login(client, username)
    return user, client
