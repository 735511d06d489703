"""Live sessions held by this node, by session id.

Kept on the one ``Services`` object (no module-level state); the bus will later make
these reachable from other nodes (monitor, join, kill).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from webgate.services import Services
    from webgate.sessions.lifecycle import LiveSession


class Registry:
    def __init__(self) -> None:
        self._live: dict[uuid.UUID, LiveSession] = {}

    def add(self, session: LiveSession) -> None:
        self._live[session.id] = session

    def remove(self, session: LiveSession) -> None:
        if self._live.get(session.id) is session:
            del self._live[session.id]

    def get(self, session_id: uuid.UUID) -> LiveSession | None:
        return self._live.get(session_id)

    def __len__(self) -> int:
        return len(self._live)

    def __iter__(self) -> Iterator[LiveSession]:
        return iter(list(self._live.values()))


def live_sessions(services: Services) -> Registry:
    """This node's registry, created on first use and kept with the services."""
    registry = services.extras.get("live_sessions")
    if registry is None:
        registry = services.extras["live_sessions"] = Registry()
    return registry  # type: ignore[no-any-return]
