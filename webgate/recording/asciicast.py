"""Terminal recordings in asciicast v2, written while the session runs.

Events go to a spool file on local disk as they happen and are flushed at least every
second (on the next event or the session's one-second tick), so a crashed gateway
loses at most a second. On ``finalize`` the file is gzipped, hashed and handed to the
storage layer under a key derived from the session id (never from user input).

Terminal bytes are decoded with an incremental UTF-8 decoder per direction: a
character split across two reads is joined, never replaced. Invalid bytes become
U+FFFD only in the recording; the live stream is passed through untouched.
"""

from __future__ import annotations

import asyncio
import codecs
import gzip
import hashlib
import json
import logging
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from webgate.recording.storage import Storage

log = logging.getLogger("webgate.recording")

FLUSH_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Finished:
    key: str
    sha256: str
    size: int


class Recorder(Protocol):
    """A passive tap on a terminal stream that ends as a stored recording (or nothing)."""

    def output(self, data: bytes) -> None: ...
    def input(self, data: bytes) -> None: ...
    def resize(self, cols: int, rows: int) -> None: ...
    def flush(self) -> None: ...
    async def finalize(self) -> Finished | None: ...


class NullRecorder:
    """Recording switched off: every call does nothing (no branches in callers)."""

    def output(self, data: bytes) -> None:
        return None

    def input(self, data: bytes) -> None:
        return None

    def resize(self, cols: int, rows: int) -> None:
        return None

    def flush(self) -> None:
        return None

    async def finalize(self) -> Finished | None:
        return None


def recording_key(session_id: uuid.UUID) -> str:
    return f"terminal/{session_id.hex[:2]}/{session_id}.cast.gz"


def _gzip_and_hash(src: Path, dest: Path) -> tuple[str, int]:
    with src.open("rb") as fin, gzip.open(dest, "wb", compresslevel=3) as fout:
        shutil.copyfileobj(fin, fout, 256 * 1024)
    digest = hashlib.sha256()
    with dest.open("rb") as fh:
        for block in iter(lambda: fh.read(256 * 1024), b""):
            digest.update(block)
    return digest.hexdigest(), dest.stat().st_size


class AsciicastRecorder:
    def __init__(self, *, session_id: uuid.UUID, spool_dir: Path, storage: Storage, cols: int, rows: int,
                 started_at: float, monotonic: Callable[[], float], record_input: bool = False,
                 title: str = "") -> None:
        spool_dir.mkdir(parents=True, exist_ok=True)
        self._id = session_id
        self._path = spool_dir / f"{session_id}.cast"
        self._storage = storage
        self._mono = monotonic
        self._start = monotonic()
        self._last_flush = self._start
        self._record_input = record_input
        self._out = codecs.getincrementaldecoder("utf-8")("replace")
        self._in = codecs.getincrementaldecoder("utf-8")("replace")
        self._fh: IO[str] | None = self._path.open("w", encoding="utf-8", newline="\n")
        header = {"version": 2, "width": cols, "height": rows, "timestamp": int(started_at),
                  "env": {"TERM": "xterm-256color"}, "title": title}
        self._fh.write(json.dumps(header, ensure_ascii=False) + "\n")
        self._fh.flush()

    def _event(self, code: str, text: str) -> None:
        if self._fh is None or not text:
            return
        now = self._mono()
        self._fh.write(json.dumps([round(now - self._start, 6), code, text], ensure_ascii=False) + "\n")
        if now - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def output(self, data: bytes) -> None:
        self._event("o", self._out.decode(data))

    def input(self, data: bytes) -> None:
        if self._record_input:
            self._event("i", self._in.decode(data))

    def resize(self, cols: int, rows: int) -> None:
        self._event("r", f"{cols}x{rows}")

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            self._last_flush = self._mono()

    async def finalize(self) -> Finished | None:
        """Close, gzip, hash and store the recording; safe to call twice."""
        if self._fh is None:
            return None
        self._event("o", self._out.decode(b"", final=True))
        self._fh.close()
        self._fh = None
        packed = self._path.with_suffix(".cast.gz")
        sha, size = await asyncio.to_thread(_gzip_and_hash, self._path, packed)
        key = recording_key(self._id)
        await self._storage.put_file(key, packed)
        self._path.unlink(missing_ok=True)
        packed.unlink(missing_ok=True)
        return Finished(key=key, sha256=sha, size=size)


def _complete_lines(path: Path) -> None:
    """Cut a spool file back to its last whole line: a crash may have left half an event."""
    with path.open("rb+") as fh:
        data = fh.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            fh.truncate(end)


async def collect_spool(session_id: uuid.UUID, spool_dir: Path, storage: Storage) -> Finished | None:
    """Store the spool file a crashed gateway left for a session, as ``finalize`` would have; None if none."""
    path = spool_dir / f"{session_id}.cast"
    if not path.is_file():
        return None
    await asyncio.to_thread(_complete_lines, path)
    packed = path.with_suffix(".cast.gz")
    sha, size = await asyncio.to_thread(_gzip_and_hash, path, packed)
    key = recording_key(session_id)
    await storage.put_file(key, packed)
    path.unlink(missing_ok=True)
    packed.unlink(missing_ok=True)
    return Finished(key=key, sha256=sha, size=size)
