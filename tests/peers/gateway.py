"""The test app served for real by uvicorn on a loopback port (for WebSocket tests)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvicorn

from tests.peers.sshd import free_port
from webgate.serving import uvicorn_config

APP_LIMITS_REACHABLE = 16 << 20  # uvicorn's default


async def serve(app: Any, server: Callable[[uvicorn.Config], uvicorn.Server] = uvicorn.Server,
                ) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """Start serving ``app`` (its lifespan already run); returns the server, its task and host:port."""
    port = free_port()
    # The WebSocket settings of `webgate serve`, except its 1 MiB cap on a message: behind it the
    # app's own limits (a clear error frame) could not be reached; `production_gateway` has it.
    srv = server(uvicorn_config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning",
                                timeout_graceful_shutdown=10, ws_max_size=APP_LIMITS_REACHABLE))
    task = asyncio.create_task(srv.serve())
    while not srv.started:  # noqa: ASYNC110 - uvicorn offers no event for it
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return srv, task, f"127.0.0.1:{port}"


@pytest.fixture
async def gateway(app: object) -> AsyncIterator[str]:
    """The test app served by uvicorn on a loopback port (lifespan already run by ``app``)."""
    server, task, address = await serve(app)
    yield address
    server.should_exit = True
    await asyncio.wait_for(task, 10)
