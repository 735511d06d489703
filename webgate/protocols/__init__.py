"""The one registry of protocol connectors: name → import string, loaded on first use.

Only modules in this package know a wire protocol. A terminal connector is an async
callable ``open(target: Target) -> Channel``; a desktop connector is
``plan(target: DesktopTarget) -> DesktopPlan`` (guacd's parameters for one guacd
protocol). Adding a protocol is one module and one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from webgate.errors import ValidationFailed
from webgate.protocols.guacamole.target import DesktopPlan, DesktopTarget
from webgate.terminal.channel import Channel, Target

Connector = Callable[[Target], Awaitable[Channel]]
DesktopConnector = Callable[[DesktopTarget], Awaitable[DesktopPlan]]

TERMINAL_CONNECTORS: dict[str, str] = {
    "ssh": "webgate.protocols.ssh:open_channel",
    "k8s": "webgate.protocols.kubernetes:open_channel",
    "telnet": "webgate.protocols.telnet:open_channel",
}


# Desktop protocols: ``async plan(DesktopTarget) -> DesktopPlan`` (protocols/guacamole/target.py).
DESKTOP_CONNECTORS: dict[str, str] = {
    "vnc": "webgate.protocols.vnc:plan",
    "remoteapp": "webgate.protocols.remoteapp:plan",
    "rdp": "webgate.protocols.rdp:plan",
}


def desktop_connector(name: str) -> DesktopConnector:
    """The guacd parameter planner for a desktop protocol, imported lazily."""
    return _load(DESKTOP_CONNECTORS, name, "This protocol cannot be opened as a remote desktop here")


def _load(registry: dict[str, str], name: str, refusal: str) -> Any:
    spec = registry.get(name)
    if spec is None:
        known = ", ".join(sorted(registry))
        raise ValidationFailed({"protocol": f"{refusal} (supported: {known})."})
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def terminal_connector(name: str) -> Connector:
    """The connector for a terminal protocol, imported lazily (asyncssh loads only when used)."""
    return _load(TERMINAL_CONNECTORS, name, "This protocol cannot be opened in a terminal here")
