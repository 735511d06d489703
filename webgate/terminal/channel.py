"""The seam every terminal-like connector implements, and what it needs to dial.

A connector turns a ``Target`` into a ``Channel``; it knows only its wire protocol.
Everything else (authorisation, the session row, recording, the input gate, timeouts)
hangs on the live session around the channel, so a new protocol is one module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from webgate.errors import WebgateError


@dataclass(frozen=True, slots=True)
class Target:
    """Where and as whom to connect. Holds a decrypted secret: never log or serialise it."""

    host: str
    port: int
    username: str
    password: str | None = None
    private_key: str | None = None
    passphrase: str | None = None
    cols: int = 80
    rows: int = 24
    # The SSH host key recorded for this asset (OpenSSH one-line form), or None on first use.
    known_host_key: str | None = None
    asset_name: str = ""
    # The asset's address as the admin wrote it, when ``host`` is the checked IP dialled instead.
    server_name: str = ""
    options: dict[str, object] = field(default_factory=dict)

    def __repr__(self) -> str:  # a Target must never print its secrets into a log or traceback
        return f"Target({self.username}@{self.host}:{self.port})"


class Channel(Protocol):
    """A live terminal stream to a target.

    ``read`` returns whatever bytes are available (large reads, never split on
    characters: decoding is the reader's business) and ``b""`` once the target is done;
    ``write`` may wait (back-pressure) but never drops; ``close`` is idempotent.
    ``exit_status`` is the remote exit code once known; ``host_key`` is the key the
    target presented, for connectors that have one (recorded on first use).
    """

    exit_status: int | None
    host_key: str | None

    async def read(self) -> bytes: ...

    async def write(self, data: bytes) -> None: ...

    async def resize(self, cols: int, rows: int) -> None: ...

    async def close(self) -> None: ...


class ConnectFailed(WebgateError):
    """The target could not be reached or refused us; the message says which and what to do."""

    status, code, ws_close = 502, "connect_failed", 4502
    message = "Could not connect to the asset. Try again; if it persists, tell your admin."
