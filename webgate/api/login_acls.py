"""Login ACL rules (super admins): allow or deny logins by source network, user, weekday and time.

Rules are global, checked before the password by ``webgate.auth.login``; the first active
rule by priority that matches decides, no match allows. Input is validated strictly here
so that the pure matcher never meets a malformed rule.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from starlette.responses import JSONResponse

from webgate.api._base import Ctx, endpoint, paginate
from webgate.db.models import LoginAcl, User
from webgate.errors import ValidationFailed

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _networks(values: list[str]) -> list[str]:
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network like 10.0.0.0/8") from None
    return list(dict.fromkeys(out))


def _time(value: str) -> str:
    if value and not HHMM.match(value):
        raise ValueError("Use a 24-hour time like 09:30")
    return value


class AclFields(BaseModel):
    """Shared validation: every field optional so PATCH can send only what changes."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    priority: int | None = Field(default=None, ge=0, le=10000)
    action: Literal["allow", "deny"] | None = None
    ips: list[str] | None = Field(default=None, max_length=200)
    user_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)
    weekdays: list[int] | None = Field(default=None, max_length=7)
    time_start: str | None = None
    time_end: str | None = None
    is_active: bool | None = None
    comment: str | None = Field(default=None, max_length=2000)

    @field_validator("ips")
    @classmethod
    def _ips(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _networks(value)

    @field_validator("time_start", "time_end")
    @classmethod
    def _times(cls, value: str | None) -> str | None:
        return None if value is None else _time(value)

    @field_validator("weekdays")
    @classmethod
    def _days(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(d < 0 or d > 6 for d in value):
            raise ValueError("Weekdays are 0 (Monday) to 6 (Sunday)")
        return None if value is None else sorted(set(value))


class AclCreate(AclFields):
    name: str = Field(min_length=1, max_length=128)
    priority: int = Field(default=50, ge=0, le=10000)
    action: Literal["allow", "deny"]


def serialize(acl: LoginAcl) -> dict[str, Any]:
    return {"id": str(acl.id), "name": acl.name, "priority": acl.priority, "action": acl.action,
            "ips": acl.ips, "user_ids": acl.user_ids, "weekdays": acl.weekdays,
            "time_start": acl.time_start, "time_end": acl.time_end, "is_active": acl.is_active,
            "comment": acl.comment}


async def _values(body: AclFields) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True, exclude_none=True)
    if "user_ids" in values:
        ids = set(body.user_ids or [])
        found = await User.filter(id__in=list(ids)).count() if ids else 0
        if found != len(ids):
            raise ValidationFailed({"user_ids": "One of the chosen users does not exist."})
        values["user_ids"] = sorted(str(i) for i in ids)
    if "name" in values:
        values["name"] = values["name"].strip()
    return values


def _check_window(acl: LoginAcl | dict[str, Any]) -> None:
    start, end = (acl.get("time_start"), acl.get("time_end")) if isinstance(acl, dict) else (acl.time_start, acl.time_end)
    if bool(start) != bool(end):
        raise ValidationFailed({"time_end": "Give both a start and an end time, or neither."})


async def list_acls(ctx: Ctx) -> dict[str, Any]:
    """List the login rules in the order they are checked."""
    return await paginate(ctx, LoginAcl.all().order_by("priority", "name"), serialize, search=("name", "comment"),
                          ordering=("priority", "name", "created_at"))


async def create(ctx: Ctx) -> JSONResponse:
    """Add a login rule."""
    body = await ctx.body(AclCreate)
    values = await _values(body)
    _check_window(values)
    acl = await LoginAcl.create(**values)
    await ctx.audit("create", "login_acl", acl, values)
    return JSONResponse(serialize(acl), status_code=201)


async def get_acl(ctx: Ctx) -> dict[str, Any]:
    """Show one login rule."""
    return serialize(await ctx.get(LoginAcl, query=LoginAcl.all()))


async def update(ctx: Ctx) -> dict[str, Any]:
    """Change a login rule."""
    acl = await ctx.get(LoginAcl, query=LoginAcl.all())
    values = await _values(await ctx.body(AclFields))
    changes = {k: v for k, v in values.items() if getattr(acl, k) != v}
    for key, value in changes.items():
        setattr(acl, key, value)
    _check_window(acl)
    if changes:
        await acl.save()
        await ctx.audit("update", "login_acl", acl, changes)
    return serialize(acl)


async def delete(ctx: Ctx) -> None:
    """Delete a login rule."""
    acl = await ctx.get(LoginAcl, query=LoginAcl.all())
    await ctx.audit("delete", "login_acl", acl)
    await acl.delete()


routes = [
    endpoint("/login-acls", list_acls, ["GET"], perm="acls.manage"),
    endpoint("/login-acls", create, ["POST"], perm="acls.manage", body=AclCreate),
    endpoint("/login-acls/{id}", get_acl, ["GET"], perm="acls.manage"),
    endpoint("/login-acls/{id}", update, ["PATCH"], perm="acls.manage", body=AclFields),
    endpoint("/login-acls/{id}", delete, ["DELETE"], perm="acls.manage"),
]
