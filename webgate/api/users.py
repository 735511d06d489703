"""Users of the current org: who they are, their roles and groups here, and admin resets.

A user is "in" an org through Membership rows (one per role). Org admins only ever see
and touch users of their org (others are 404) and never a super admin or anyone holding
more permissions than they do (403). Disabling someone or changing their roles bumps
``auth_epoch`` and drops their sessions on every node.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field
from starlette.responses import JSONResponse
from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from webgate.api._base import Ctx, endpoint, iso, paginate
from webgate.api.roles import check_grantable, roles_for
from webgate.auth import login
from webgate.auth.passwords import generate_password
from webgate.auth.principal import org_permissions
from webgate.auth.users import create_user
from webgate.db.models import (
    ApiToken,
    AssetPermission,
    Membership,
    RecoveryCode,
    Role,
    User,
    UserGroup,
)
from webgate.errors import Forbidden, ValidationFailed

USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]*$"
LANGUAGES = r"^(en|zh-CN)$"
EMAIL = r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# A point in time from a request: naive values are taken as UTC so comparisons never fail.
When = Annotated[datetime, AfterValidator(_utc)]


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=128, pattern=USERNAME)
    name: str = Field(default="", max_length=128)
    email: str = Field(default="", max_length=254, pattern=EMAIL)
    password: str | None = Field(default=None, max_length=1024)
    role_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    group_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    is_active: bool = True
    expires_at: When | None = None
    mfa_required: bool = False
    language: str = Field(default="en", pattern=LANGUAGES)
    # Writable by super admins only (403 for anyone else), and audited.
    is_superadmin: bool | None = None


class UserPatch(BaseModel):
    name: str | None = Field(default=None, max_length=128)
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL)
    is_active: bool | None = None
    expires_at: When | None = None
    mfa_required: bool | None = None
    language: str | None = Field(default=None, pattern=LANGUAGES)
    role_ids: list[uuid.UUID] | None = Field(default=None, max_length=50)
    group_ids: list[uuid.UUID] | None = Field(default=None, max_length=500)
    is_superadmin: bool | None = None


def org_users(ctx: Ctx) -> QuerySet[User]:
    """Users with a membership in the caller's org (the super admin's global view: everyone)."""
    if ctx.org_id is None:
        return User.all() if ctx.principal and ctx.user.is_superadmin else User.filter(id=None)
    return User.filter(id__in=Subquery(Membership.filter(org_id=ctx.org_id).values("user_id")))


async def user_ids_in_org(ctx: Ctx, ids: list[uuid.UUID], field: str = "user_ids") -> list[uuid.UUID]:
    """Check that every id is a user of this org (422 naming ``field`` otherwise)."""
    wanted = set(ids)
    found = set(await org_users(ctx).filter(id__in=list(wanted)).values_list("id", flat=True)) if wanted else set()
    if found != wanted:
        raise ValidationFailed({field: "One of the chosen users is not a member of this organization."})
    return sorted(wanted, key=str)


async def serialize(ctx: Ctx, user: User) -> dict[str, Any]:
    members = Membership.filter(user_id=user.id).select_related("role")
    groups = UserGroup.filter(users=user.id)
    if ctx.org_id is not None:
        members, groups = members.filter(org_id=ctx.org_id), groups.filter(org_id=ctx.org_id)
    roles = {m.role.id: m.role.name for m in await members}
    return {
        "id": str(user.id), "username": user.username, "name": user.name, "email": user.email,
        "is_active": user.is_active, "is_superadmin": user.is_superadmin, "expires_at": iso(user.expires_at),
        "mfa_enabled": user.mfa_enabled, "mfa_required": user.mfa_required, "language": user.language,
        "roles": [{"id": str(k), "name": v} for k, v in sorted(roles.items(), key=lambda kv: kv[1])],
        "group_ids": sorted(str(g) for g in await groups.values_list("id", flat=True)),
        "last_login_at": iso(user.last_login_at), "created_at": iso(user.created_at),
        "locked": await login.is_locked(ctx.services, user.username),
    }


async def _target(ctx: Ctx) -> User:
    """The user to change: in this org, and not more powerful than the caller."""
    user = await ctx.get(User, query=org_users(ctx))
    assert ctx.principal is not None
    if ctx.principal.user.is_superadmin:
        return user
    if user.is_superadmin:
        raise Forbidden("Only a super admin can change a super admin.")
    theirs = await org_permissions(user, ctx.org_id)
    if not theirs <= ctx.principal.permissions:
        raise Forbidden("This user has permissions you do not have; ask someone with more rights.")
    return user


def _check_superadmin_field(ctx: Ctx, value: bool | None, user: User | None = None) -> None:
    if value is None:
        return
    if not ctx.principal or not ctx.principal.user.is_superadmin:
        raise Forbidden("Only a super admin can make someone a super admin or take it away.")
    if user is not None and user.id == ctx.user.id and not value:
        raise ValidationFailed({"is_superadmin": "You cannot take super admin rights away from yourself."})


async def _groups_for(ctx: Ctx, ids: list[uuid.UUID]) -> list[UserGroup]:
    wanted = set(ids)
    groups = await ctx.scoped(UserGroup).filter(id__in=list(wanted)) if wanted else []
    if len(groups) != len(wanted):
        raise ValidationFailed({"group_ids": "One of the chosen groups does not exist in this organization."})
    return list(groups)


async def _set_groups(ctx: Ctx, user: User, groups: list[UserGroup]) -> None:
    current = await ctx.scoped(UserGroup).filter(users=user.id)
    keep = {g.id for g in groups}
    for group in current:
        if group.id not in keep:
            await group.users.remove(user)
    have = {g.id for g in current}
    for group in groups:
        if group.id not in have:
            await group.users.add(user)


async def _set_roles(ctx: Ctx, user: User, org_id: uuid.UUID, roles: list[Role]) -> None:
    """Replace the user's roles here and revoke their tokens that now exceed them."""
    wanted = {r.id for r in roles}
    await Membership.filter(user_id=user.id, org_id=org_id).exclude(role_id__in=list(wanted)).delete()
    have = set(await Membership.filter(user_id=user.id, org_id=org_id).values_list("role_id", flat=True))
    for role_id in wanted - have:
        await Membership.create(user_id=user.id, org_id=org_id, role_id=role_id)
    perms = {p for r in roles for p in r.permissions}
    for token in await ApiToken.filter(user_id=user.id, org_id=org_id, revoked_at=None).select_related("role"):
        if not set(token.role.permissions) <= perms:
            await ApiToken.filter(id=token.id).update(revoked_at=ctx.services.clock.now())


async def _revoke(ctx: Ctx, user: User) -> None:
    """Bump the auth epoch so every session (on every node) of the user ends."""
    user.auth_epoch += 1
    await User.filter(id=user.id).update(auth_epoch=user.auth_epoch)
    await login.revoke_user_sessions(ctx.services, user)


async def list_users(ctx: Ctx) -> dict[str, Any]:
    """List the users of this organization (filter: is_active=true|false)."""
    qs = org_users(ctx)
    active = ctx.query("is_active").lower()
    if active in ("true", "false"):
        qs = qs.filter(is_active=active == "true")
    return await paginate(ctx, qs, lambda u: serialize(ctx, u), search=("username", "name", "email"),
                          ordering=("username", "name", "email", "created_at", "last_login_at"))


async def create(ctx: Ctx) -> JSONResponse:
    """Create a user in this organization; without a password a one-time password is returned once."""
    org_id = ctx.require_org()
    body = await ctx.body(UserCreate)
    _check_superadmin_field(ctx, body.is_superadmin)
    roles = await roles_for(ctx, body.role_ids, "role_ids")
    check_grantable(ctx, (p for r in roles for p in r.permissions))
    groups = await _groups_for(ctx, body.group_ids)
    user, one_time = await create_user(
        ctx.services, username=body.username, name=body.name, email=body.email, password=body.password,
        superadmin=bool(body.is_superadmin), org_id=org_id, role_ids=[r.id for r in roles],
        is_active=body.is_active, expires_at=body.expires_at, mfa_required=body.mfa_required)
    if body.language != user.language:
        user.language = body.language
        await User.filter(id=user.id).update(language=body.language)
    await _set_groups(ctx, user, groups)
    changes = body.model_dump(mode="json", exclude={"password"}, exclude_none=True)
    await ctx.audit("create", "user", user, changes)
    data = await serialize(ctx, user)
    if one_time is not None:
        data["one_time_password"] = one_time
    return JSONResponse(data, status_code=201)


async def get_user(ctx: Ctx) -> dict[str, Any]:
    """Show one user of this organization."""
    return await serialize(ctx, await ctx.get(User, query=org_users(ctx)))


async def update(ctx: Ctx) -> dict[str, Any]:
    """Change a user; disabling them or changing their roles ends their sessions everywhere."""
    user = await _target(ctx)
    body = await ctx.body(UserPatch)
    sent = body.model_fields_set
    _check_superadmin_field(ctx, body.is_superadmin, user)
    changes: dict[str, Any] = {}
    for name in ("name", "email", "is_active", "mfa_required", "language", "is_superadmin"):
        value = getattr(body, name)
        if value is not None and value != getattr(user, name):
            changes[name] = value
    if "expires_at" in sent and body.expires_at != user.expires_at:
        changes["expires_at"] = iso(body.expires_at)
    if changes.get("is_active") is False and user.id == ctx.user.id:
        raise ValidationFailed({"is_active": "You cannot disable yourself."})
    roles = groups = None
    org_id = ctx.require_org() if body.role_ids is not None or body.group_ids is not None else ctx.org_id
    if body.role_ids is not None:
        if not body.role_ids:
            raise ValidationFailed({"role_ids": "Give the user at least one role in this organization."})
        roles = await roles_for(ctx, body.role_ids, "role_ids")
        current = set(await Membership.filter(user_id=user.id, org_id=org_id).values_list("role_id", flat=True))
        if {r.id for r in roles} != current:
            check_grantable(ctx, (p for r in roles if r.id not in current for p in r.permissions))
            changes["role_ids"] = sorted(str(r.id) for r in roles)
        else:
            roles = None
    if body.group_ids is not None:
        groups = await _groups_for(ctx, body.group_ids)
        current_groups = set(await ctx.scoped(UserGroup).filter(users=user.id).values_list("id", flat=True))
        if {g.id for g in groups} != current_groups:
            changes["group_ids"] = sorted(str(g.id) for g in groups)
        else:
            groups = None
    fields: list[str] = [f for f in ("name", "email", "is_active", "mfa_required", "language", "is_superadmin")
                         if f in changes]
    if "expires_at" in changes:
        fields.append("expires_at")
    for name in fields:
        setattr(user, name, getattr(body, name))
    if fields:
        await user.save(update_fields=fields)
    if roles is not None and org_id is not None:
        await _set_roles(ctx, user, org_id, roles)
    if groups is not None:
        await _set_groups(ctx, user, groups)
    if roles is not None or changes.get("is_active") is False or "is_superadmin" in changes:
        await _revoke(ctx, user)
    if changes:
        await ctx.audit("update", "user", user, changes)
    return await serialize(ctx, user)


async def remove(ctx: Ctx) -> None:
    """Remove the user from this organization (and delete them if they belong to no org any more)."""
    org_id = ctx.require_org()
    user = await _target(ctx)
    if user.id == ctx.user.id:
        raise ValidationFailed({"id": "You cannot remove yourself."})
    await Membership.filter(user_id=user.id, org_id=org_id).delete()
    for group in await ctx.scoped(UserGroup).filter(users=user.id):
        await group.users.remove(user)
    for perm in await ctx.scoped(AssetPermission).filter(users=user.id):
        await perm.users.remove(user)
    await ApiToken.filter(user_id=user.id, org_id=org_id, revoked_at=None).update(revoked_at=ctx.services.clock.now())
    deleted = not user.is_superadmin and not await Membership.filter(user_id=user.id).exists()
    await ctx.audit("delete", "user", user, {"deleted_user": deleted})
    await _revoke(ctx, user)
    if deleted:
        await user.delete()


async def reset_password(ctx: Ctx) -> dict[str, str]:
    """Give the user a one-time password (shown once); they must choose a new one at next login."""
    user = await _target(ctx)
    policy = (await ctx.services.policy(ctx.org_id))["password_policy"]
    password = generate_password(max(16, int(policy["min_length"])))
    await login.set_password(ctx.services, user, password, ctx.org_id, by_admin=True)
    await ctx.audit("reset_password", "user", user)
    return {"one_time_password": password}


async def reset_mfa(ctx: Ctx) -> None:
    """Turn the user's MFA off and drop their recovery codes (they enrol again if MFA is required)."""
    user = await _target(ctx)
    await User.filter(id=user.id).update(mfa_secret_enc=None, mfa_pending_enc=None, totp_last_step=0)
    await RecoveryCode.filter(user_id=user.id).delete()
    await ctx.audit("reset_mfa", "user", user)


async def unlock(ctx: Ctx) -> None:
    """Lift a lockout after too many failed logins."""
    user = await _target(ctx)
    await login.unlock(ctx.services, user.username)
    await ctx.audit("unlock", "user", user)


routes = [
    endpoint("/users", list_users, ["GET"], perm="users.view"),
    endpoint("/users", create, ["POST"], perm="users.manage", body=UserCreate),
    endpoint("/users/{id}", get_user, ["GET"], perm="users.view"),
    endpoint("/users/{id}", update, ["PATCH"], perm="users.manage", body=UserPatch),
    endpoint("/users/{id}", remove, ["DELETE"], perm="users.manage"),
    endpoint("/users/{id}/reset-password", reset_password, ["POST"], perm="users.manage"),
    endpoint("/users/{id}/reset-mfa", reset_mfa, ["POST"], perm="users.manage"),
    endpoint("/users/{id}/unlock", unlock, ["POST"], perm="users.manage"),
]
