"""The seam between the graphical session lifecycle and a desktop protocol module.

A desktop connector (``protocols/vnc.py``, ``rdp.py``, ``remoteapp.py``) is
``async plan(target: DesktopTarget) -> DesktopPlan``: it turns what the lifecycle has
already decided (the checked address, the decrypted secret, the permission's actions,
the browser's display) into guacd's parameter names for one guacd protocol. It knows
nothing of session rows, recording or audit: the lifecycle adds the recording
parameters itself and closes whatever the plan says must be released (a RemoteApp
display) on every kind of end, including a failed handshake.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from webgate.protocols.guacamole.handshake import Display
from webgate.settings import Settings


@dataclass(frozen=True)
class DesktopTarget:
    session_id: uuid.UUID
    protocol: str  # what the browser asked for: vnc | rdp | remoteapp
    address: str  # the IP the target address policy checked: the only address a connector may dial
    port: int
    username: str
    password: str | None = field(repr=False)
    actions: frozenset[str]
    options: Mapping[str, Any]  # the asset's settings, then the browser's checked choices
    display: Display
    settings: Settings
    asset_name: str = ""
    read_only: bool = False


Release = Callable[[], Awaitable[None]]


@dataclass
class DesktopPlan:
    protocol: str  # the guacd protocol to ``select``: vnc | rdp
    params: dict[str, str] = field(repr=False)
    release: Release | None = None  # undo what ``plan`` started (e.g. an app-host display)


def flag(value: object) -> str:
    """guacd's booleans: "true" or empty."""
    return "true" if value is True or str(value).lower() in ("true", "1", "yes", "on") else ""
