"""Writes audit rows. Secret-bearing fields are reduced to "changed" before anything is stored."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from webgate.db.models import LoginLog, OperationLog

if TYPE_CHECKING:
    from webgate.api._base import Ctx

log = logging.getLogger("webgate.audit")

_SECRET_WORDS = ("secret", "password", "passphrase", "token", "private_key", "kubeconfig")


def redact(changes: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (changes or {}).items():
        if any(word in key.lower() for word in _SECRET_WORDS):
            out[key] = "(changed)"
        elif isinstance(value, str | int | float | bool) or value is None:
            out[key] = value
        else:
            out[key] = json.loads(json.dumps(value, default=str))
    return out


async def operation(ctx: Ctx, action: str, resource_type: str, obj: Any = None,
                    changes: dict[str, Any] | None = None, name: str | None = None) -> None:
    principal = ctx.principal
    actor = principal.user.username if principal else "anonymous"
    if principal and principal.token is not None:
        actor = f"{actor} (token {principal.token.name})"
    org_id = getattr(obj, "org_id", None) or ctx.org_id
    row = await OperationLog.create(
        org_id=org_id, actor=actor, actor_id=principal.user.id if principal else None, action=action,
        resource_type=resource_type, resource_id=str(getattr(obj, "id", "") or ""),
        resource_name=(name if name is not None else str(getattr(obj, "name", "") or getattr(obj, "username", "") or ""))[:255],
        changes=redact(changes), ip=ctx.ip, created_at=ctx.services.clock.now())
    log.info(json.dumps({"event": "operation", "actor": actor, "action": action, "type": resource_type,
                         "id": row.resource_id, "fields": sorted(row.changes)}))


async def login_event(username: str, user_id: Any, ip: str, user_agent: str, result: str, reason: str,
                      at: datetime | None = None) -> None:
    """``at`` is the injected clock's time, so the log and the dashboard agree on "today"."""
    await LoginLog.create(username=username[:128], user_id=user_id, ip=ip, user_agent=user_agent[:512],
                          result=result, reason=reason, created_at=at)
    log.info(json.dumps({"event": "login", "username": username[:128], "ip": ip, "result": result,
                         "reason": reason}))
