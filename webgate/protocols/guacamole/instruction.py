"""A bounded, incremental, strict Guacamole instruction parser and the encoder.

Wire format: ``LENGTH.VALUE,LENGTH.VALUE,...;`` where LENGTH counts Unicode code points
(not bytes, not UTF-16 units: Guacamole CVE-2023-30575). The first element is the opcode.

What reaches the parser comes from the browser, so every limit is enforced while bytes
arrive, before anything is buffered without bound: at most ``max_chars`` code points per
instruction (the whole text, digits and punctuation included), at most ``max_elements``
elements, lengths of decimal digits only (no sign, no spaces, at most five digits), and
each value followed by ``,`` or ``;`` exactly where its length says (a "length lie" is an
error, never a resynchronisation). Bytes are decoded as strict UTF-8 (a lone surrogate,
an overlong form or a stray continuation byte is an error). After an error the parser
is poisoned: the caller closes the session.
"""

from __future__ import annotations

import codecs

MAX_CHARS = 8192
MAX_ELEMENTS = 128
_MAX_DIGITS = 5


class InstructionError(ValueError):
    """The peer broke the Guacamole wire format; the message says how (for logs and audit)."""


def encode(*elements: str) -> str:
    """One instruction: ``encode("size", "1024", "768")`` → ``4.size,4.1024,3.768;``."""
    return ",".join(f"{len(e)}.{e}" for e in elements) + ";"


class Parser:
    """Feed text or bytes as it arrives; get back every complete instruction (lists of str)."""

    def __init__(self, max_chars: int = MAX_CHARS, max_elements: int = MAX_ELEMENTS) -> None:
        self.max_chars = max_chars
        self.max_elements = max_elements
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._buf = ""
        self._broken: str | None = None

    def feed_bytes(self, data: bytes) -> list[list[str]]:
        if self._broken is None:
            try:
                text = self._decoder.decode(data)
            except UnicodeDecodeError:
                self._fail("The data is not valid UTF-8.")
            return self.feed(text)
        raise InstructionError(self._broken)

    def feed(self, text: str) -> list[list[str]]:
        if self._broken is not None:
            raise InstructionError(self._broken)
        self._buf += text
        out: list[list[str]] = []
        offset = 0
        while offset < len(self._buf):
            parsed = self._one(offset)
            if parsed is None:
                break
            instruction, offset = parsed
            out.append(instruction)
        self._buf = self._buf[offset:]  # sliced once per feed: many small instructions stay linear
        return out

    @property
    def pending(self) -> int:
        """Code points of an incomplete instruction held back (0 between instructions)."""
        return len(self._buf)

    def _fail(self, why: str) -> None:
        self._broken = why
        self._buf = ""
        raise InstructionError(why)

    def _one(self, first: int) -> tuple[list[str], int] | None:
        """Parse the instruction starting at ``first``; None if it is not complete yet."""
        buf = self._buf
        limit = first + self.max_chars
        n = len(buf)
        pos = first
        elements: list[str] = []
        while True:
            # LENGTH: digits, then "."
            start = pos
            while pos < n and pos - start <= _MAX_DIGITS and "0" <= buf[pos] <= "9":
                pos += 1
            if pos - start > _MAX_DIGITS:
                self._fail("An element length has too many digits.")
            if pos >= n:
                self._check_incomplete(pos - first)
                return None
            if buf[pos] != "." or pos == start:
                self._fail("An element length must be digits followed by a dot.")
            length = int(buf[start:pos])
            value_start = pos + 1
            end = value_start + length  # where the terminator must be
            if end + 1 > limit:
                self._fail(f"An instruction is longer than {self.max_chars} characters.")
            if end >= n:
                self._check_incomplete(n - first)
                return None
            terminator = buf[end]
            if terminator not in ",;":
                self._fail("An element is not where its length says it ends (length mismatch).")
            elements.append(buf[value_start:end])
            if len(elements) > self.max_elements:
                self._fail(f"An instruction has more than {self.max_elements} elements.")
            pos = end + 1
            if terminator == ";":
                return elements, pos

    def _check_incomplete(self, seen: int) -> None:
        if seen >= self.max_chars:
            self._fail(f"An instruction is longer than {self.max_chars} characters.")


def parse_one(text: str, max_chars: int = MAX_CHARS, max_elements: int = MAX_ELEMENTS) -> list[str]:
    """Exactly one complete instruction, nothing before or after it."""
    parser = Parser(max_chars, max_elements)
    got = parser.feed(text)
    if len(got) != 1 or parser.pending:
        raise InstructionError("Expected exactly one complete instruction.")
    return got[0]
