"""The one heartbeat of all live sessions: every session ticked once per TICK, never all at once."""

from __future__ import annotations

import asyncio

from webgate.sessions.heartbeat import Heartbeat, heartbeat


class _Session:
    TICK = 0.05

    def __init__(self, beat_log: list[tuple[int, float]], n: int) -> None:
        self.log, self.n = beat_log, n

    def tick(self) -> None:
        self.log.append((self.n, asyncio.get_running_loop().time()))


async def test_each_member_is_ticked_once_per_tick_and_the_members_are_spread() -> None:
    beat, log = Heartbeat(), []
    members = [_Session(log, n) for n in range(40)]
    for m in members:
        beat.join(m)
    async with asyncio.timeout(10):
        while min(sum(1 for n, _ in log if n == m.n) for m in members) < 3:  # noqa: ASYNC110 - polls the log
            await asyncio.sleep(0.01)
    counts = [sum(1 for n, _ in log if n == m.n) for m in members]
    assert max(counts) - min(counts) <= 1, counts  # everyone at the same pace
    first_round = sorted(t for _, t in log[:40])
    bursts = 1 + sum(1 for a, b in zip(first_round, first_round[1:], strict=False) if b - a > 0.001)
    assert bursts >= Heartbeat.SLOTS - 1  # the first round came in ~10 steps, not all at once
    for m in members:
        beat.leave(m)
    seen = len(log)
    await asyncio.sleep(0.1)
    assert len(log) == seen  # nobody is ticked after leaving, and the beat stopped
    assert beat._task is not None and beat._task.done()


async def test_a_member_joining_after_the_last_left_starts_a_new_beat() -> None:
    beat, log = Heartbeat(), []
    first = _Session(log, 1)
    beat.join(first)
    beat.leave(first)
    await asyncio.sleep(0.1)
    second = _Session(log, 2)
    beat.join(second)
    await asyncio.sleep(0.15)
    assert [n for n, _ in log] and {n for n, _ in log} == {2}
    beat.leave(second)


async def test_one_heartbeat_per_event_loop() -> None:
    assert heartbeat() is heartbeat()
