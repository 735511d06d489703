"""User groups of the current org: a name for a set of users, used by asset permissions."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from webgate.api._base import Ctx, endpoint, paginate, unique_name
from webgate.api.users import user_ids_in_org
from webgate.db.models import User, UserGroup


class GroupCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    comment: str = Field(default="", max_length=2000)
    user_ids: list[uuid.UUID] = Field(default_factory=list, max_length=5000)


class GroupPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    comment: str | None = Field(default=None, max_length=2000)
    user_ids: list[uuid.UUID] | None = Field(default=None, max_length=5000)


async def serialize(group: UserGroup) -> dict[str, Any]:
    members = await group.users.all().values_list("id", flat=True)
    return {"id": str(group.id), "name": group.name, "comment": group.comment,
            "user_ids": sorted(str(u) for u in members)}


async def _check_name(org_id: uuid.UUID, name: str, exclude: uuid.UUID | None = None) -> str:
    return await unique_name(UserGroup.filter(org_id=org_id), name, "A group", exclude=exclude)


async def _set_members(group: UserGroup, ids: list[uuid.UUID]) -> None:
    await group.users.clear()
    if ids:
        await group.users.add(*await User.filter(id__in=ids))


async def list_groups(ctx: Ctx) -> dict[str, Any]:
    """List the user groups of this organization."""
    return await paginate(ctx, ctx.scoped(UserGroup), serialize, search=("name", "comment"),
                          ordering=("name", "created_at"))


async def create(ctx: Ctx) -> JSONResponse:
    """Create a user group in this organization."""
    org_id = ctx.require_org()
    body = await ctx.body(GroupCreate)
    name = await _check_name(org_id, body.name)
    ids = await user_ids_in_org(ctx, body.user_ids)
    group = await UserGroup.create(org_id=org_id, name=name, comment=body.comment)
    await _set_members(group, ids)
    await ctx.audit("create", "group", group, {"name": name, "comment": body.comment,
                                               "user_ids": [str(i) for i in ids]})
    return JSONResponse(await serialize(group), status_code=201)


async def get_group(ctx: Ctx) -> dict[str, Any]:
    """Show one user group."""
    return await serialize(await ctx.get(UserGroup))


async def update(ctx: Ctx) -> dict[str, Any]:
    """Rename a group, change its comment or replace its members."""
    group = await ctx.get(UserGroup)
    body = await ctx.body(GroupPatch)
    changes: dict[str, Any] = {}
    if body.name is not None and body.name.strip() != group.name:
        group.name = changes["name"] = await _check_name(group.org_id, body.name,  # type: ignore[attr-defined]
                                                         exclude=group.id)
    if body.comment is not None and body.comment != group.comment:
        group.comment = changes["comment"] = body.comment
    if changes:
        await group.save()
    if body.user_ids is not None:
        ids = await user_ids_in_org(ctx, body.user_ids)
        current = set(await group.users.all().values_list("id", flat=True))
        if set(ids) != current:
            await _set_members(group, ids)
            changes["user_ids"] = [str(i) for i in ids]
    if changes:
        await ctx.audit("update", "group", group, changes)
    return await serialize(group)


async def delete(ctx: Ctx) -> None:
    """Delete a user group (its members stay; permissions given through it end)."""
    group = await ctx.get(UserGroup)
    await ctx.audit("delete", "group", group)
    await group.delete()


routes = [
    endpoint("/groups", list_groups, ["GET"], perm="groups.view"),
    endpoint("/groups", create, ["POST"], perm="groups.manage", body=GroupCreate),
    endpoint("/groups/{id}", get_group, ["GET"], perm="groups.view"),
    endpoint("/groups/{id}", update, ["PATCH"], perm="groups.manage", body=GroupPatch),
    endpoint("/groups/{id}", delete, ["DELETE"], perm="groups.manage"),
]
