"""Asset permissions: who (users, groups) may use what (assets, nodes) with which accounts,
protocols and actions, and when. Deciding is webgate/policy/access.py's job; this only edits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator
from tortoise.transactions import in_transaction

from webgate.api._base import Ctx, endpoint, iso, paginate
from webgate.assets.rules import PROTOCOLS
from webgate.db.models import Asset, AssetPermission, Membership, Node, User, UserGroup
from webgate.errors import Conflict, ValidationFailed
from webgate.policy.access import ACTIONS, ALL_PROTOCOLS, VIRTUAL_ACCOUNTS

RELATIONS = {"user_ids": "users", "group_ids": "groups", "asset_ids": "assets", "node_ids": "nodes"}
PLAIN = ("name", "accounts", "protocols", "actions", "date_start", "date_expired", "is_active", "comment",
         "idle_minutes", "max_minutes")
# Fields where an explicit null means "clear" rather than "leave as it is".
NULLABLE = ("date_start", "date_expired", "idle_minutes", "max_minutes")


class PermissionPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    user_ids: list[uuid.UUID] | None = Field(default=None, max_length=5000)
    group_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)
    asset_ids: list[uuid.UUID] | None = Field(default=None, max_length=10000)
    node_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)
    accounts: list[str] | None = Field(default=None, max_length=200)
    protocols: list[str] | None = None
    actions: list[str] | None = None
    date_start: datetime | None = None
    date_expired: datetime | None = None
    # Session limits (minutes); null: the org's terminal policy decides.
    idle_minutes: int | None = Field(default=None, ge=1, le=10080)
    max_minutes: int | None = Field(default=None, ge=1, le=10080)
    is_active: bool | None = None
    comment: str | None = Field(default=None, max_length=2000)

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        out = list(dict.fromkeys(v.strip() for v in value if v.strip()))
        for name in out:
            if name.startswith("@") and name not in VIRTUAL_ACCOUNTS:
                raise ValueError(f"Unknown special account {name}; use {', '.join(VIRTUAL_ACCOUNTS)} or account names.")
            if len(name) > 128:
                raise ValueError("Account names are at most 128 characters.")
        return out

    @field_validator("protocols")
    @classmethod
    def _protocols(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        out = list(dict.fromkeys(v.strip().lower() for v in value))
        unknown = [p for p in out if p not in (*PROTOCOLS, ALL_PROTOCOLS)]
        if unknown:
            raise ValueError(f"Unknown protocol {unknown[0]}; use \"all\" or some of: {', '.join(PROTOCOLS)}.")
        return [ALL_PROTOCOLS] if ALL_PROTOCOLS in out else out

    @field_validator("actions")
    @classmethod
    def _actions(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = [a for a in value if a not in ACTIONS]
        if unknown:
            raise ValueError(f"Unknown action {unknown[0]}; use some of: {', '.join(ACTIONS)}.")
        return [a for a in ACTIONS if a in value]

    @model_validator(mode="after")
    def _window(self) -> PermissionPatch:
        if self.date_start and self.date_expired and self.date_expired <= self.date_start:
            raise ValueError("The permission must expire after it starts.")
        return self


class PermissionCreate(PermissionPatch):
    name: str = Field(min_length=1, max_length=128)
    accounts: list[str] = Field(default_factory=lambda: ["@ALL"], max_length=200)
    protocols: list[str] = Field(default_factory=lambda: [ALL_PROTOCOLS])
    actions: list[str] = Field(default_factory=lambda: ["connect"])
    is_active: bool = True


async def serialize(perm: AssetPermission) -> dict[str, Any]:
    ids = {}
    for key, rel in RELATIONS.items():
        ids[key] = [str(i) for i in await getattr(perm, rel).all().values_list("id", flat=True)]
    return {"id": str(perm.id), "name": perm.name, **ids, "accounts": perm.accounts, "protocols": perm.protocols,
            "actions": perm.actions, "date_start": iso(perm.date_start), "date_expired": iso(perm.date_expired),
            "idle_minutes": perm.idle_minutes, "max_minutes": perm.max_minutes,
            "is_active": perm.is_active, "comment": perm.comment, "created_at": iso(perm.created_at)}


async def _members(ctx: Ctx, field: str, ids: list[uuid.UUID]) -> list[Any]:
    """The rows for ids, all of this org (users: members of it); 422 on the field otherwise."""
    org_id = ctx.require_org()
    wanted = set(ids)
    if field == "user_ids":
        member_ids = await Membership.filter(org_id=org_id, user_id__in=list(wanted)).values_list("user_id", flat=True)
        rows: list[Any] = await User.filter(id__in=list(set(member_ids)))
    else:
        model = {"group_ids": UserGroup, "asset_ids": Asset, "node_ids": Node}[field]
        rows = await ctx.scoped(model).filter(id__in=list(wanted))
    if len(rows) != len(wanted):
        raise ValidationFailed({field: "Some of these do not exist in this organization."})
    return rows


async def list_permissions(ctx: Ctx) -> dict[str, Any]:
    """Permissions; filters user_id, group_id, asset_id, node_id, is_active."""
    qs = ctx.scoped(AssetPermission)
    for key, rel in (("user_id", "users"), ("group_id", "groups"), ("asset_id", "assets"), ("node_id", "nodes")):
        if ctx.query(key):
            try:
                qs = qs.filter(**{f"{rel}__id": uuid.UUID(ctx.query(key))})
            except ValueError:
                raise ValidationFailed({key: "Not a valid id."}) from None
    if ctx.query("is_active") in ("true", "false"):
        qs = qs.filter(is_active=ctx.query("is_active") == "true")
    return await paginate(ctx, qs.distinct(), serialize, search=("name",),
                          ordering=("name", "created_at", "date_expired"))


async def get_permission(ctx: Ctx) -> dict[str, Any]:
    return await serialize(await ctx.get(AssetPermission))


async def _save(ctx: Ctx, perm: AssetPermission | None, body: PermissionPatch) -> AssetPermission:
    given = body.model_fields_set if perm else set(body.model_dump())
    data = body.model_dump()
    relations = {key: await _members(ctx, key, data[key]) for key in RELATIONS if key in given and data[key] is not None}
    plain = {k: data[k] for k in PLAIN if k in given and (data[k] is not None or k in NULLABLE)}
    start = plain.get("date_start", perm.date_start if perm else None)
    end = plain.get("date_expired", perm.date_expired if perm else None)
    if start and end and end <= start:
        raise ValidationFailed({"date_expired": "The permission must expire after it starts."})
    name = plain.get("name")
    if name and await ctx.scoped(AssetPermission).filter(name=name).exclude(id=perm.id if perm else None).exists():
        raise Conflict("A permission with this name already exists.", details={"field": "name"})
    async with in_transaction():
        if perm is None:
            perm = await AssetPermission.create(org_id=ctx.require_org(), **plain)
        else:
            for key, value in plain.items():
                setattr(perm, key, value)
            await perm.save()
        for key, rows in relations.items():
            rel = getattr(perm, RELATIONS[key])
            await rel.clear()
            if rows:
                await rel.add(*rows)
    return perm


def _changes(body: PermissionPatch) -> dict[str, Any]:
    data = body.model_dump(mode="json")
    return {k: data[k] for k in body.model_fields_set}


async def create_permission(ctx: Ctx) -> dict[str, Any]:
    """Grant: the listed people get the listed assets (and everything under the nodes)."""
    body = await ctx.body(PermissionCreate)
    perm = await _save(ctx, None, body)
    await ctx.audit("create", "permission", perm, _changes(body))
    return await serialize(perm)


async def update_permission(ctx: Ctx) -> dict[str, Any]:
    perm = await ctx.get(AssetPermission)
    body = await ctx.body(PermissionPatch)
    perm = await _save(ctx, perm, body)
    await ctx.audit("update", "permission", perm, _changes(body))
    return await serialize(perm)


async def delete_permission(ctx: Ctx) -> None:
    perm = await ctx.get(AssetPermission)
    await perm.delete()
    await ctx.audit("delete", "permission", perm)


routes = [
    endpoint("/permissions", list_permissions, ["GET"], perm="permissions.view"),
    endpoint("/permissions", create_permission, ["POST"], perm="permissions.manage", body=PermissionCreate),
    endpoint("/permissions/{id}", get_permission, ["GET"], perm="permissions.view"),
    endpoint("/permissions/{id}", update_permission, ["PATCH"], perm="permissions.manage", body=PermissionPatch),
    endpoint("/permissions/{id}", delete_permission, ["DELETE"], perm="permissions.manage"),
]
