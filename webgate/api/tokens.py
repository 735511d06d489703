"""API tokens: a secret for integrations, bound to one org and one role, shown once.

Only the SHA-256 of a token is stored (plus a short prefix to recognise it in lists);
the token itself is in the answer to POST and nowhere else, not even the audit log.
A token's role can never exceed what its creator may do.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from webgate.api._base import Ctx, endpoint, iso, paginate
from webgate.api.roles import check_grantable, roles_for
from webgate.api.users import When
from webgate.auth.principal import TOKEN_PREFIX, token_hash
from webgate.db.models import ApiToken
from webgate.errors import ValidationFailed

PREFIX_LEN = len(TOKEN_PREFIX) + 6


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    role_id: uuid.UUID
    expires_at: When | None = None


def serialize(token: ApiToken) -> dict[str, Any]:
    return {"id": str(token.id), "name": token.name, "prefix": token.prefix,
            "role_id": str(token.role_id), "user_id": str(token.user_id),  # type: ignore[attr-defined]
            "created_at": iso(token.created_at), "last_used_at": iso(token.last_used_at),
            "expires_at": iso(token.expires_at), "revoked": token.revoked_at is not None}


async def list_tokens(ctx: Ctx) -> dict[str, Any]:
    """List this organization's API tokens (never the tokens themselves)."""
    return await paginate(ctx, ctx.scoped(ApiToken), serialize, search=("name", "prefix"),
                          ordering=("name", "created_at", "last_used_at", "expires_at"))


async def create(ctx: Ctx) -> JSONResponse:
    """Create an API token for yourself; the answer holds the token, shown only this once."""
    org_id = ctx.require_org()
    body = await ctx.body(TokenCreate)
    name = body.name.strip()
    if not name:
        raise ValidationFailed({"name": "Enter a name."})
    if body.expires_at is not None and body.expires_at <= ctx.services.clock.now():
        raise ValidationFailed({"expires_at": "Choose a time in the future."})
    (role,) = await roles_for(ctx, [body.role_id], "role_id")
    check_grantable(ctx, role.permissions)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = await ApiToken.create(org_id=org_id, name=name, token_hash=token_hash(raw), prefix=raw[:PREFIX_LEN],
                                  user_id=ctx.user.id, role_id=role.id, expires_at=body.expires_at)
    await ctx.audit("create", "token", token, {"name": name, "role_id": str(role.id), "role": role.name,
                                               "expires_at": iso(body.expires_at)})
    return JSONResponse({**serialize(token), "token": raw}, status_code=201)


async def get_token(ctx: Ctx) -> dict[str, Any]:
    """Show one API token (never the token itself)."""
    return serialize(await ctx.get(ApiToken))


async def revoke(ctx: Ctx) -> None:
    """Revoke an API token: it stops working at once, on every node."""
    token = await ctx.get(ApiToken)
    if token.revoked_at is None:
        token.revoked_at = ctx.services.clock.now()
        await ApiToken.filter(id=token.id).update(revoked_at=token.revoked_at)
        await ctx.audit("revoke", "token", token)


routes = [
    endpoint("/tokens", list_tokens, ["GET"], perm="tokens.manage"),
    endpoint("/tokens", create, ["POST"], perm="tokens.manage", body=TokenCreate),
    endpoint("/tokens/{id}", get_token, ["GET"], perm="tokens.manage"),
    endpoint("/tokens/{id}", revoke, ["DELETE"], perm="tokens.manage"),
]
