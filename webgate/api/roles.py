"""Roles: the system roles (read-only, shared by every org) and each org's custom roles.

Also the two checks every grant of a role goes through (users' roles, API tokens): the
role must be visible in the caller's org, and nobody hands out a permission they do not
hold themselves (privilege escalation).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import JSONResponse
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from webgate.api._base import Ctx, endpoint, paginate, unique_name
from webgate.db.models import ApiToken, Membership, Role
from webgate.errors import Conflict, Forbidden, ValidationFailed
from webgate.policy.rbac import GLOBAL_ONLY, PERMISSIONS, SUPERADMIN, SYSTEM_ROLES

RESERVED = frozenset({*SYSTEM_ROLES, SUPERADMIN})


class RoleCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    permissions: list[str] = Field(default_factory=list, max_length=len(PERMISSIONS))
    comment: str = Field(default="", max_length=2000)


class RolePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    permissions: list[str] | None = Field(default=None, max_length=len(PERMISSIONS))
    comment: str | None = Field(default=None, max_length=2000)


def serialize(role: Role) -> dict[str, Any]:
    return {"id": str(role.id), "name": role.name, "builtin": role.builtin,
            "permissions": sorted(role.permissions), "comment": role.comment}


def visible_roles(ctx: Ctx) -> QuerySet[Role]:
    """System roles plus the current org's custom roles (the global view sees system roles only)."""
    if ctx.org_id is None:
        return Role.filter(org_id=None)
    return Role.filter(Q(org_id=None) | Q(org_id=ctx.org_id))


async def roles_for(ctx: Ctx, ids: Iterable[uuid.UUID], field: str) -> list[Role]:
    """The roles named by ``ids``, all of them visible in this org, or 422 naming ``field``."""
    wanted = set(ids)
    roles = await visible_roles(ctx).filter(id__in=list(wanted)) if wanted else []
    if len(roles) != len(wanted):
        raise ValidationFailed({field: "One of the chosen roles does not exist in this organization."})
    return list(roles)


def check_grantable(ctx: Ctx, permissions: Iterable[str]) -> None:
    """Refuse to hand out permissions the caller does not hold (no privilege escalation)."""
    assert ctx.principal is not None
    missing = sorted(p for p in set(permissions) if not ctx.principal.can(p))
    if missing:
        raise Forbidden("You cannot give permissions you do not have yourself: " + ", ".join(missing) + ".",
                        details={"permissions": missing})


def _check_permission_names(ctx: Ctx, names: list[str], held: Iterable[str] = ()) -> list[str]:
    """Known, org-level permission names the caller may grant; ``held`` (already in the role) are not re-checked."""
    unknown = sorted({n for n in names if n not in PERMISSIONS})
    if unknown:
        raise ValidationFailed({"permissions": "Unknown permission(s): " + ", ".join(unknown) + "."})
    global_only = sorted(set(names) & GLOBAL_ONLY)
    if global_only:
        raise ValidationFailed({"permissions": "Only super admins hold " + ", ".join(global_only)
                                + "; a role cannot contain it."})
    check_grantable(ctx, set(names) - set(held))
    return sorted(set(names))


async def _check_name(ctx: Ctx, name: str, exclude: uuid.UUID | None = None) -> str:
    if name.strip() in RESERVED:
        raise Conflict("A system role has this name. Choose another name.", details={"field": "name"})
    return await unique_name(visible_roles(ctx), name, "A role", exclude=exclude)


async def _editable(ctx: Ctx) -> Role:
    role = await ctx.get(Role, query=visible_roles(ctx))
    if role.builtin or role.org_id is None:  # type: ignore[attr-defined]
        raise Forbidden("Built-in roles cannot be changed. Create a custom role instead.")
    return role


async def list_roles(ctx: Ctx) -> dict[str, Any]:
    """List the system roles and this organization's custom roles."""
    return await paginate(ctx, visible_roles(ctx), serialize, search=("name",), ordering=("name", "created_at"))


async def list_permissions(ctx: Ctx) -> list[dict[str, str]]:
    """List the permission names a custom role can contain, with a description of each."""
    assert ctx.principal is not None
    superadmin = ctx.principal.user.is_superadmin
    return [{"name": name, "description": text} for name, text in PERMISSIONS.items()
            if superadmin or name not in GLOBAL_ONLY]


async def create_role(ctx: Ctx) -> JSONResponse:
    """Create a custom role in this organization."""
    org_id = ctx.require_org()
    body = await ctx.body(RoleCreate)
    name = await _check_name(ctx, body.name)
    perms = _check_permission_names(ctx, body.permissions)
    role = await Role.create(org_id=org_id, name=name, permissions=perms, comment=body.comment, builtin=False)
    await ctx.audit("create", "role", role, {"name": name, "permissions": perms, "comment": body.comment})
    return JSONResponse(serialize(role), status_code=201)


async def get_role(ctx: Ctx) -> dict[str, Any]:
    """Show one role."""
    return serialize(await ctx.get(Role, query=visible_roles(ctx)))


async def update_role(ctx: Ctx) -> dict[str, Any]:
    """Rename a custom role or change its permissions (takes effect on the next request)."""
    role = await _editable(ctx)
    body = await ctx.body(RolePatch)
    changes: dict[str, Any] = {}
    if body.name is not None and body.name.strip() != role.name:
        role.name = changes["name"] = await _check_name(ctx, body.name, exclude=role.id)
    if body.permissions is not None:
        perms = _check_permission_names(ctx, body.permissions, held=role.permissions)
        if perms != sorted(role.permissions):
            role.permissions = changes["permissions"] = perms
    if body.comment is not None and body.comment != role.comment:
        role.comment = changes["comment"] = body.comment
    if changes:
        await role.save()
        await ctx.audit("update", "role", role, changes)
    return serialize(role)


async def delete_role(ctx: Ctx) -> None:
    """Delete a custom role that nobody holds any more."""
    role = await _editable(ctx)
    holders = await Membership.filter(role_id=role.id).count()
    tokens = await ApiToken.filter(role_id=role.id, revoked_at=None).count()
    if holders or tokens:
        raise Conflict(f"This role is still given to {holders} membership(s) and {tokens} API token(s). "
                       "Take it away from them first.", details={"field": "id"})
    await ctx.audit("delete", "role", role)
    await ApiToken.filter(role_id=role.id).delete()
    await role.delete()


routes = [
    endpoint("/roles", list_roles, ["GET"], perm="roles.view"),
    endpoint("/roles", create_role, ["POST"], perm="roles.manage", body=RoleCreate),
    endpoint("/roles/permissions", list_permissions, ["GET"], perm="roles.view"),
    endpoint("/roles/{id}", get_role, ["GET"], perm="roles.view"),
    endpoint("/roles/{id}", update_role, ["PATCH"], perm="roles.manage", body=RolePatch),
    endpoint("/roles/{id}", delete_role, ["DELETE"], perm="roles.manage"),
]
