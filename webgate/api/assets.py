"""Assets: the servers, databases, clusters and sites people connect to, plus CSV/XLSX import/export."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tortoise.expressions import RawSQL
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from webgate.api._base import Ctx, endpoint, iso, paginate
from webgate.assets import importer
from webgate.assets.rules import AssetCreate, AssetPatch, clean_asset
from webgate.db.models import Asset, Node
from webgate.errors import Conflict, ValidationFailed
from webgate.policy.access import asset_node_paths, in_subtree
from webgate.sessions.hostkeys import RESERVED as HOST_KEY_FIELDS

FIELDS = ("name", "address", "platform", "protocols", "labels", "comment", "is_active", "extra")


def serialize(asset: Asset, node_ids: list[uuid.UUID]) -> dict[str, Any]:
    return {"id": str(asset.id), "name": asset.name, "address": asset.address, "platform": asset.platform,
            "protocols": asset.protocols, "node_ids": [str(n) for n in node_ids], "labels": asset.labels,
            "comment": asset.comment, "is_active": asset.is_active, "extra": asset.extra,
            "created_at": iso(asset.created_at)}


async def serialize_many(assets: list[Asset]) -> list[dict[str, Any]]:
    nodes = await asset_node_paths([a.id for a in assets])
    return [serialize(a, [n for n, _ in nodes.get(a.id, [])]) for a in assets]


async def filtered(ctx: Ctx) -> QuerySet[Asset]:
    """The org's assets narrowed by the list filters (node_id includes sub-nodes)."""
    qs = ctx.scoped(Asset)
    if ctx.query("node_id"):
        node = await ctx.get(Node, ctx.query("node_id"))
        qs = await in_subtree(qs, node)
    if ctx.query("platform"):
        qs = qs.filter(platform=ctx.query("platform"))
    if ctx.query("is_active") in ("true", "false"):
        qs = qs.filter(is_active=ctx.query("is_active") == "true")
    if ctx.query("label"):
        qs = label_filter(qs, ctx.query("label"))
    return qs


def label_filter(qs: QuerySet[Asset], label: str, alias: str = "label_text") -> QuerySet[Asset]:
    """Assets carrying exactly this "key:value" label (matched with its JSON quotes)."""
    needle = json.dumps(label.strip())
    return qs.annotate(**{alias: RawSQL("CAST(labels AS CHAR)")}).filter(**{f"{alias}__contains": needle})


async def list_assets(ctx: Ctx) -> dict[str, Any]:
    """Assets; filters node_id (with sub-nodes), platform, label, is_active; search name/address."""
    page = await paginate(ctx, await filtered(ctx), lambda a: a, search=("name", "address"),
                          ordering=("name", "address", "platform", "created_at"))
    page["items"] = await serialize_many(page["items"])
    return page


async def get_asset(ctx: Ctx) -> dict[str, Any]:
    return (await serialize_many([await ctx.get(Asset)]))[0]


async def check_nodes(ctx: Ctx, node_ids: list[uuid.UUID]) -> list[Node]:
    nodes = await ctx.scoped(Node).filter(id__in=node_ids)
    if len(nodes) != len(set(node_ids)):
        raise ValidationFailed({"node_ids": "Some nodes do not exist in this organization."})
    return nodes


async def save_asset(ctx: Ctx, asset: Asset | None, body: AssetPatch, nodes: list[Node] | None) -> tuple[Asset, dict[str, Any]]:
    """Create (asset None) or update from a parsed body; returns the row and the changed fields."""
    given = {k: v for k, v in body.model_dump().items() if k in body.model_fields_set and v is not None}
    given.pop("node_ids", None)
    current = {f: getattr(asset, f) for f in FIELDS} if asset else {}
    if asset and given.get("platform", asset.platform) != asset.platform and "protocols" not in given:
        current["protocols"] = []  # a new platform brings its own default protocols
    if asset and "extra" in given:  # host keys survive a PATCH of extra (trusted via api/host_keys only)
        given["extra"] = {**given["extra"], **{k: v for k, v in (asset.extra or {}).items() if k in HOST_KEY_FIELDS}}
    merged = clean_asset({**current, **given}) if asset else clean_asset(given)
    changes = {f: merged[f] for f in FIELDS if f in merged and (asset is None or merged[f] != current[f])}
    if "name" in changes and await ctx.scoped(Asset).filter(name=changes["name"]).exists():
        raise Conflict("An asset with this name already exists.", details={"field": "name"})
    async with in_transaction():
        if asset is None:
            asset = await Asset.create(org_id=ctx.require_org(), **{f: merged[f] for f in FIELDS if f in merged})
        elif changes:
            for name, value in changes.items():
                setattr(asset, name, value)
            await asset.save(update_fields=list(changes))
        if nodes is not None:
            await asset.nodes.clear()
            if nodes:
                await asset.nodes.add(*nodes)
            changes["node_ids"] = sorted(str(n.id) for n in nodes)
    return asset, changes


async def create_asset(ctx: Ctx) -> dict[str, Any]:
    """Add an asset; protocols default to the platform's usual ones."""
    body = await ctx.body(AssetCreate)
    nodes = await check_nodes(ctx, body.node_ids or [])
    asset, changes = await save_asset(ctx, None, body, nodes)
    await ctx.audit("create", "asset", asset, changes)
    return (await serialize_many([asset]))[0]


async def update_asset(ctx: Ctx) -> dict[str, Any]:
    asset = await ctx.get(Asset)
    body = await ctx.body(AssetPatch)
    nodes = await check_nodes(ctx, body.node_ids) if body.node_ids is not None else None
    asset, changes = await save_asset(ctx, asset, body, nodes)
    await ctx.audit("update", "asset", asset, changes)
    return (await serialize_many([asset]))[0]


async def delete_asset(ctx: Ctx) -> None:
    """Delete an asset with its accounts (sessions keep its name for the record)."""
    asset = await ctx.get(Asset)
    await asset.delete()
    await ctx.audit("delete", "asset", asset)


async def import_assets(ctx: Ctx) -> dict[str, Any]:
    """CSV or XLSX upload; each row is checked on its own and good rows are kept."""
    report = await importer.import_file(ctx, save_asset, check_nodes)
    await ctx.audit("import", "asset", None, {k: v if isinstance(v, int) else len(v) for k, v in report.items()},
                    name="assets import")
    return report


async def export_assets(ctx: Ctx) -> Any:
    """The (filtered) assets as CSV or XLSX, in the columns import reads."""
    return await importer.export_response(ctx, await filtered(ctx))


routes = [
    endpoint("/assets", list_assets, ["GET"], perm="assets.view"),
    endpoint("/assets", create_asset, ["POST"], perm="assets.manage", body=AssetCreate),
    endpoint("/assets/import", import_assets, ["POST"], perm="assets.manage"),
    endpoint("/assets/export", export_assets, ["GET"], perm="assets.view"),
    endpoint("/assets/{id}", get_asset, ["GET"], perm="assets.view"),
    endpoint("/assets/{id}", update_asset, ["PATCH"], perm="assets.manage", body=AssetPatch),
    endpoint("/assets/{id}", delete_asset, ["DELETE"], perm="assets.manage"),
]
