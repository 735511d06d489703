"""Why a TCP dial to an asset failed, in words a person can act on; shared by connectors.

Every connector that opens a socket fails in the same few ways (no answer, no such
name, refused or unroutable); they should say so in the same sentences.
"""

from __future__ import annotations

import os
import socket

from webgate.terminal.channel import ConnectFailed


def dial_failed(exc: BaseException, host: str, port: int, timeout: float) -> ConnectFailed:
    """The ``ConnectFailed`` for an exception raised while opening a TCP connection."""
    where = f"{host}:{port}"
    if isinstance(exc, TimeoutError):
        return ConnectFailed(f"{where} did not answer within {timeout:.0f} seconds. "
                             "The asset may be down or a firewall may block it.", code="target_timeout")
    if isinstance(exc, socket.gaierror):
        return ConnectFailed(f"The address '{host}' could not be resolved. Ask your admin to check the asset.",
                             code="target_unreachable")
    # asyncio words a refusal as "Connect call failed (…)": name the errno instead.
    errno = getattr(exc, "errno", None)
    reason = os.strerror(errno) if errno else (getattr(exc, "strerror", None) or type(exc).__name__)
    return ConnectFailed(f"Could not reach {where} ({reason.lower()}). The asset may be down, "
                         "or the address or port may be wrong.", code="target_unreachable")
