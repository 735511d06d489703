"""Prometheus metrics (counts only), for admins or an API token with audit.view."""

from __future__ import annotations

from starlette.responses import PlainTextResponse

from webgate.api._base import Ctx, endpoint
from webgate.db.models import Asset, Session, User


async def metrics(ctx: Ctx) -> PlainTextResponse:
    """Gauges for users, assets and live sessions (Prometheus text format)."""
    lines = [
        "# TYPE webgate_users gauge", f"webgate_users {await User.all().count()}",
        "# TYPE webgate_assets gauge", f"webgate_assets {await Asset.all().count()}",
        "# TYPE webgate_sessions_live gauge",
        f"webgate_sessions_live {await Session.filter(status='live').count()}",
    ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


routes = [endpoint("/metrics", metrics, perm="audit.view")]
