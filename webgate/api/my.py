"""The person's own view: the assets the permission resolver lets them use, and favourites.

Everything here goes through webgate/policy/access.py; nothing reads permissions itself.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel
from tortoise import connections
from tortoise.expressions import Q, RawSQL

from webgate.api._base import ANY_USER, Ctx, endpoint
from webgate.api.assets import label_filter
from webgate.assets.tree import rollup, with_ancestors
from webgate.db.models import Account, Asset, Favorite, Node
from webgate.errors import NotFound, ValidationFailed
from webgate.policy.access import (
    AccessResolver,
    Grant,
    Scope,
    account_choices,
    asset_node_paths,
    in_subtree,
    permitted_protocols,
)


class FavoriteBody(BaseModel):
    asset_id: uuid.UUID


async def _scope(ctx: Ctx) -> Scope:
    if ctx.org_id is None:
        return Scope(org_id=uuid.UUID(int=0))  # the super admin's global view holds no permissions
    return await AccessResolver(ctx.services.clock).scope(ctx.user, ctx.org_id)


async def _items(ctx: Ctx, scope: Scope, assets: list[Asset]) -> list[dict[str, Any]]:
    """One query each for grants, nodes and accounts of the whole page, never per asset."""
    ids = [a.id for a in assets]
    grants = await AccessResolver(ctx.services.clock).grants(scope, ids)
    nodes = await asset_node_paths(ids)
    accounts: dict[uuid.UUID, list[Account]] = {}
    for acc in await Account.filter(asset_id__in=ids, is_active=True).order_by("name") if ids else []:
        accounts.setdefault(acc.asset_id, []).append(acc)
    out = []
    for asset in assets:
        grant = grants.get(asset.id, Grant())
        out.append({"id": str(asset.id), "name": asset.name, "address": asset.address, "platform": asset.platform,
                    "protocols": permitted_protocols(grant, asset.protocols),
                    "accounts": account_choices(grant, accounts.get(asset.id, []), ctx.user.username),
                    "actions": sorted(grant.actions), "node_ids": [str(n) for n, _ in nodes.get(asset.id, [])],
                    "labels": asset.labels})
    return out


async def my_assets(ctx: Ctx) -> dict[str, Any]:
    """Permitted assets with their permitted accounts, protocols and actions."""
    scope = await _scope(ctx)
    qs = scope.assets()
    if ctx.query("node_id"):
        node = await ctx.get(Node, ctx.query("node_id"))
        qs = await in_subtree(qs, node)
    if ctx.query("label"):
        qs = label_filter(qs, ctx.query("label"), "label_match")
    if ctx.query("platform"):
        qs = qs.filter(platform=ctx.query("platform"))
    page, size = page_params(ctx)
    text = ctx.query("search").strip()
    if text:  # name, address or a label ("env:prod" or just "prod")
        qs = qs.annotate(label_text=RawSQL("CAST(labels AS CHAR)")).filter(
            Q(name__icontains=text) | Q(address__icontains=text) | Q(label_text__icontains=text))
    order = ctx.query("ordering") or "name"
    if order.lstrip("-") not in ("name", "address", "platform"):
        raise ValidationFailed({"ordering": "Order by one of: address, name, platform"})
    # Page and total in one pass (COUNT(*) OVER ()): the permitted-id probe is the costly
    # part and runs once instead of twice. Past the last page no row carries the total.
    rows = await qs.annotate(total=RawSQL("COUNT(*) OVER ()")).order_by(order, "id").offset(
        (page - 1) * size).limit(size).values_list("id", "total")
    total = rows[0][1] if rows else await qs.count()
    ids = [r[0] for r in rows]
    by_id = {a.id: a for a in await Asset.filter(id__in=ids)} if ids else {}
    items = await _items(ctx, scope, [by_id[i] for i in ids if i in by_id])
    return {"items": items, "total": total, "page": page, "page_size": size}


def page_params(ctx: Ctx) -> tuple[int, int]:
    try:
        return max(1, int(ctx.query("page", "1"))), min(500, max(1, int(ctx.query("page_size", "50"))))
    except ValueError:
        raise ValidationFailed({"page": "page and page_size must be numbers"}) from None


async def my_asset(ctx: Ctx) -> dict[str, Any]:
    """One permitted asset; 404 when it is not permitted (or does not exist)."""
    scope = await _scope(ctx)
    try:
        ident = uuid.UUID(ctx.request.path_params["id"])
    except ValueError:
        raise NotFound() from None
    asset = await scope.assets().filter(id=ident).first()
    if asset is None:
        raise NotFound()
    return (await _items(ctx, scope, [asset]))[0]


async def my_nodes(ctx: Ctx) -> list[dict[str, Any]]:
    """The nodes holding permitted assets, with their ancestors; counts include sub-nodes."""
    scope = await _scope(ctx)
    if not scope.rules:
        return []
    rows = await connections.get("default").execute_query_dict(
        "SELECT an.node_id AS node_id, COUNT(*) AS n FROM asset_nodes an JOIN assets a ON a.id = an.assets_id"  # noqa: S608
        f" WHERE a.org_id = '{scope.org_id}' AND a.is_active = 1 AND an.assets_id IN {scope.subquery()}"
        " GROUP BY an.node_id")  # only UUIDs are inlined
    direct = {uuid.UUID(str(r["node_id"])): int(r["n"]) for r in rows}
    if not direct:
        return []
    paths = dict(await Node.filter(org_id=scope.org_id).values_list("id", "path"))
    wanted = with_ancestors(direct, paths)
    counts = rollup(direct, paths)
    rows = await Node.filter(id__in=list(wanted)).order_by("path", "name")
    return [{"id": str(n.id), "name": n.name, "parent_id": str(n.parent_id) if n.parent_id else None,
             "asset_count": counts.get(n.id, 0)} for n in rows]


async def list_favorites(ctx: Ctx) -> list[str]:
    """Ids of the person's favourite assets that are still permitted."""
    scope = await _scope(ctx)
    ids = await Favorite.filter(user_id=ctx.user.id, org_id=scope.org_id).values_list("asset_id", flat=True)
    if not ids:
        return []
    return [str(i) for i in await scope.assets().filter(id__in=list(ids)).values_list("id", flat=True)]


async def add_favorite(ctx: Ctx) -> list[str]:
    body = await ctx.body(FavoriteBody)
    scope = await _scope(ctx)
    if not await scope.assets().filter(id=body.asset_id).exists():
        raise NotFound()
    if not await Favorite.filter(user_id=ctx.user.id, asset_id=body.asset_id).exists():
        await Favorite.create(org_id=scope.org_id, user_id=ctx.user.id, asset_id=body.asset_id)
    return await list_favorites(ctx)


async def remove_favorite(ctx: Ctx) -> None:
    try:
        ident = uuid.UUID(ctx.request.path_params["id"])
    except ValueError:
        raise NotFound() from None
    await Favorite.filter(user_id=ctx.user.id, asset_id=ident).delete()


routes = [
    endpoint("/my/assets", my_assets, ["GET"], perm=ANY_USER),
    endpoint("/my/assets/{id}", my_asset, ["GET"], perm=ANY_USER),
    endpoint("/my/nodes", my_nodes, ["GET"], perm=ANY_USER),
    endpoint("/my/favorites", list_favorites, ["GET"], perm=ANY_USER),
    endpoint("/my/favorites", add_favorite, ["POST"], perm=ANY_USER, body=FavoriteBody,
             keeps_access=True),
    endpoint("/my/favorites/{id}", remove_favorite, ["DELETE"], perm=ANY_USER, keeps_access=True),
]
