"""Sessions for auditors and admins: list, one row, its recording, and ending a live one.

Recordings are evidence: only holders of sessions.view read them, each read is in the
operation log ("who watched what"), the storage key comes from the row (never from the
request), and a recording whose SHA-256 no longer matches the row is refused as altered.
"""

from __future__ import annotations

import gzip
import hashlib
from datetime import datetime
from typing import Any

from starlette.responses import Response

from webgate.api._base import Ctx, endpoint, iso, paginate
from webgate.db.models import FileTransfer, Session
from webgate.errors import Conflict, NotFound, ValidationFailed
from webgate.sessions.control import request_kill


def serialize(row: Session) -> dict[str, Any]:
    return {
        "id": str(row.id), "org_id": str(row.org_id), "user_id": str(row.user_id) if row.user_id else None,
        "username": row.username, "asset_id": str(row.asset_id) if row.asset_id else None,
        "asset_name": row.asset_name, "account_username": row.account_username, "protocol": row.protocol,
        "client_ip": row.client_ip, "user_agent": row.user_agent, "node_name": row.node_name,
        "status": row.status, "started_at": iso(row.started_at), "ended_at": iso(row.ended_at),
        "end_reason": row.end_reason, "bytes_in": row.bytes_in, "bytes_out": row.bytes_out,
        "has_recording": bool(row.recording_key), "watermark": row.watermark,
    }


def _when(ctx: Ctx, name: str) -> datetime | None:
    raw = ctx.query(name)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed({name: "Use an ISO date-time such as 2026-05-01T09:00:00Z."}) from None


async def list_sessions(ctx: Ctx) -> dict[str, Any]:
    """Sessions of the current org, newest first; filter by user, asset, protocol, status and time."""
    qs = ctx.scoped(Session)
    for name in ("username", "asset_name", "protocol", "status"):
        if value := ctx.query(name):
            qs = qs.filter(**{name: value})
    if since := _when(ctx, "since"):
        qs = qs.filter(started_at__gte=since)
    if until := _when(ctx, "until"):
        qs = qs.filter(started_at__lt=until)
    if not ctx.query("ordering"):
        qs = qs.order_by("-started_at")
    return await paginate(ctx, qs, serialize, search=("username", "asset_name", "account_username", "client_ip"),
                          ordering=("started_at", "ended_at", "username", "asset_name", "bytes_out"))


async def get_session(ctx: Ctx) -> dict[str, Any]:
    """One session row."""
    return serialize(await ctx.get(Session))


async def get_recording(ctx: Ctx) -> Response:
    """The session's recording: asciicast v2 or a guacd dump (checked against its stored hash)."""
    row = await ctx.get(Session)
    if not row.recording_key:
        raise NotFound("This session has no recording (recording was off, or it ended before it started).")
    packed = await ctx.services.storage.get_bytes(row.recording_key)
    if row.recording_sha256 and hashlib.sha256(packed).hexdigest() != row.recording_sha256:
        await ctx.audit("tamper_detected", "session", row, name=row.asset_name)
        raise Conflict("This recording does not match the fingerprint taken when it was saved: it may have been "
                       "altered. Tell your security team; the stored file was not changed by webgate.",
                       code="recording_altered")
    await ctx.audit("view_recording", "session", row, name=row.asset_name)
    body = gzip.decompress(packed) if row.recording_key.endswith(".gz") else packed
    # Terminal sessions: asciicast v2; graphical ones: guacd's protocol dump (Guacamole.SessionRecording).
    graphical = ".guac" in row.recording_key
    filename = f"session-{row.id}.{'guac' if graphical else 'cast'}"
    return Response(body, media_type="application/vnd.guacamole" if graphical else "application/x-asciicast",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def serialize_transfer(row: FileTransfer) -> dict[str, Any]:
    return {
        "id": str(row.id), "session_id": str(row.session_id), "username": row.username,
        "asset_name": row.asset_name, "protocol": row.protocol, "direction": row.direction, "path": row.path,
        "size": row.size, "status": row.status, "started_at": iso(row.started_at), "ended_at": iso(row.ended_at),
    }


async def list_transfers(ctx: Ctx) -> dict[str, Any]:
    """Files moved through one session (RDP drive uploads and downloads, refused ones too), newest first."""
    row = await ctx.get(Session)  # the session's own authorisation: same org, sessions.view
    qs = FileTransfer.filter(session_id=row.id, org_id=row.org_id)
    if not ctx.query("ordering"):
        qs = qs.order_by("-started_at")
    return await paginate(ctx, qs, serialize_transfer, search=("path",),
                          ordering=("started_at", "size", "path", "direction", "status"))


async def terminate(ctx: Ctx) -> dict[str, Any]:
    """End a live session on whichever node holds it; the user's banner names who ended it."""
    row = await ctx.get(Session)
    if row.status == "ended":
        raise Conflict("This session has already ended.")
    assert ctx.principal is not None
    by = ctx.principal.user.name or ctx.principal.user.username
    here = await request_kill(ctx.services, row.id, by)
    await ctx.audit("terminate", "session", row, name=row.asset_name)
    return {"id": str(row.id), "requested": True, "stopped_here": here}


routes = [
    endpoint("/sessions", list_sessions, perm="sessions.view"),
    endpoint("/sessions/{id}", get_session, perm="sessions.view"),
    endpoint("/sessions/{id}/recording", get_recording, perm="sessions.view"),
    endpoint("/sessions/{id}/transfers", list_transfers, perm="sessions.view"),
    endpoint("/sessions/{id}/terminate", terminate, ["POST"], perm="sessions.terminate"),
]
