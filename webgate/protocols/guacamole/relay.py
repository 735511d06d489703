"""guacd → browser: whole instructions per WebSocket message, found without decoding.

guacd's output is forwarded as it came; the relay only finds where the last complete
instruction in what has been read ends, so that every WebSocket message holds whole
instructions (guacamole-common-js requires it). Lengths count code points, so an
element's byte span is found by counting UTF-8 lead bytes: ASCII spans (the base64 of
images, nearly everything) are checked with one ``bytes.isascii`` call, others by
counting continuation bytes with ``bytes.translate`` — both run in C.

Back-pressure: the next read from guacd happens only after the previous batch was sent,
so a slow browser slows guacd's socket down instead of filling the gateway's memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from webgate.protocols.guacamole.instruction import InstructionError

READ_SIZE = 1 << 16
MAX_SERVER_INSTRUCTION = 4 << 20  # a guacd instruction larger than this is a broken stream
_NOT_CONTINUATION = bytes(b for b in range(256) if b & 0xC0 != 0x80)
_DIGITS = b"0123456789"


def _continuations(data: bytes, start: int, end: int) -> int:
    return len(data[start:end].translate(None, _NOT_CONTINUATION))


def _skip_code_points(data: bytes, start: int, count: int) -> int | None:
    """Byte index just after ``count`` code points from ``start``; None if the data ends first."""
    end = start + count
    if end > len(data):
        return None
    chunk = data[start:end]
    if chunk.isascii():
        return end
    points = count - _continuations(data, start, end)
    while points < count:
        more = count - points
        if end + more > len(data):
            return None
        points += more - _continuations(data, end, end + more)
        end += more
    size = len(data)
    while end < size and data[end] & 0xC0 == 0x80:  # the last character's trailing bytes
        end += 1
    return end


def instruction_end(data: bytes, start: int = 0, ascii_only: bool | None = None) -> int | None:
    """Index after the complete instruction at ``start``, or None if it is not all there yet.

    ``ascii_only``: the caller already knows whether ``data`` is all ASCII (then every length
    is a byte count and no element needs looking at); None checks here.
    """
    if ascii_only is None:
        ascii_only = data.isascii()
    pos, size = start, len(data)
    while True:
        dot = data.find(b".", pos, pos + 11)
        if dot < 0:
            if size - pos > 10:
                raise InstructionError("guacd sent an element length that is not a number.")
            return None
        digits = data[pos:dot]
        if not digits.isdigit():  # bytes.isdigit: ASCII digits only, and False when empty
            raise InstructionError("guacd sent an element length that is not a number.")
        if ascii_only:
            end: int | None = dot + 1 + int(digits)
        else:
            end = _skip_code_points(data, dot + 1, int(digits))
        if end is None or end >= size:
            if size - start > MAX_SERVER_INSTRUCTION:
                raise InstructionError("guacd sent an instruction that is too large.")
            return None
        terminator = data[end]
        if terminator == 0x3B:  # ;
            return end + 1
        if terminator != 0x2C:  # ,
            raise InstructionError("guacd sent an element whose length does not match.")
        pos = end + 1


def split_complete(data: bytes) -> tuple[int, list[int]]:
    """(bytes of complete instructions at the front, start index of each of them)."""
    starts: list[int] = []
    pos, size = 0, len(data)
    ascii_only = data.isascii()  # one C pass; guacd's output (base64 images) nearly always is
    while pos < size:
        end = instruction_end(data, pos, ascii_only)
        if end is None:
            break
        starts.append(pos)
        pos = end
    return pos, starts


class Relay:
    """Reads guacd, sends whole instructions; watches for ``error`` and ``disconnect`` from guacd."""

    def __init__(self, reader: asyncio.StreamReader, send: Callable[[bytes], Awaitable[None]],
                 pending: bytes = b"") -> None:
        self.reader = reader
        self.send = send
        self._buf = pending
        self.bytes_out = 0
        # The first ``error`` instruction guacd sent (raw bytes), if any: it ends the session.
        self.error: bytes | None = None

    async def run(self) -> None:
        """Relay until guacd closes the connection or sends ``error``/``disconnect``."""
        while True:
            if self._buf:
                done, starts = split_complete(self._buf)
                if done:
                    batch, self._buf = self._buf[:done], self._buf[done:]
                    stop = self._watch(batch, starts)
                    if stop is not None:
                        batch = batch[:stop]
                    if batch:
                        self.bytes_out += len(batch)
                        await self.send(batch)
                    if stop is not None:
                        return
            data = await self.reader.read(READ_SIZE)
            if not data:
                return
            self._buf += data

    def _watch(self, batch: bytes, starts: list[int]) -> int | None:
        """Where to cut the batch before an instruction the session must act on (error, disconnect)."""
        for start in starts:
            if batch.startswith(b"5.error,", start):
                self.error = batch[start:instruction_end(batch, start)]
                return start
            if batch.startswith(b"10.disconnect;", start):
                return start
        return None
