"""The test app served for real by uvicorn on a loopback port (for WebSocket tests)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn

from tests.peers.sshd import free_port


@pytest.fixture
async def gateway(app: object) -> AsyncIterator[str]:
    """The test app served by uvicorn on a loopback port (lifespan already run by ``app``)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",  # type: ignore[arg-type]
                                           log_level="warning", ws="auto"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, 10)
