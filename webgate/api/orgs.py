"""Organizations (super admins only): the tenants that every other resource belongs to."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from webgate.api._base import Ctx, endpoint, iso, paginate, unique_name
from webgate.db.models import Asset, Membership, Organization, Role, WebSession
from webgate.errors import Conflict


class OrgCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    comment: str = Field(default="", max_length=2000)


class OrgPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    comment: str | None = Field(default=None, max_length=2000)


def serialize(org: Organization) -> dict[str, Any]:
    return {"id": str(org.id), "name": org.name, "comment": org.comment, "is_default": org.is_default,
            "created_at": iso(org.created_at)}


async def _check_name(name: str, exclude: uuid.UUID | None = None) -> str:
    return await unique_name(Organization.all(), name, "An organization", exclude=exclude)


async def _get(ctx: Ctx) -> Organization:
    return await ctx.get(Organization, query=Organization.all())


async def list_orgs(ctx: Ctx) -> dict[str, Any]:
    """List all organizations."""
    return await paginate(ctx, Organization.all(), serialize, search=("name", "comment"),
                          ordering=("name", "created_at"))


async def create(ctx: Ctx) -> JSONResponse:
    """Create an organization; its creator becomes its admin so it shows in their org switcher."""
    body = await ctx.body(OrgCreate)
    org = await Organization.create(name=await _check_name(body.name), comment=body.comment)
    admin_role = await Role.get(org_id=None, name="OrgAdmin")
    await Membership.create(user_id=ctx.user.id, org_id=org.id, role_id=admin_role.id)
    await ctx.audit("create", "org", org, {"name": org.name, "comment": org.comment})
    return JSONResponse(serialize(org), status_code=201)


async def get_org(ctx: Ctx) -> dict[str, Any]:
    """Show one organization."""
    return serialize(await _get(ctx))


async def update(ctx: Ctx) -> dict[str, Any]:
    """Rename an organization or change its comment."""
    org = await _get(ctx)
    body = await ctx.body(OrgPatch)
    changes: dict[str, Any] = {}
    if body.name is not None and body.name.strip() != org.name:
        org.name = changes["name"] = await _check_name(body.name, exclude=org.id)
    if body.comment is not None and body.comment != org.comment:
        org.comment = changes["comment"] = body.comment
    if changes:
        await org.save()
        await ctx.audit("update", "org", org, changes)
    return serialize(org)


async def delete(ctx: Ctx) -> None:
    """Delete an empty organization (no assets, no users other than super admins)."""
    org = await _get(ctx)
    if org.is_default:
        raise Conflict("The default organization cannot be deleted.", details={"field": "id"})
    assets = await Asset.filter(org_id=org.id).count()
    users = await Membership.filter(org_id=org.id, user__is_superadmin=False).distinct().values_list(
        "user_id", flat=True)
    if assets or users:
        raise Conflict(f"This organization still has {assets} asset(s) and {len(set(users))} user(s). "
                       "Delete or move them first.", details={"field": "id"})
    await ctx.audit("delete", "org", org)
    await WebSession.filter(org_id=org.id).update(org_id=None)
    await org.delete()


routes = [
    endpoint("/orgs", list_orgs, ["GET"], perm="orgs.manage"),
    endpoint("/orgs", create, ["POST"], perm="orgs.manage", body=OrgCreate),
    endpoint("/orgs/{id}", get_org, ["GET"], perm="orgs.manage"),
    endpoint("/orgs/{id}", update, ["PATCH"], perm="orgs.manage", body=OrgPatch),
    endpoint("/orgs/{id}", delete, ["DELETE"], perm="orgs.manage"),
]
