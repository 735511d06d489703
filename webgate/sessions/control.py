"""Ending a live session from any node: a kill request is published on the bus, and the
node that holds the session (its registry) stops it.

The request carries only the session id and the name of who asked; authorisation
happened at the API before publishing, and the holder checks the id against its own
registry (an unknown id is ignored).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import TYPE_CHECKING

from webgate.sessions.endings import ending_for
from webgate.sessions.registry import live_sessions

if TYPE_CHECKING:
    from webgate.services import Services

log = logging.getLogger("webgate.sessions")

KILL_CHANNEL = "sessions:kill"


async def request_kill(services: Services, session_id: uuid.UUID, by: str) -> bool:
    """Stop the session here if this node holds it, else ask every node. True if stopped here."""
    local = live_sessions(services).get(session_id)
    if local is not None:
        await local.stop(ending_for("killed", by=by))
        return True
    await services.bus.publish(KILL_CHANNEL, json.dumps({"id": str(session_id), "by": by}).encode())
    return False


async def listen_for_kills(services: Services, ready: asyncio.Event | None = None) -> None:
    """Runs for the node's lifetime (started by the app lifespan)."""
    async with services.bus.subscribe(KILL_CHANNEL) as messages:
        if ready is not None:
            ready.set()
        async for raw in messages:
            try:
                msg = json.loads(raw)
                session = live_sessions(services).get(uuid.UUID(msg["id"]))
                by = str(msg.get("by", "an administrator"))[:128]
            except (ValueError, KeyError, TypeError):
                log.warning("ignored a malformed kill request on the bus")
                continue
            if session is not None:
                await session.stop(ending_for("killed", by=by))
