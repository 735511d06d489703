"""The dashboard: a few counts and charts for the current org.

Days are UTC calendar days and "now" is the injected clock, so the numbers are the
same on every node and testable without waiting. Login counts follow the login log's
visibility rule (the org's members only; everything in the super admin's global view).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Subquery
from tortoise.functions import Count

from webgate.api._base import Ctx, endpoint
from webgate.api.audit_logs import visible_logins
from webgate.db.models import Asset, Membership, Session, User

CHART_DAYS = 14
TOP_ASSET_DAYS = 30
TOP_ASSETS = 10


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _days(today: date) -> list[date]:
    return [today - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]


async def user_count(ctx: Ctx) -> int:
    """Members of the current org (every user in the super admin's global view)."""
    if ctx.org_id is None:
        return await User.all().count() if ctx.principal and ctx.principal.user.is_superadmin else 0
    members = Subquery(Membership.filter(org_id=ctx.org_id).values("user_id"))
    return await User.filter(id__in=members).count()


async def _sessions_per_day(ctx: Ctx, days: list[date]) -> list[dict[str, Any]]:
    started: list[datetime] = await ctx.scoped(Session).filter(  # type: ignore[assignment]
        started_at__gte=_day_start(days[0])).values_list("started_at", flat=True)
    per_day = Counter(value.astimezone(UTC).date() for value in started)
    return [{"date": day.isoformat(), "count": per_day[day]} for day in days]


async def _logins_per_day(ctx: Ctx, days: list[date]) -> list[dict[str, Any]]:
    rows = await visible_logins(ctx).filter(created_at__gte=_day_start(days[0]),
                                             result__in=("success", "failure")).values_list("created_at", "result")
    per_day = Counter((created.astimezone(UTC).date(), result) for created, result in rows)
    return [{"date": day.isoformat(), "success": per_day[(day, "success")], "failure": per_day[(day, "failure")]}
            for day in days]


async def _top_assets(ctx: Ctx, now: datetime) -> list[dict[str, Any]]:
    rows = await (ctx.scoped(Session).filter(started_at__gte=now - timedelta(days=TOP_ASSET_DAYS))
                  .annotate(count=Count("id")).group_by("asset_name").order_by("-count", "asset_name")
                  .limit(TOP_ASSETS).values("asset_name", "count"))
    return [{"name": row["asset_name"], "count": row["count"]} for row in rows]


async def dashboard(ctx: Ctx) -> dict[str, Any]:
    """Counts of assets, users and sessions, and the last weeks' sessions and logins per day."""
    now = ctx.services.clock.now()
    days = _days(now.astimezone(UTC).date())
    today = _day_start(days[-1])
    sessions = ctx.scoped(Session)
    counts = {
        "assets": await ctx.scoped(Asset).count(),
        "users": await user_count(ctx),
        "sessions_today": await sessions.filter(started_at__gte=today).count(),
        "live_sessions": await sessions.filter(status="live").count(),
        "failed_logins_today": await visible_logins(ctx).filter(result="failure", created_at__gte=today).count(),
    }
    return {"counts": counts, "sessions_per_day": await _sessions_per_day(ctx, days),
            "logins_per_day": await _logins_per_day(ctx, days), "top_assets": await _top_assets(ctx, now)}


routes = [endpoint("/dashboard", dashboard, perm="audit.view")]
