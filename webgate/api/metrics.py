"""Prometheus metrics (counts only), for admins or an API token with audit.view.

Counted within the caller's org like everything else (an org must not learn another's
size); only the super admin's global view counts every org.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse

from webgate.api._base import Ctx, endpoint
from webgate.api.dashboard import user_count
from webgate.db.models import Asset, Session


async def metrics(ctx: Ctx) -> PlainTextResponse:
    """Gauges for users, assets and live sessions (Prometheus text format)."""
    lines = [
        "# TYPE webgate_users gauge", f"webgate_users {await user_count(ctx)}",
        "# TYPE webgate_assets gauge", f"webgate_assets {await ctx.scoped(Asset).count()}",
        "# TYPE webgate_sessions_live gauge",
        f"webgate_sessions_live {await ctx.scoped(Session).filter(status='live').count()}",
    ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


routes = [endpoint("/metrics", metrics, perm="audit.view")]
