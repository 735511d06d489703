"""How a browser left a terminal or desktop, from the socket layer's disconnect message (ws/_common.py)."""

from __future__ import annotations

from typing import Any

import pytest

from webgate.ws._common import disconnect_ending


@pytest.mark.parametrize(("message", "reason"), [
    ({"code": 1000, "reason": ""}, "client_closed"),  # a tab closed, "disconnect" pressed
    ({"code": 1001, "reason": ""}, "client_closed"),  # the page navigated away
    ({"code": 1005, "reason": ""}, "client_closed"),  # a close frame without a code: still a goodbye
    ({"code": 1005}, "client_gone"),  # uvicorn's sans-I/O protocol: the TCP connection dropped
    ({"code": 1006, "reason": ""}, "client_gone"),  # other servers' abnormal closure
    ({"code": 1009, "reason": ""}, "protocol_error"),  # a frame over the size limit
])
def test_a_closing_handshake_is_closed_and_a_dropped_connection_is_gone(message: dict[str, Any], reason: str) -> None:
    assert disconnect_ending({"type": "websocket.disconnect", **message}).reason == reason
