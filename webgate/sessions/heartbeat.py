"""One timer for every live session of a process, instead of a sleeping task in each.

Every live session needs a tick about once a second: flush the recording, check the
idle and maximum-length limits, and now and then re-check the login and permission.
A sleeping task per session costs about a kilobyte each (task, coroutine, timer,
context) for nothing but waiting, which idle sessions do all day (bench/terminal.py
measures memory per idle session). The heartbeat is one task per event loop, started
with the first session and ending after the last; what a tick does stays with the
session (``tick``), which never raises out of it. The members are spread over ten
slots ticked in turn, so 500 sessions' flushes come 50 at a time, ten times a second,
not all at once (which would show in the keystroke echo of whoever types then).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Protocol


class Member(Protocol):
    TICK: float

    def tick(self) -> None: ...


class Heartbeat:
    """Ticks each member once per its TICK, spread over SLOTS steps so that a tick's work (a recording
    flush each) never lands on every session at the same instant."""

    SLOTS = 10

    def __init__(self) -> None:
        self._slots: list[set[Member]] = [set() for _ in range(self.SLOTS)]
        self._slot_of: dict[Member, int] = {}
        self._turn = 0  # the slot the next member joins (round robin keeps the slots even)
        self._task: asyncio.Task[None] | None = None

    def join(self, member: Member) -> None:
        if member not in self._slot_of:
            self._slot_of[member] = self._turn
            self._slots[self._turn].add(member)
            self._turn = (self._turn + 1) % self.SLOTS
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._beat(), name="session heartbeat")

    def leave(self, member: Member) -> None:
        slot = self._slot_of.pop(member, None)
        if slot is not None:
            self._slots[slot].discard(member)

    async def _beat(self) -> None:
        step, tick = 0, 1.0
        while self._slot_of:
            if step == 0:  # the shortest tick asked for (each class says its own; tests shorten them)
                tick = min(m.TICK for m in self._slot_of)
            await asyncio.sleep(tick / self.SLOTS)
            for member in list(self._slots[step]):
                member.tick()
            step = (step + 1) % self.SLOTS


_beats: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Heartbeat] = weakref.WeakKeyDictionary()


def heartbeat() -> Heartbeat:
    """The running loop's heartbeat (each test has its own loop, a server has one)."""
    loop = asyncio.get_running_loop()
    beat = _beats.get(loop)
    if beat is None:
        beat = _beats[loop] = Heartbeat()
    return beat
