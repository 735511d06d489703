"""The one registry of protocol connectors: name → import string, loaded on first use.

Only modules in this package know a wire protocol. A connector is an async callable
``open(target: Target) -> Channel``; adding a protocol is one module and one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable

from webgate.errors import ValidationFailed
from webgate.terminal.channel import Channel, Target

Connector = Callable[[Target], Awaitable[Channel]]

TERMINAL_CONNECTORS: dict[str, str] = {
    "ssh": "webgate.protocols.ssh:open_channel",
    "k8s": "webgate.protocols.kubernetes:open_channel",
    "telnet": "webgate.protocols.telnet:open_channel",
}


def terminal_connector(name: str) -> Connector:
    """The connector for a terminal protocol, imported lazily (asyncssh loads only when used)."""
    spec = TERMINAL_CONNECTORS.get(name)
    if spec is None:
        known = ", ".join(sorted(TERMINAL_CONNECTORS))
        raise ValidationFailed({"protocol": f"This protocol cannot be opened in a terminal here (supported: {known})."})
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]
