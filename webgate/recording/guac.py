"""Graphical recordings: the gateway records what it relays, in Guacamole protocol text.

Every instruction guacd sends passes the relay in whole-instruction batches; the recorder
appends those batches to a spool file as they pass, plus the browser's ``key`` and
``mouse`` input (guacd's own recordings carry them too, so a player shows the pointer and
can list the keys). This is guacd's recording format without asking guacd to write it:

- guacd 1.3.0 writes its recording synchronously in the thread that draws: with it on,
  a full-screen redraw ran ~25% slower (bench/desktop.py); the gateway's append is a
  ``list.append`` per batch and one ``writev`` per 256 KiB or per second;
- nothing the browser was shown can be missing from the recording, with no race to prove
  that guacd's file exists before the first frame, and guacd needs no shared volume.

Pending batches are written at least every second (the session's tick), so a crashed
gateway loses at most a second; the spool then holds whole instructions up to its last
write, and ``collect_spool`` cuts anything after the last whole one. The finished spool is
gzipped (ISA-L), hashed and stored under a key derived from the session id only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from webgate.protocols.guacamole.instruction import InstructionError
from webgate.protocols.guacamole.relay import split_complete
from webgate.recording.asciicast import Finished, _gzip_and_hash, _remove, _write_all
from webgate.recording.storage import Storage

log = logging.getLogger("webgate.recording")

WRITE_AT = 256 * 1024  # pending bytes written at once, without waiting for the tick
RECORDED_INPUT = (b"3.key,", b"5.mouse,")  # the browser's instructions a recording keeps
_BLOCK = 1 << 20


def guac_spool_dir(data_dir: Path) -> Path:
    return data_dir / "spool" / "guacamole"


def _spool_path(spool_dir: Path, session_id: uuid.UUID) -> Path:
    return spool_dir / f"{session_id}.guac"


def guac_recording_key(session_id: uuid.UUID) -> str:
    return f"guacamole/{session_id.hex[:2]}/{session_id}.guac.gz"


class GuacRecorder:
    """The Recorder seam for a desktop: a tap on the relay (output: whole instructions from
    guacd; input: one encoded browser instruction at a time)."""

    # One per live session, alive all day: no __dict__.
    __slots__ = ("_id", "_path", "_storage", "_wall", "_pending", "_pending_size", "_fd")

    def __init__(self, *, session_id: uuid.UUID, spool_dir: Path, storage: Storage,
                 wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        spool_dir.mkdir(parents=True, exist_ok=True)
        self._id = session_id
        self._path = str(_spool_path(spool_dir, session_id))
        self._storage = storage
        self._wall = wall_ms
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._fd: int | None = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)

    def _add(self, data: bytes) -> None:
        if self._fd is None:
            return
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= WRITE_AT:
            self.flush()

    def output(self, data: bytes) -> None:
        self._add(data)

    def input(self, data: bytes) -> None:
        """Keys and pointer moves, stamped as guacd stamps them (its ``key``/``mouse`` recording
        instructions end with the time in milliseconds)."""
        if data.startswith(RECORDED_INPUT) and data.endswith(b";"):
            stamp = str(self._wall())
            self._add(b"%b,%d.%b;" % (data[:-1], len(stamp), stamp.encode()))

    def resize(self, cols: int, rows: int) -> None:
        return None  # guacd's own ``size`` instructions are in the output

    def flush(self) -> None:
        """Write what is pending: from then on a crash of the gateway loses none of it."""
        if self._fd is None or not self._pending:
            return
        pending, self._pending = self._pending, []
        self._pending_size = 0
        _write_all(self._fd, pending)

    async def finalize(self) -> Finished | None:
        """Close the spool and store it gzipped as the recording; safe to call twice."""
        if self._fd is None:
            return None
        try:
            self.flush()
        finally:
            os.close(self._fd)
            self._fd = None
        return await _store(self._id, Path(self._path), self._storage)


async def _store(session_id: uuid.UUID, spool: Path, storage: Storage) -> Finished | None:
    packed = spool.with_name(spool.name + ".gz")
    try:
        if not await asyncio.to_thread(os.path.getsize, spool):
            return None
        sha, size = await asyncio.to_thread(_gzip_and_hash, spool, packed)
        key = guac_recording_key(session_id)
        await storage.put_file(key, packed)
        return Finished(key=key, sha256=sha, size=size)
    finally:
        await asyncio.to_thread(_remove, spool, packed)


def _cut_to_whole_instructions(path: Path) -> int:
    """Truncate a spool after its last whole instruction (a crash may have cut one short); its size.

    Parsed from the start, not searched backwards: a ``;`` inside an element (a window title
    the target chose) is data, not the end of an instruction.
    """
    good = 0
    with path.open("rb+") as fh:
        rest = b""
        while block := fh.read(_BLOCK):
            data = rest + block
            try:
                done, _ = split_complete(data)
            except InstructionError:
                break
            good += done
            rest = data[done:]
        fh.truncate(good)
    return good


async def collect_spool(session_id: uuid.UUID, spool_dir: Path, storage: Storage) -> Finished | None:
    """Store the spool a crashed gateway left for a desktop session, as ``finalize`` would have."""
    path = _spool_path(spool_dir, session_id)
    if not path.is_file():
        return None
    await asyncio.to_thread(_cut_to_whole_instructions, path)
    return await _store(session_id, path, storage)
