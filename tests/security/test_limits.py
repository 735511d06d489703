"""LIMITS: a request body is bounded before it is read, even for strangers on the login form.

(SECURITY.md promise 12: every buffer is bounded. The sample nginx config lets large
uploads through, so the gateway cannot rely on the proxy to cut JSON bodies short.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from tests.security._routes import API

LOGIN = f"{API}/auth/login"
CHUNK = b"x" * 65536


async def test_a_declared_huge_body_is_refused_unread(client):
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(64):  # 4 MiB, announced up front
            sent += len(CHUNK)
            yield CHUNK

    r = await client.post(LOGIN, content=body(), headers={"Content-Length": str(64 * len(CHUNK)),
                                                            "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert "1 MiB" in r.json()["error"]["message"] or "MiB" in r.json()["error"]["message"]


async def test_a_streamed_body_stops_being_read_at_the_limit(client):
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(10_000):  # 640 MiB if anyone read it all
            pulled += len(CHUNK)
            yield CHUNK

    r = await client.post(LOGIN, content=endless(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert pulled <= 2 * (1 << 20) + len(CHUNK)


async def test_a_body_just_under_the_limit_is_still_read(client):
    padding = " " * ((1 << 20) - 100)
    r = await client.post(LOGIN, content=('{"username": "nobody", "password": "x"}' + padding).encode(),
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 401
