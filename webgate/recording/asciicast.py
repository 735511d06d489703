"""Terminal recordings in asciicast v2: a raw spool while the session runs, converted at its end.

Every byte a user sees passes through the recorder, on the event loop that also relays
it, so while the session streams the recorder only appends: each chunk gets a 13-byte
record head (time since the start, kind, length) and both wait in a list until the
flush, which is one ``os.writev`` per 64 KiB of pending bytes or per second (on the
next chunk or the session's one-second tick). A crashed gateway loses at most a
second. Nothing is decoded, escaped, compressed or hashed then (bench/terminal.py:
that work cost ~20% of a ``cat``'s throughput on the event loop), and an idle session
holds no buffer, decoder or compressor.

``finalize`` converts the spool to the finished ``.cast.gz`` in a worker thread: UTF-8
decoded with one incremental decoder per direction (a character split across two reads
is joined, never replaced; invalid bytes become U+FFFD in the recording only, the live
stream is untouched), each event one ``orjson.dumps``, output chunks that arrived
within ``MERGE_SECONDS`` of each other joined into one event (playback timing stays
right to that), gzipped by ISA-L and hashed as written. ``collect_spool`` converts the
spool a crashed gateway left the same way, up to its last whole record; spools of
older gateways (gzip members, or plain text) are still collected.
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import logging
import os
import struct
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import orjson
from isal import isal_zlib

from webgate.recording.storage import Storage

log = logging.getLogger("webgate.recording")

FLUSH_SECONDS = 1.0
WRITE_AT = 64 * 1024  # pending spool bytes written at once, without waiting for the flush
MERGE_SECONDS = 0.005  # output chunks this close to the first of an event join it (fewer, larger events)
MERGE_BYTES = 64 * 1024  # ... up to this many bytes per event
GZIP_LEVEL = 1  # ISA-L level 1: ~0.74 of the size on base64-like output, terminal text far smaller
_GZIP = 16 + zlib.MAX_WBITS  # wbits: a gzip container
_BLOCK = 1 << 20
_READ = 256 * 1024  # spool bytes read at a time when converting
_MEMBER = 64 * 1024  # lines of the finished recording per gzip member
_HEAD = struct.Struct("<dcI")  # a spool record: seconds since the start, kind (h, o, i, r), payload length
_IOV_MAX = 1024  # buffers per writev (Linux's IOV_MAX)


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


def _raw_spool(spool_dir: Path, session_id: uuid.UUID) -> Path:
    return spool_dir / f"{session_id}.rec"


def _packed(raw: Path) -> Path:
    """Where a raw spool is converted to (its own name: an older gateway's spool is ``<id>.cast.gz``)."""
    return raw.with_name(raw.name + ".cast.gz")


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


def _write_all(fd: int, parts: list[bytes]) -> None:
    for i in range(0, len(parts), _IOV_MAX):
        batch = parts[i:i + _IOV_MAX]
        done = os.writev(fd, batch)
        if done < sum(map(len, batch)):  # short (rare for a file): the rest is written, or raises (a full disk)
            view = memoryview(b"".join(batch))[done:]
            while view:
                view = view[os.write(fd, view):]


class AsciicastRecorder:
    # One per live session, alive all day: no __dict__, and nothing but an empty list while idle.
    __slots__ = ("_id", "_path", "_storage", "_mono", "_start", "_last_flush", "_pending", "_pending_size",
                 "_fd", "_record_input")

    def __init__(self, *, session_id: uuid.UUID, spool_dir: Path, storage: Storage, cols: int, rows: int,
                 started_at: float, monotonic: Callable[[], float], record_input: bool = False,
                 title: str = "") -> None:
        spool_dir.mkdir(parents=True, exist_ok=True)
        self._id = session_id
        self._path = str(_raw_spool(spool_dir, session_id))  # a str: a Path object costs ~0.4 KiB per session
        self._storage = storage
        self._mono = monotonic
        self._start = monotonic()
        self._last_flush = self._start
        self._record_input = record_input
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._fd: int | None = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        header = orjson.dumps({"version": 2, "width": cols, "height": rows, "timestamp": int(started_at),
                               "env": {"TERM": "xterm-256color"}, "title": title})
        _write_all(self._fd, [_HEAD.pack(0.0, b"h", len(header)), header])  # a crash right now keeps the header

    def _record(self, kind: bytes, data: bytes) -> None:
        if self._fd is None or not data:
            return
        now = self._mono()
        pending = self._pending
        pending.append(_HEAD.pack(now - self._start, kind, len(data)))
        pending.append(bytes(data))  # ``bytes`` is the object itself; anything mutable is copied
        self._pending_size += len(data) + _HEAD.size
        if self._pending_size >= WRITE_AT or now - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def output(self, data: bytes) -> None:
        self._record(b"o", data)

    def input(self, data: bytes) -> None:
        if self._record_input:
            self._record(b"i", data)

    def resize(self, cols: int, rows: int) -> None:
        self._record(b"r", b"%dx%d" % (cols, rows))

    def flush(self) -> None:
        """Write what is pending to the spool: from then on a crash of the gateway loses none of it."""
        if self._fd is not None and self._pending:
            pending, self._pending, self._pending_size = self._pending, [], 0
            _write_all(self._fd, pending)
        self._last_flush = self._mono()

    async def finalize(self) -> Finished | None:
        """Close the spool, convert it (in a worker thread) and store it as the recording; safe to call twice."""
        if self._fd is None:
            return None
        self.flush()
        os.close(self._fd)
        self._fd = None
        return await _store(self._id, Path(self._path), self._storage)


async def _store(session_id: uuid.UUID, raw: Path, storage: Storage) -> Finished | None:
    """Convert a raw spool, store the result under the session's key and remove both files.

    If converting or storing fails, the raw spool stays where it is (evidence is not deleted).
    """
    packed = _packed(raw)
    sha, size = await asyncio.to_thread(_convert, raw, packed)
    key = recording_key(session_id)
    if size:
        await storage.put_file(key, packed)
    await asyncio.to_thread(_remove, packed, raw)  # the raw spool last: until then a restart can redo this
    return Finished(key=key, sha256=sha, size=size) if size else None


def _records(fin: BinaryIO) -> Iterator[tuple[float, bytes, bytes]]:
    """The whole records of a raw spool, in order; a record cut short by a crash ends it."""
    buf = b""
    while block := fin.read(_READ):
        buf = buf + block if buf else block
        pos, end = 0, len(buf)
        while end - pos >= _HEAD.size:
            at, kind, length = _HEAD.unpack_from(buf, pos)
            stop = pos + _HEAD.size + length
            if stop > end:
                break
            yield at, kind, buf[pos + _HEAD.size:stop]
            pos = stop
        buf = buf[pos:]


class _CastWriter:
    """asciicast v2 lines into a gzip file, hashed as written: one gzip member (ISA-L) per ~64 KiB of lines.

    Small members are compressed while the lines are still in the CPU's cache (~15% faster than
    one stream on base64-like output, a few % larger on text); every gzip reader joins them.
    """

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._sha = hashlib.sha256()
        self._size = 0
        self._lines: list[bytes] = []
        self._pending = 0

    def line(self, line: bytes) -> None:
        self._lines.append(line)
        self._pending += len(line)
        if self._pending >= _MEMBER:
            self._pack()

    def event(self, at: float, code: str, text: str) -> None:
        if text:
            self.line(orjson.dumps([round(at, 6), code, text], option=orjson.OPT_APPEND_NEWLINE))

    def close(self) -> tuple[str, int]:
        """Writes what is left; (sha256, size) of the file."""
        self._pack()
        return self._sha.hexdigest(), self._size

    def _pack(self) -> None:
        if self._lines:
            member = isal_zlib.compress(b"".join(self._lines), GZIP_LEVEL, _GZIP)
            self._lines, self._pending = [], 0
            self._size += _write_hashed(self._out, self._sha, member)


def _convert(raw: Path, dest: Path) -> tuple[str, int]:
    """A raw spool as the finished ``.cast.gz`` in ``dest``; (sha256, size), or ("", 0) if it has no header."""
    with raw.open("rb", buffering=0) as fin:
        records = _records(fin)
        first = next(records, None)
        if first is None or first[1] != b"h":
            return "", 0
        with dest.open("wb", buffering=0) as fout:
            cast = _CastWriter(fout)
            cast.line(first[2] + b"\n")
            _events(records, cast)
            return cast.close()


def _events(records: Iterator[tuple[float, bytes, bytes]], cast: _CastWriter) -> None:
    out = codecs.getincrementaldecoder("utf-8")("replace")
    typed = codecs.getincrementaldecoder("utf-8")("replace")
    run: list[bytes] = []  # output chunks of the event being gathered
    run_at = at = 0.0
    run_size = 0
    for at, kind, payload in records:
        if kind == b"o" and run and at - run_at <= MERGE_SECONDS and run_size < MERGE_BYTES:
            run.append(payload)
            run_size += len(payload)
            continue
        if run:
            cast.event(run_at, "o", out.decode(run[0] if len(run) == 1 else b"".join(run)))
            run = []
        if kind == b"o":
            run, run_at, run_size = [payload], at, len(payload)
        elif kind == b"i":
            cast.event(at, "i", typed.decode(payload))
        elif kind == b"r":
            cast.event(at, "r", payload.decode("ascii", "replace"))
    if run:
        cast.event(run_at, "o", out.decode(b"".join(run)))
    # A character cut short by the session's end: marked (U+FFFD), not dropped silently.
    cast.event(at, "o", out.decode(b"", final=True))
    cast.event(at, "i", typed.decode(b"", final=True))


def _whole_members(path: Path) -> tuple[str, int]:
    """Cut an older gateway's spool back to its last whole gzip member (a crash may have cut one short).

    Every member holds whole event lines, so what is left replays as it was recorded; (sha256, size).
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
    raw = _raw_spool(spool_dir, session_id)
    if raw.is_file():
        return await _store(session_id, raw, storage)
    # Spools of older gateways: gzip members (``<id>.cast.gz``), before that plain text (``<id>.cast``).
    path = spool_dir / f"{session_id}.cast.gz"
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
