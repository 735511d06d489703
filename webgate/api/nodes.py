"""The org's asset tree: create, rename, move and delete folders of assets.

Deleting a node that holds sub-nodes or assets is refused (409) unless ``?force=true``: then
the node and its whole subtree go, and the assets that were in them are moved into the
deleted node's parent (for a root node they simply leave the tree). Permissions naming a
deleted node lose that node, so force never widens anyone's access.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from webgate.api._base import Ctx, endpoint, paginate
from webgate.assets.rules import check_node_name
from webgate.assets.tree import MAX_DEPTH, child_prefix, depth, rollup
from webgate.db.models import Asset, Node
from webgate.errors import Conflict, ValidationFailed


class NodeCreate(BaseModel):
    name: str = Field(max_length=128)
    parent_id: uuid.UUID | None = None


class NodePatch(BaseModel):
    name: str | None = Field(default=None, max_length=128)
    parent_id: uuid.UUID | None = None


async def node_counts(org_id: uuid.UUID | None, nodes: list[Node]) -> dict[uuid.UUID, int]:
    """Assets per node, sub-nodes included."""
    if not nodes:
        return {}
    org_nodes = Node.filter(org_id=org_id) if org_id else Node.filter(org_id__in=list({n.org_id for n in nodes}))
    rows = await org_nodes.annotate(n=Count("assets")).group_by("id", "path").values_list("id", "path", "n")
    return rollup({r[0]: r[2] for r in rows}, {r[0]: r[1] for r in rows})


def serialize(node: Node, counts: dict[uuid.UUID, int]) -> dict[str, Any]:
    return {"id": str(node.id), "name": node.name, "parent_id": str(node.parent_id) if node.parent_id else None,
            "path": node.path, "asset_count": counts.get(node.id, 0)}


async def list_nodes(ctx: Ctx) -> dict[str, Any]:
    """The tree, flat: each node with its parent, path and asset count."""
    qs = ctx.scoped(Node)
    if ctx.query("parent_id"):
        qs = qs.filter(parent_id=(await ctx.get(Node, ctx.query("parent_id"))).id)
    page = await paginate(ctx, qs, lambda n: n, search=("name",), ordering=("name", "path", "created_at"))
    counts = await node_counts(ctx.org_id, page["items"])
    page["items"] = [serialize(n, counts) for n in page["items"]]
    return page


async def get_node(ctx: Ctx) -> dict[str, Any]:
    node = await ctx.get(Node)
    return serialize(node, await node_counts(node.org_id, [node]))


async def _sibling_clash(org_id: uuid.UUID, parent_id: uuid.UUID | None, name: str,
                         exclude: uuid.UUID | None = None) -> None:
    qs = Node.filter(org_id=org_id, parent_id=parent_id, name=name)
    if exclude:
        qs = qs.exclude(id=exclude)
    if await qs.exists():
        raise Conflict("A node with this name already exists here. Choose another name.", details={"field": "name"})


def _check_depth(path: str) -> None:
    if depth(path) >= MAX_DEPTH:
        raise ValidationFailed({"parent_id": f"The tree can be at most {MAX_DEPTH} levels deep."})


async def create_node(ctx: Ctx) -> dict[str, Any]:
    """Add a node at the top or under a parent of the same org."""
    body = await ctx.body(NodeCreate)
    org_id = ctx.require_org()
    name = check_node_name(body.name)
    path = "/"
    if body.parent_id:
        parent = await ctx.scoped(Node).filter(id=body.parent_id).first()
        if parent is None:
            raise ValidationFailed({"parent_id": "The parent node does not exist in this organization."})
        path = child_prefix(parent.path, parent.id)
        _check_depth(path)
    await _sibling_clash(org_id, body.parent_id, name)
    node = await Node.create(org_id=org_id, name=name, parent_id=body.parent_id, path=path)
    await ctx.audit("create", "node", node, {"name": name, "parent_id": str(body.parent_id or "")})
    return serialize(node, {})


async def update_node(ctx: Ctx) -> dict[str, Any]:
    """Rename, or move under another parent (never under itself or its own sub-nodes)."""
    node = await ctx.get(Node)
    body = await ctx.body(NodePatch)
    changes: dict[str, Any] = {}
    name = check_node_name(body.name) if body.name is not None else node.name
    moving = "parent_id" in body.model_fields_set and body.parent_id != node.parent_id
    parent_id = body.parent_id if moving else node.parent_id
    await _sibling_clash(node.org_id, parent_id, name, exclude=node.id)
    async with in_transaction():
        if moving:
            await _move(ctx, node, body.parent_id)
            changes["parent_id"] = str(body.parent_id or "")
        if name != node.name:
            node.name = name
            changes["name"] = name
        await node.save()
    await ctx.audit("update", "node", node, changes)
    return serialize(node, await node_counts(node.org_id, [node]))


async def _move(ctx: Ctx, node: Node, parent_id: uuid.UUID | None) -> None:
    old_prefix = child_prefix(node.path, node.id)
    new_path = "/"
    if parent_id is not None:
        parent = await Node.filter(org_id=node.org_id, id=parent_id).first()
        if parent is None:
            raise ValidationFailed({"parent_id": "The parent node does not exist in this organization."})
        if parent.id == node.id or parent.path.startswith(old_prefix):
            raise ValidationFailed({"parent_id": "A node cannot be moved under itself or one of its sub-nodes."})
        new_path = child_prefix(parent.path, parent.id)
    new_prefix = child_prefix(new_path, node.id)
    descendants = await Node.filter(org_id=node.org_id, path__startswith=old_prefix)
    deepest = max([depth(d.path) - depth(old_prefix) + 1 for d in descendants] or [0])
    _check_depth(new_path + "x/" * deepest)
    for child in descendants:
        child.path = new_prefix + child.path[len(old_prefix):]
        await child.save(update_fields=["path"])
    node.parent_id = parent_id
    node.path = new_path


async def delete_node(ctx: Ctx) -> None:
    """Delete an empty node; ``?force=true`` also deletes sub-nodes and moves their assets up."""
    node = await ctx.get(Node)
    prefix = child_prefix(node.path, node.id)
    subtree = [node.id, *await Node.filter(org_id=node.org_id, path__startswith=prefix).values_list("id", flat=True)]
    has_children = len(subtree) > 1
    asset_ids = await Asset.filter(nodes__id__in=subtree).distinct().values_list("id", flat=True)
    if (has_children or asset_ids) and ctx.query("force") != "true":
        raise Conflict("This node still holds sub-nodes or assets. Move or delete them first, or delete with force.",
                       details={"field": "node", "children": has_children, "assets": len(asset_ids)})
    async with in_transaction():
        parent = await Node.filter(id=node.parent_id).first() if node.parent_id else None
        if parent is not None:
            for asset in await Asset.filter(id__in=list(asset_ids)):
                await asset.nodes.add(parent)
        # Deepest first: the parent foreign key restricts deleting a node with children.
        doomed = await Node.filter(id__in=subtree).order_by("-path")
        for item in sorted(doomed, key=lambda n: len(n.path), reverse=True):
            await item.delete()
    await ctx.audit("delete", "node", node, {"force": ctx.query("force") == "true", "assets_moved": len(asset_ids)})


routes = [
    endpoint("/nodes", list_nodes, ["GET"], perm="assets.view"),
    endpoint("/nodes", create_node, ["POST"], perm="assets.manage", body=NodeCreate),
    endpoint("/nodes/{id}", get_node, ["GET"], perm="assets.view"),
    endpoint("/nodes/{id}", update_node, ["PATCH"], perm="assets.manage", body=NodePatch),
    endpoint("/nodes/{id}", delete_node, ["DELETE"], perm="assets.manage"),
]
