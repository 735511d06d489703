"""The bus: pub/sub plus a few expiring counters and keys, shared by every gateway node.

Two implementations behind one interface, chosen by ``WEBGATE_REDIS_URL``: the
in-process one for a single node (the embedded default), Redis for several. Lockout
counters, revocations and live-session fan-out all go through here, so that a
request arriving at any node sees what another node did.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol

from webgate.errors import Unavailable


class Bus(Protocol):
    async def incr(self, key: str, ttl: int) -> int: ...
    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, ttl: int | None = None) -> None: ...
    async def set_if_absent(self, key: str, value: str, ttl: int) -> bool: ...
    async def delete(self, *keys: str) -> None: ...
    async def ttl(self, key: str) -> int: ...
    async def publish(self, channel: str, message: bytes) -> None: ...
    def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[bytes]]: ...
    async def check(self) -> str: ...
    async def close(self) -> None: ...


class MemoryBus:
    """Single-process bus; time comes from the injected clock so expiry is testable."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[str, float | None]] = {}
        self._subscribers: dict[str, set[asyncio.Queue[bytes]]] = defaultdict(set)

    def _live(self, key: str) -> tuple[str, float | None] | None:
        item = self._values.get(key)
        if item and item[1] is not None and item[1] <= self._clock():
            del self._values[key]
            return None
        return item

    async def incr(self, key: str, ttl: int) -> int:
        item = self._live(key)
        value = int(item[0]) + 1 if item else 1
        expires = item[1] if item else self._clock() + ttl
        self._values[key] = (str(value), expires)
        return value

    async def get(self, key: str) -> str | None:
        item = self._live(key)
        return item[0] if item else None

    async def set(self, key: str, value: str, ttl: int | None = None) -> None:
        self._values[key] = (value, self._clock() + ttl if ttl else None)

    async def set_if_absent(self, key: str, value: str, ttl: int) -> bool:
        if self._live(key):
            return False
        await self.set(key, value, ttl)
        return True

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._values.pop(key, None)

    async def ttl(self, key: str) -> int:
        item = self._live(key)
        if not item:
            return -2
        if item[1] is None:
            return -1
        return max(0, int(item[1] - self._clock() + 0.999))

    async def publish(self, channel: str, message: bytes) -> None:
        for queue in list(self._subscribers.get(channel, ())):
            queue.put_nowait(message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[bytes]]:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._subscribers[channel].add(queue)

        async def messages() -> AsyncIterator[bytes]:
            while True:
                yield await queue.get()

        try:
            yield messages()
        finally:
            self._subscribers[channel].discard(queue)

    async def check(self) -> str:
        return "in-process"

    async def close(self) -> None:
        self._subscribers.clear()


class RedisBus:
    """Redis-backed bus; keys are prefixed so several deployments can share a server."""

    def __init__(self, url: str, prefix: str = "webgate:") -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)
        self._prefix = prefix

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def _call(self, coro):  # type: ignore[no-untyped-def]
        import redis.exceptions

        try:
            return await coro
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            raise Unavailable("The shared state service (Redis) is not reachable. Try again in a minute; "
                              "if it persists, tell your admin.") from exc

    async def incr(self, key: str, ttl: int) -> int:
        pipe = self._redis.pipeline()
        pipe.incr(self._k(key))
        pipe.expire(self._k(key), ttl, nx=True)
        value, _ = await self._call(pipe.execute())
        return int(value)

    async def get(self, key: str) -> str | None:
        value = await self._call(self._redis.get(self._k(key)))
        return value.decode() if value is not None else None

    async def set(self, key: str, value: str, ttl: int | None = None) -> None:
        await self._call(self._redis.set(self._k(key), value, ex=ttl))

    async def set_if_absent(self, key: str, value: str, ttl: int) -> bool:
        return bool(await self._call(self._redis.set(self._k(key), value, ex=ttl, nx=True)))

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._call(self._redis.delete(*(self._k(k) for k in keys)))

    async def ttl(self, key: str) -> int:
        return int(await self._call(self._redis.ttl(self._k(key))))

    async def publish(self, channel: str, message: bytes) -> None:
        await self._call(self._redis.publish(self._k(channel), message))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[bytes]]:
        pubsub = self._redis.pubsub()
        await self._call(pubsub.subscribe(self._k(channel)))

        async def messages() -> AsyncIterator[bytes]:
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    yield item["data"]

        try:
            yield messages()
        finally:
            await pubsub.aclose()

    async def check(self) -> str:
        info = await self._call(self._redis.info("server"))
        return f"redis {info.get('redis_version', '?')}"

    async def close(self) -> None:
        await self._redis.aclose()


def create_bus(url: str, clock: Callable[[], float] = time.monotonic) -> Bus:
    return RedisBus(url) if url else MemoryBus(clock)
