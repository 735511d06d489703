"""Login, MFA, logout and "who am I". The only endpoints reachable before login completes."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from webgate.api._base import ANY_USER, PARTIAL, PUBLIC, Ctx, endpoint
from webgate.auth import login
from webgate.auth.principal import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Principal,
    org_permissions,
    read_cookie,
    token_hash,
)
from webgate.db.models import Organization, WebSession
from webgate.errors import (
    Forbidden,
    InvalidCredentials,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)


class LoginBody(BaseModel):
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class CodeBody(BaseModel):
    code: str = Field(min_length=1, max_length=64)


class SwitchOrgBody(BaseModel):
    org_id: uuid.UUID | None = None


class PasswordBody(BaseModel):
    old_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


def _attempt(ctx: Ctx) -> login.Attempt:
    return login.Attempt(ip=ctx.ip, user_agent=ctx.user_agent)


def _set_cookies(ctx: Ctx, response: Response, raw: str, session: WebSession) -> None:
    secure = ctx.services.settings.secure_cookies or ctx.request.url.scheme == "https"
    response.set_cookie(SESSION_COOKIE, raw, httponly=True, samesite="lax", secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, session.csrf_token, httponly=False, samesite="strict", secure=secure, path="/")


def _partial(ctx: Ctx) -> Principal:
    if ctx.principal is None or ctx.principal.session is None:
        raise Unauthenticated("Your login step has expired. Log in again.")
    return ctx.principal


async def do_login(ctx: Ctx) -> Response:
    """Check username and password; starts a new server-side session (the old one is dropped)."""
    body = await ctx.body(LoginBody)
    old = read_cookie(ctx.request.scope, SESSION_COOKIE)
    if old:
        await WebSession.filter(token_hash=token_hash(old)).delete()
    session, raw = await login.password_login(ctx.services, body.username, body.password, _attempt(ctx))
    response = JSONResponse({"stage": session.stage, "csrf_token": session.csrf_token})
    _set_cookies(ctx, response, raw, session)
    return response


async def mfa_verify(ctx: Ctx) -> dict[str, Any]:
    """Check a TOTP or recovery code for the session's own user."""
    principal = _partial(ctx)
    body = await ctx.body(CodeBody)
    assert principal.session is not None
    stage = await login.verify_mfa(ctx.services, principal.session, principal.user, body.code, _attempt(ctx))
    return {"stage": stage}


async def mfa_enroll_start(ctx: Ctx) -> dict[str, Any]:
    """A new TOTP secret with its QR code; becomes active only after a code is confirmed."""
    principal = _partial(ctx)
    if principal.stage not in ("mfa_enroll", "done"):
        raise Forbidden("Finish the current login step first.")
    secret, uri, svg = await login.start_enrolment(ctx.services, principal.user)
    return {"secret": secret, "otpauth_uri": uri, "qr_svg": svg}


async def mfa_enroll_finish(ctx: Ctx) -> dict[str, Any]:
    """Confirm the new secret with a code; returns the recovery codes, once."""
    principal = _partial(ctx)
    if principal.stage not in ("mfa_enroll", "done"):
        raise Forbidden("Finish the current login step first.")
    body = await ctx.body(CodeBody)
    codes = await login.finish_enrolment(ctx.services, principal.user, body.code)
    stage = principal.stage
    if stage == "mfa_enroll":
        assert principal.session is not None
        principal.session.stage = "mfa"
        stage = await login.advance(ctx.services, principal.session, principal.user, _attempt(ctx))
    await ctx.audit("enable_mfa", "user", principal.user)
    return {"stage": stage, "recovery_codes": codes}


async def mfa_disable(ctx: Ctx) -> None:
    """Turn MFA off for oneself (needs a current code; refused where MFA is forced)."""
    assert ctx.principal is not None
    user = ctx.principal.user
    if await login._mfa_forced(ctx.services, user, ctx.org_id):
        raise Forbidden("MFA is required by your organization and cannot be turned off.")
    body = await ctx.body(CodeBody)
    if not user.mfa_secret_enc:
        raise ValidationFailed({"code": "MFA is not enabled."})
    from webgate.auth import totp
    from webgate.db.crypto import context_for

    secret = ctx.services.box.decrypt(user.mfa_secret_enc, context_for("users", "mfa_secret", user.id))
    if totp.matching_step(secret, body.code, ctx.services.clock.time()) is None:
        raise InvalidCredentials("That code is wrong.")
    from webgate.db.models import RecoveryCode, User

    await User.filter(id=user.id).update(mfa_secret_enc=None, totp_last_step=0)
    await RecoveryCode.filter(user_id=user.id).delete()
    await ctx.audit("disable_mfa", "user", user)


async def logout(ctx: Ctx) -> Response:
    """End this browser session on the server."""
    if ctx.principal and ctx.principal.session:
        await WebSession.filter(id=ctx.principal.session.id).delete()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


async def describe(principal: Principal) -> dict[str, Any]:
    user = principal.user
    if user.is_superadmin and principal.token is None:
        orgs = await Organization.all()
    else:
        orgs = await Organization.filter(id__in=principal.org_ids)
    current = next((o for o in orgs if o.id == principal.org_id), None)
    return {
        "user": {"id": str(user.id), "username": user.username, "name": user.name, "email": user.email,
                 "is_superadmin": user.is_superadmin, "mfa_enabled": user.mfa_enabled,
                 "language": user.language},
        "org": {"id": str(current.id), "name": current.name} if current else None,
        "orgs": [{"id": str(o.id), "name": o.name} for o in orgs],
        "permissions": sorted(principal.permissions) if principal.done else [],
        "csrf_token": principal.session.csrf_token if principal.session else None,
        "stage": principal.stage,
    }


async def me(ctx: Ctx) -> dict[str, Any]:
    """The logged-in user, their current org, their orgs and their permissions."""
    assert ctx.principal is not None
    return await describe(ctx.principal)


async def switch_org(ctx: Ctx) -> dict[str, Any]:
    """Make another org current (super admins may choose none: the global view)."""
    principal = ctx.principal
    assert principal is not None
    if principal.session is None:
        raise Forbidden("An API token belongs to one organization. Use a token made in the other organization.")
    body = await ctx.body(SwitchOrgBody)
    if body.org_id is None and not principal.user.is_superadmin:
        raise ValidationFailed({"org_id": "Choose an organization."})
    if body.org_id is not None:
        allowed = principal.user.is_superadmin or body.org_id in principal.org_ids
        if not allowed or not await Organization.filter(id=body.org_id).exists():
            raise NotFound()
    await WebSession.filter(id=principal.session.id).update(org_id=body.org_id)
    principal.org_id = body.org_id
    principal.permissions = await org_permissions(principal.user, body.org_id)
    return await describe(principal)


async def change_password(ctx: Ctx) -> Response:
    """Change one's own password (also the forced change after an admin reset or expiry)."""
    principal = ctx.principal
    if principal is None or principal.session is None:
        raise Unauthenticated()
    if principal.stage not in ("done", "password_change"):
        raise Forbidden("Finish the current login step first.")
    body = await ctx.body(PasswordBody)
    if not login.passwords(ctx.services).verify(principal.user.password_hash, body.old_password):
        raise ValidationFailed({"old_password": "The current password is wrong."})
    await login.set_password(ctx.services, principal.user, body.new_password, ctx.org_id, keep=principal.session)
    if principal.stage == "password_change":
        principal.session.stage = "password_change"
        await login.advance(ctx.services, principal.session, principal.user, _attempt(ctx))
    await ctx.audit("change_password", "user", principal.user)
    return Response(status_code=204)


routes = [
    endpoint("/auth/login", do_login, ["POST"], perm=PUBLIC, body=LoginBody, keeps_access=True),
    endpoint("/auth/mfa/verify", mfa_verify, ["POST"], perm=PARTIAL, body=CodeBody, keeps_access=True),
    endpoint("/auth/mfa/enroll", mfa_enroll_start, ["GET"], perm=PARTIAL),
    endpoint("/auth/mfa/enroll", mfa_enroll_finish, ["POST"], perm=PARTIAL, body=CodeBody),
    endpoint("/auth/mfa/disable", mfa_disable, ["POST"], perm=ANY_USER, body=CodeBody),
    endpoint("/auth/logout", logout, ["POST"], perm=PARTIAL),
    endpoint("/auth/me", me, ["GET"], perm=PARTIAL),
    endpoint("/auth/switch-org", switch_org, ["POST"], perm=ANY_USER, body=SwitchOrgBody),
    endpoint("/auth/password", change_password, ["POST"], perm=PARTIAL, body=PasswordBody),
]
