"""What every session WebSocket does the same way, whatever its protocol."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from starlette.websockets import WebSocket

from webgate.api._base import origin_allowed
from webgate.auth.principal import Principal
from webgate.errors import ValidationFailed
from webgate.services import Services
from webgate.sessions.endings import Ending, ending_for

log = logging.getLogger("webgate.ws")


def cross_site(websocket: WebSocket, services: Services, principal: Principal | None) -> bool:
    """Cross-site WebSocket hijacking: a cookie session must come from our own pages."""
    origin = websocket.headers.get("origin")
    if origin is not None:
        return not origin_allowed(origin, websocket.headers.get("host", ""), services)
    return principal is not None and principal.via_cookie


# Close codes the server's WebSocket layer sends when the *browser* broke the protocol
# (1002 protocol error, 1007 invalid UTF-8 in a text frame, 1009 a frame over the size limit).
_BROKEN_BY_CLIENT = frozenset({1002, 1007, 1009})


def disconnect_ending(message: Mapping[str, Any]) -> Ending:
    """A ``websocket.disconnect``: how the browser left, or that the socket layer threw it out.

    A closing handshake (a tab closed, "disconnect" pressed) is ``client_closed``; a
    connection that dropped without one is ``client_gone`` ("network lost"): uvicorn says
    1006, or (its default sans-I/O protocol) 1005 without a ``reason``, only for the latter
    (pinned by tests/unit/test_ws_disconnect.py). Bad frames are ``protocol_error``."""
    code = message.get("code")
    if code in _BROKEN_BY_CLIENT:
        return ending_for("protocol_error")
    if code == 1006 or (code == 1005 and "reason" not in message):
        return ending_for("client_gone")
    return ending_for("client_closed")


def reader_ending(reader: asyncio.Task[Ending], what: str) -> Ending:
    """Why the browser's side ended: closed, broke, or said so itself."""
    if reader.cancelled():
        return ending_for("client_closed")
    if reader.exception() is not None:
        log.error("%s input failed", what, exc_info=reader.exception())
        return ending_for("error")
    return reader.result()


def query_int(value: str, default: int, name: str, upper: int) -> int:
    if not value:
        return default
    if not value.isdigit() or not 1 <= int(value) <= upper:
        raise ValidationFailed({name: f"must be a whole number from 1 to {upper}"})
    return int(value)
