"""The target → browser half of the data path.

Whole buffers from ``channel.read`` go to the taps and then to the client as they are:
no decoding, no JSON, no per-byte loop. ``send`` awaiting is the back-pressure: while
the browser is slow the pump stops reading, and the connector stops reading the target.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from webgate.terminal.channel import Channel
from webgate.terminal.taps import Taps


class ClientGone(Exception):
    """Sending to the browser failed: it closed or the network dropped."""


async def pump_output(channel: Channel, taps: Taps, send: Callable[[bytes], Awaitable[None]]) -> None:
    """Copy target output to the client until the target is done (returns) or sending fails (raises)."""
    while data := await channel.read():
        taps.output(data)  # a mandatory tap failing raises TapFailed and ends the session
        try:
            await send(data)
        except Exception as exc:
            raise ClientGone() from exc
