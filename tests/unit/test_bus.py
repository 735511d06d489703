"""One contract over both bus implementations: the in-process one and real Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.conftest import peer_missing
from webgate.clock import FakeClock
from webgate.errors import Unavailable
from webgate.sharing.bus import MemoryBus, RedisBus


@pytest.fixture(params=["memory", "redis"])
async def bus(request):
    if request.param == "memory":
        b = MemoryBus(FakeClock().monotonic)
    else:
        b = RedisBus("redis://127.0.0.1:6379/15", prefix=f"wgtest:{uuid.uuid4().hex}:")
        try:
            await b.check()
        except Unavailable:
            await b.close()
            peer_missing("redis on 127.0.0.1:6379")
    yield b
    await b.close()


async def test_counters_expire_and_keys_set_once(bus):
    assert await bus.incr("fail:x", 60) == 1
    assert await bus.incr("fail:x", 60) == 2
    assert 0 < await bus.ttl("fail:x") <= 60
    assert await bus.set_if_absent("lock", "a", 60) is True
    assert await bus.set_if_absent("lock", "b", 60) is False
    assert await bus.get("lock") == "a"
    await bus.delete("lock", "fail:x")
    assert await bus.get("lock") is None and await bus.ttl("fail:x") == -2


async def test_publish_reaches_every_subscriber(bus):
    async with bus.subscribe("room") as first, bus.subscribe("room") as second:
        await asyncio.sleep(0.05)  # Redis: let SUBSCRIBE reach the server
        await bus.publish("room", b"hello")
        got = await asyncio.wait_for(asyncio.gather(anext(first), anext(second)), 2)
    assert got == [b"hello", b"hello"]


async def test_memory_bus_expiry_follows_the_injected_clock():
    clock = FakeClock()
    b = MemoryBus(clock.monotonic)
    await b.set("k", "v", ttl=10)
    clock.advance(9)
    assert await b.get("k") == "v"
    clock.advance(2)
    assert await b.get("k") is None


async def test_dead_redis_is_reported_in_words():
    b = RedisBus("redis://127.0.0.1:1/0")
    with pytest.raises(Unavailable, match="Redis"):
        await b.get("x")
    await b.close()
