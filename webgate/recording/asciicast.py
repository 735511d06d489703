"""Terminal recordings in asciicast v2, written while the session runs.

Events go to a spool file on local disk as they happen and are flushed at least every
second (on the next event or the session's one-second tick), so a crashed gateway
loses at most a second. Each flush is written as one gzip member: the spool is already
the finished ``.cast.gz`` (a gzip file may hold many members; every reader joins them),
hashed as it is written, so ``finalize`` only hands it to the storage layer under a key
derived from the session id (never from user input). A crash can cut the last member
short; ``collect_spool`` keeps the whole members before it.

Cost matters here: every byte a user sees passes through this file, and recording must
cost less than relaying it (bench/terminal.py). So an event is one ``orjson.dumps``
(escaping in native code, straight to UTF-8 bytes), small events wait in a list until
the flush (an idle session holds no buffer and no compressor), and compression is
ISA-L's gzip, ~10x faster than zlib's, done once per byte with nothing read back.

Terminal bytes are decoded with an incremental UTF-8 decoder per direction: a
character split across two reads is joined, never replaced. Invalid bytes become
U+FFFD only in the recording; the live stream is passed through untouched.
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import logging
import os
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import orjson
from isal import isal_zlib

from webgate.recording.storage import Storage

log = logging.getLogger("webgate.recording")

FLUSH_SECONDS = 1.0
WRITE_AT = 64 * 1024  # pending event bytes written at once (one gzip member), without waiting for the flush
GZIP_LEVEL = 1  # ISA-L level 1: ~0.74 of the size on base64-like output, terminal text far smaller
_GZIP = 16 + zlib.MAX_WBITS  # wbits: a gzip container
_BLOCK = 1 << 20


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


def _spool_path(spool_dir: Path, session_id: uuid.UUID) -> Path:
    return spool_dir / f"{session_id}.cast.gz"


def _gzip_and_hash(src: Path, dest: Path) -> tuple[str, int]:
    """Gzip a finished file (ISA-L) into ``dest``, hashing what is written in the same pass; (sha256, size)."""
    digest = hashlib.sha256()
    size = 0
    packer = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, _GZIP)
    with src.open("rb", buffering=0) as fin, dest.open("wb", buffering=0) as fout:
        while block := fin.read(_BLOCK):
            size += _write_hashed(fout, digest, packer.compress(block))
        size += _write_hashed(fout, digest, packer.flush())
    return digest.hexdigest(), size


def _write_hashed(out: BinaryIO, digest: hashlib._Hash, data: bytes) -> int:
    if data:
        digest.update(data)
        out.write(data)
    return len(data)


def _remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


class AsciicastRecorder:
    # One per live session, alive all day: no __dict__.
    __slots__ = ("_id", "_path", "_storage", "_mono", "_start", "_last_flush", "_out", "_in", "_pending",
                 "_pending_size", "_sha", "_size", "_fd")

    def __init__(self, *, session_id: uuid.UUID, spool_dir: Path, storage: Storage, cols: int, rows: int,
                 started_at: float, monotonic: Callable[[], float], record_input: bool = False,
                 title: str = "") -> None:
        spool_dir.mkdir(parents=True, exist_ok=True)
        self._id = session_id
        self._path = str(_spool_path(spool_dir, session_id))  # a str: a Path object costs ~0.4 KiB per session
        self._storage = storage
        self._mono = monotonic
        self._start = monotonic()
        self._last_flush = self._start
        self._out = codecs.getincrementaldecoder("utf-8")("replace")
        self._in = codecs.getincrementaldecoder("utf-8")("replace") if record_input else None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._sha = hashlib.sha256()
        self._size = 0
        self._fd: int | None = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        header = {"version": 2, "width": cols, "height": rows, "timestamp": int(started_at),
                  "env": {"TERM": "xterm-256color"}, "title": title}
        self._pending.append(orjson.dumps(header) + b"\n")
        self.flush()

    def _event(self, code: str, text: str) -> None:
        if self._fd is None or not text:
            return
        now = self._mono()
        line = orjson.dumps([round(now - self._start, 6), code, text]) + b"\n"
        self._pending.append(line)
        self._pending_size += len(line)
        if self._pending_size >= WRITE_AT or now - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def output(self, data: bytes) -> None:
        self._event("o", self._out.decode(data))

    def input(self, data: bytes) -> None:
        if self._in is not None:
            self._event("i", self._in.decode(data))

    def resize(self, cols: int, rows: int) -> None:
        self._event("r", f"{cols}x{rows}")

    def flush(self) -> None:
        """Write what is pending as one gzip member: from then on a crash of the gateway loses none of it."""
        if self._fd is not None and self._pending:
            data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
            member = isal_zlib.compress(data, GZIP_LEVEL, _GZIP)
            self._sha.update(member)
            self._size += len(member)
            view = memoryview(member)
            while view:
                view = view[os.write(self._fd, view):]
        self._last_flush = self._mono()

    async def finalize(self) -> Finished | None:
        """Close the spool and store it as the recording; safe to call twice."""
        if self._fd is None:
            return None
        self._event("o", self._out.decode(b"", final=True))
        self.flush()
        os.close(self._fd)
        self._fd = None
        key = recording_key(self._id)
        spool = Path(self._path)
        await self._storage.put_file(key, spool)
        await asyncio.to_thread(_remove, spool)
        return Finished(key=key, sha256=self._sha.hexdigest(), size=self._size)


def _whole_members(path: Path) -> tuple[str, int]:
    """Cut a spool back to its last whole gzip member (a crash may have cut one short); (sha256, size).

    Every member holds whole event lines, so what is left replays as it was recorded.
    """
    good = 0  # where the last whole member ends
    with path.open("rb+") as fh:
        unpack, end = zlib.decompressobj(_GZIP), 0
        while block := fh.read(_BLOCK):
            end += len(block)  # ``data`` below is always a tail of this block, so it ends here too
            data = block
            try:
                while data:
                    unpack.decompress(data, _BLOCK)  # the text itself is not needed, only where members end
                    if unpack.eof:
                        data, good = unpack.unused_data, end - len(unpack.unused_data)
                        unpack = zlib.decompressobj(_GZIP)
                    else:
                        data = unpack.unconsumed_tail
            except zlib.error:
                break
        fh.truncate(good)
        fh.seek(0)
        digest = hashlib.sha256()
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest(), good


def _pack_legacy(plain: Path, packed: Path) -> None:
    """A plain ``.cast`` spool left by a gateway from before gzip members: its whole lines, gzipped."""
    with plain.open("rb+") as fh:
        fh.truncate(fh.read().rfind(b"\n") + 1)
    _gzip_and_hash(plain, packed)
    plain.unlink()


async def collect_spool(session_id: uuid.UUID, spool_dir: Path, storage: Storage) -> Finished | None:
    """Store the spool a crashed gateway left for a session, as ``finalize`` would have; None if none."""
    path = _spool_path(spool_dir, session_id)
    legacy = spool_dir / f"{session_id}.cast"
    if legacy.is_file():
        await asyncio.to_thread(_pack_legacy, legacy, path)
    if not path.is_file():
        return None
    sha, size = await asyncio.to_thread(_whole_members, path)
    key = recording_key(session_id)
    if size:
        await storage.put_file(key, path)
    await asyncio.to_thread(_remove, path)
    return Finished(key=key, sha256=sha, size=size) if size else None
