"""The login log and the operation log, read-only.

Both are evidence, so the API offers no way to write, change or delete a row: only
GET routes exist. Login rows are global (a login happens before an org is chosen),
so an org's admins and auditors see only the attempts of their org's members; unknown
usernames are visible to the super admin's global view alone. Operation rows carry
the org they happened in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from webgate.api._base import Ctx, endpoint, iso, paginate
from webgate.db.models import LoginLog, Membership, OperationLog
from webgate.errors import ValidationFailed

LOGIN_RESULTS = ("success", "failure", "pending")


def parse_when(ctx: Ctx, name: str) -> datetime | None:
    """An ISO 8601 query parameter as an aware datetime (naive means UTC); 422 when unreadable."""
    # A raw "+" in a query string arrives as a space: "2026-01-05T10:00:00 00:00".
    text = ctx.query(name).strip().replace(" ", "+")
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed({name: "Use a date and time like 2026-01-31T08:00:00Z."}) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _between(ctx: Ctx, qs: QuerySet[Any]) -> QuerySet[Any]:
    since, until = parse_when(ctx, "since"), parse_when(ctx, "until")
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lte=until)
    return qs


def visible_logins(ctx: Ctx) -> QuerySet[LoginLog]:
    """Login rows the caller may read: its org's members, or everything in the global view."""
    if ctx.org_id is None:
        if ctx.principal is not None and ctx.principal.user.is_superadmin:
            return LoginLog.all()
        return LoginLog.filter(id=None)
    return LoginLog.filter(user_id__in=Subquery(Membership.filter(org_id=ctx.org_id).values("user_id")))


def login_row(row: LoginLog) -> dict[str, Any]:
    return {"id": str(row.id), "username": row.username, "ip": row.ip, "user_agent": row.user_agent,
            "result": row.result, "reason": row.reason, "created_at": iso(row.created_at)}


def operation_row(row: OperationLog) -> dict[str, Any]:
    return {"id": str(row.id), "actor": row.actor, "action": row.action, "resource_type": row.resource_type,
            "resource_id": row.resource_id, "resource_name": row.resource_name, "changes": row.changes,
            "ip": row.ip, "created_at": iso(row.created_at)}


async def login_logs(ctx: Ctx) -> dict[str, Any]:
    """Login attempts (successes, failures and logins waiting for MFA), newest first."""
    qs = _between(ctx, visible_logins(ctx))
    if username := ctx.query("username").strip():
        qs = qs.filter(username__icontains=username)
    if result := ctx.query("result").strip():
        if result not in LOGIN_RESULTS:
            raise ValidationFailed({"result": f"Choose one of: {', '.join(LOGIN_RESULTS)}."})
        qs = qs.filter(result=result)
    return await paginate(ctx, qs, login_row, search=("username", "ip", "reason"),
                          ordering=("created_at", "username"))


async def operation_logs(ctx: Ctx) -> dict[str, Any]:
    """Changes made by admins and users in the current org, newest first."""
    qs = _between(ctx, ctx.scoped(OperationLog))
    if actor := ctx.query("actor").strip():
        qs = qs.filter(actor__icontains=actor)
    if action := ctx.query("action").strip():
        qs = qs.filter(action=action)
    if resource_type := ctx.query("resource_type").strip():
        qs = qs.filter(resource_type=resource_type)
    return await paginate(ctx, qs, operation_row, search=("actor", "resource_name", "resource_type", "action"),
                          ordering=("created_at", "actor"))


routes = [
    endpoint("/audit/login-logs", login_logs, perm="audit.view"),
    endpoint("/audit/operation-logs", operation_logs, perm="audit.view"),
]
