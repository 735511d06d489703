"""File transfers through a desktop's shared drive, one ``FileTransfer`` row and one audit event per file.

guacd moves the files; the gateway watches the streams that carry them, in both directions,
and records what actually passed:

- upload: the browser's ``put`` (into a folder of the drive) or ``file`` (dropped on the
  desktop: guacd writes it to the drive's root), its ``blob``s and ``end``; guacd answers
  each with an ``ack`` whose non-zero status means it refused or failed the write.
- download: the browser's ``get`` on the drive object; guacd answers with a ``body`` stream
  (a directory listing is a ``body`` too, of guacd's stream-index type, and is no transfer),
  its ``blob``s and ``end``. The browser's ``ack`` with a non-zero status aborts it. guacd may
  also push a file the remote side put in the drive's ``Download`` folder, as a ``file`` stream.

``size`` counts the bytes that passed the gateway (decoded from base64), so a broken or refused
transfer shows how far it got. The guacd→browser side is only looked at when a transfer is
under way or the batch holds a ``body``/``file`` instruction, so drawing is relayed as before.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from webgate.db.models import FileTransfer, Session
from webgate.protocols.guacamole.handshake import Connected
from webgate.protocols.guacamole.instruction import InstructionError, parse_one
from webgate.protocols.guacamole.relay import instruction_end, split_complete
from webgate.services import Services
from webgate.sessions.lifecycle import _audit

log = logging.getLogger("webgate.sessions")

LISTING = "application/vnd.glyptodon.guacamole.stream-index+json"
MAX_PATH = 1024
_WATCH = (b"4.body,", b"4.file,", b"4.blob,", b"3.end,", b"3.ack,")
DRIVE_TRIES = 3  # guacd connections tried for a session whose drive guacd keeps not offering
OFFER_WITHIN = 5.0  # seconds to wait for guacd's first `filesystem` or `size`


def base64_size(data: str) -> int:
    """Bytes a base64 text decodes to, without decoding it."""
    return len(data) * 3 // 4 - (2 if data.endswith("==") else 1 if data.endswith("=") else 0)


def _index(value: str) -> int:
    """A stream index, or -1 (never a key) for anything else."""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 8 else -1


@dataclass
class _Open:
    row: FileTransfer
    size: int = 0
    extra: dict[str, str] = field(default_factory=dict)


class Transfers:
    """The file streams of one desktop session (the drive is enabled only with upload/download)."""

    def __init__(self, services: Services, session: Session) -> None:
        self.services = services
        self.session = session
        self.uploads: dict[int, _Open] = {}  # by the browser's stream index
        self.downloads: dict[int, _Open] = {}  # by guacd's stream index

    # -- browser → guacd (already allowed by the permission's filter) -------------------

    async def from_browser(self, instruction: list[str]) -> None:
        opcode, args = instruction[0], instruction[1:]
        if opcode == "put" and len(args) == 4:
            await self._start(self.uploads, args[1], "upload", args[3])
        elif opcode == "file" and len(args) == 3:
            await self._start(self.uploads, args[0], "upload", "/" + args[2])  # guacd: the drive's root
        elif opcode == "blob" and len(args) == 2:
            if (up := self.uploads.get(_index(args[0]))) is not None:
                up.size += base64_size(args[1])
        elif opcode == "end" and len(args) == 1:
            if (up := self.uploads.pop(_index(args[0]), None)) is not None:
                await self._finish(up, "done")
        elif opcode == "ack" and len(args) == 3 and args[2] != "0":  # the browser gave up a download
            if (down := self.downloads.pop(_index(args[0]), None)) is not None:
                await self._finish(down, "failed")

    async def refused(self, instruction: list[str]) -> None:
        """A file instruction the permission did not allow: recorded, then the session closes."""
        opcode, args = instruction[0], instruction[1:]
        paths = {"put": (4, 3, "upload"), "file": (3, 2, "upload"), "get": (2, 1, "download")}
        if opcode not in paths or len(args) != paths[opcode][0]:
            return
        _, at, direction = paths[opcode]
        path = args[at] if opcode != "file" else "/" + args[at]
        row = await self._create(direction, path, "refused")
        row.ended_at = row.started_at
        await FileTransfer.filter(id=row.id).update(ended_at=row.ended_at)
        await self._audit(row, 0)

    # -- guacd → browser ---------------------------------------------------------------

    async def from_guacd(self, batch: bytes) -> None:
        """Look at a batch of whole instructions guacd sent, only if it can matter."""
        if not (self.uploads or self.downloads) and b"4.body," not in batch and b"4.file," not in batch:
            return
        _, starts = split_complete(batch)
        for start in starts:
            if not batch.startswith(_WATCH, start):
                continue
            end = instruction_end(batch, start)
            try:
                instruction = parse_one(batch[start:end].decode("utf-8"), max_chars=1 << 22)
            except (InstructionError, UnicodeDecodeError):
                continue  # the relay reports a broken guacd stream itself
            await self._from_guacd(instruction[0], instruction[1:])

    async def _from_guacd(self, opcode: str, args: list[str]) -> None:
        if opcode == "body" and len(args) == 4 and args[2] != LISTING:
            await self._start(self.downloads, args[1], "download", args[3])
        elif opcode == "file" and len(args) == 3:  # pushed from the drive's Download folder
            await self._start(self.downloads, args[0], "download", "/Download/" + args[2])
        elif opcode == "blob" and len(args) == 2:
            if (down := self.downloads.get(_index(args[0]))) is not None:
                down.size += base64_size(args[1])
        elif opcode == "end" and len(args) == 1:
            if (down := self.downloads.pop(_index(args[0]), None)) is not None:
                await self._finish(down, "done")
        elif opcode == "ack" and len(args) == 3 and args[2] != "0":  # guacd refused or failed a write
            if (up := self.uploads.pop(_index(args[0]), None)) is not None:
                up.extra["error"] = args[1][:200]
                await self._finish(up, "failed")

    # -- rows ----------------------------------------------------------------------------

    async def _start(self, streams: dict[int, _Open], index: str, direction: str, path: str) -> None:
        number = _index(index)
        if number < 0:
            return
        if (stale := streams.pop(number, None)) is not None:  # a reused index: the old one never ended
            await self._finish(stale, "failed")
        streams[number] = _Open(await self._create(direction, path, "started"))

    async def _create(self, direction: str, path: str, status: str) -> FileTransfer:
        row = self.session
        return await FileTransfer.create(
            org_id=row.org_id, session_id=row.id, username=row.username, asset_name=row.asset_name,
            protocol=row.protocol, direction=direction, path=path[:MAX_PATH], status=status,
            started_at=self.services.clock.now())

    async def _finish(self, transfer: _Open, status: str) -> None:
        row = transfer.row
        row.size, row.status, row.ended_at = transfer.size, status, self.services.clock.now()
        try:
            await FileTransfer.filter(id=row.id).update(size=row.size, status=status, ended_at=row.ended_at)
            await self._audit(row, transfer.size, transfer.extra)
        except Exception:
            log.exception("session %s: a file transfer row could not be finalised", self.session.id)

    async def _audit(self, row: FileTransfer, size: int, extra: dict[str, str] | None = None) -> None:
        await _audit(self.services, self.session, f"file_{row.direction}",
                     {"path": row.path, "size": size, "status": row.status, **(extra or {})})

    async def close(self) -> None:
        """The session ended: whatever is still moving did not finish."""
        for streams in (self.uploads, self.downloads):
            while streams:
                _, transfer = streams.popitem()
                await self._finish(transfer, "failed")


async def drive_offered(connected: Connected, max_held: int) -> bool:
    """Did guacd offer the shared drive on this connection?

    guacd 1.3.0 offers it (``filesystem``) to the connection's owner from its RDP thread, before
    that thread draws anything, racing the owner's own registration: about one connection in
    eight here loses and never gets it, and the person has no file browser. False only when
    guacd's first ``size`` came without it; an error, a hang-up or silence is left to the rest
    of the session to report (True). What was read stays in ``connected.pending``.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + OFFER_WITHIN
    while True:
        _, starts = split_complete(connected.pending)
        for start in starts:
            if connected.pending.startswith((b"10.filesystem,", b"5.error,"), start):
                return True
            if connected.pending.startswith(b"4.size,", start):
                return False
        remaining = deadline - loop.time()
        if remaining <= 0 or len(connected.pending) > max_held:
            return True
        try:
            async with asyncio.timeout(remaining):
                data = await connected.reader.read(1 << 16)
        except TimeoutError:
            return True
        if not data:
            return True
        connected.pending += data
