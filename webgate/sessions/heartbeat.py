"""One timer for every live session of a process, instead of a sleeping task in each.

Every live session needs a tick about once a second: flush the recording, check the
idle and maximum-length limits, and now and then re-check the login and permission.
A sleeping task per session costs about a kilobyte each (task, coroutine, timer,
context) for nothing but waiting, which idle sessions do all day (bench/terminal.py
measures memory per idle session). The heartbeat is one task per event loop, started
with the first session and ending after the last; what a tick does stays with the
session (``tick``), which never raises out of it.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Protocol


class Member(Protocol):
    TICK: float

    def tick(self) -> None: ...


class Heartbeat:
    def __init__(self) -> None:
        self._members: set[Member] = set()
        self._task: asyncio.Task[None] | None = None

    def join(self, member: Member) -> None:
        self._members.add(member)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._beat(), name="session heartbeat")

    def leave(self, member: Member) -> None:
        self._members.discard(member)

    async def _beat(self) -> None:
        while self._members:
            # The shortest tick asked for (every class says its own; tests shorten them).
            await asyncio.sleep(min(m.TICK for m in self._members))
            for member in list(self._members):
                member.tick()


_beats: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Heartbeat] = weakref.WeakKeyDictionary()


def heartbeat() -> Heartbeat:
    """The running loop's heartbeat (each test has its own loop, a server has one)."""
    loop = asyncio.get_running_loop()
    beat = _beats.get(loop)
    if beat is None:
        beat = _beats[loop] = Heartbeat()
    return beat
