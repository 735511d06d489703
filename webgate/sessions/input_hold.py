"""Hold the browser's keys and pointer until the remote desktop has drawn its first image.

guacd 1.3.0 says ``ready`` before the RDP server shows anything (xrdp draws ~1.5 s later)
and drops the input it gets in between, so a user who types right after connecting loses
those keys. The gateway keeps them instead — in order, bounded — until guacd's first ``img``
on the default layer (layer 0) or a deadline, then sends them all at once. Everything else
(flow control, resizes, clipboard and file streams) is not held.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from webgate.protocols.guacamole.instruction import InstructionError, parse_one
from webgate.protocols.guacamole.relay import instruction_end, split_complete

log = logging.getLogger("webgate.sessions")

HELD = frozenset({"key", "mouse", "touch"})
HOLD_FOR = 8.0  # seconds after ``ready`` at most: a desktop that never draws still gets its input
MAX_HELD = 4096  # instructions; beyond this they are dropped, as guacd would have done


class InputHold:
    def __init__(self, hold_for: float = HOLD_FOR) -> None:
        self.holding = True
        self.drawn = asyncio.Event()
        self.deadline = asyncio.get_running_loop().time() + hold_for
        self._held: list[bytes] = []
        self._dropped = 0

    def watch(self, batch: bytes) -> None:
        """Look at what guacd drew (whole instructions) for the first image on layer 0."""
        if self.drawn.is_set() or b"3.img," not in batch:
            return
        _, starts = split_complete(batch)
        for start in starts:
            if not batch.startswith(b"3.img,", start):
                continue
            head = batch[start:instruction_end(batch, start)]
            try:
                parts = parse_one(head.decode("utf-8"), max_chars=1 << 22)
            except (InstructionError, UnicodeDecodeError):
                return
            if len(parts) > 3 and parts[3] == "0":  # img STREAM MASK LAYER MIMETYPE X Y
                self.drawn.set()
                return

    def hold(self, opcode: str, data: bytes) -> bool:
        """True if the instruction was kept back (send it later, via ``run``)."""
        if not self.holding or opcode not in HELD:
            return False
        if len(self._held) < MAX_HELD:
            self._held.append(data)
        else:
            self._dropped += 1
        return True

    async def run(self, write: Callable[[bytes], Awaitable[None]]) -> None:
        """Wait for the first image (or the deadline), then send what was held, in order."""
        remaining = self.deadline - asyncio.get_running_loop().time()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(remaining, 0)):
                await self.drawn.wait()
        # Synchronously: stop holding and queue what was held before anything newer can be sent.
        self.holding = False
        held, self._held = b"".join(self._held), []
        if self._dropped:
            log.info("input held before the first frame: %d instruction(s) dropped", self._dropped)
        if held:
            await write(held)
