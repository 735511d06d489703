"""Passive observers of a terminal stream (recorder, meter; later command log and room).

A tap sees every byte in each direction and every resize but can change nothing
(changing input is the gate's job). Failure policy, decided once here: a failing
*optional* tap is dropped and logged; a failing *mandatory* tap (the recorder when
recording is required) raises, and the session ends instead of running unrecorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("webgate.terminal")


class Tap(Protocol):
    def output(self, data: bytes) -> None: ...
    def input(self, data: bytes) -> None: ...
    def resize(self, cols: int, rows: int) -> None: ...


class Meter:
    """Counts bytes each way and remembers when the user last typed (for the idle timeout)."""

    __slots__ = ("_mono", "bytes_in", "bytes_out", "last_input")  # one per live session: no __dict__

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._mono = monotonic
        self.bytes_in = 0
        self.bytes_out = 0
        self.last_input = monotonic()

    def output(self, data: bytes) -> None:
        self.bytes_out += len(data)

    def input(self, data: bytes) -> None:
        self.bytes_in += len(data)
        self.last_input = self._mono()

    def resize(self, cols: int, rows: int) -> None:
        self.last_input = self._mono()


class TapFailed(Exception):
    """A mandatory tap (the recorder) failed: the session must end rather than go unrecorded."""


class Taps:
    __slots__ = ("_mandatory", "_optional")

    def __init__(self, mandatory: list[Tap], optional: list[Tap] | None = None) -> None:
        self._mandatory = mandatory
        self._optional = list(optional or [])

    def _each(self, method: str, *args: object) -> None:
        for tap in self._mandatory:
            try:
                getattr(tap, method)(*args)
            except Exception as exc:
                raise TapFailed(type(tap).__name__) from exc
        for tap in list(self._optional):
            try:
                getattr(tap, method)(*args)
            except Exception:
                log.exception("terminal tap %s failed; dropped", type(tap).__name__)
                self._optional.remove(tap)

    def output(self, data: bytes) -> None:
        self._each("output", data)

    def input(self, data: bytes) -> None:
        self._each("input", data)

    def resize(self, cols: int, rows: int) -> None:
        self._each("resize", cols, rows)
