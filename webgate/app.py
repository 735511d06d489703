"""create_app(settings): route lists, pure-ASGI middleware and one lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from webgate.api import api_routes
from webgate.api.openapi import build_document, docs_routes
from webgate.clock import Clock
from webgate.middleware import PrincipalMiddleware, SecurityHeadersMiddleware
from webgate.services import Services
from webgate.sessions.control import listen_for_kills
from webgate.sessions.recovery import close_stale_sessions
from webgate.settings import Settings
from webgate.web import spa_routes
from webgate.ws.guacamole import routes as guacamole_routes
from webgate.ws.terminal import routes as terminal_routes

log = logging.getLogger("webgate")


async def http_error(request: Request, exc: Exception) -> Response:
    """Unknown API paths and methods answer in the API's error shape, pages in plain text."""
    from starlette.exceptions import HTTPException

    from webgate.api._base import error_response
    from webgate.errors import NotFound, WebgateError

    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if not request.url.path.startswith("/api/"):
        return PlainTextResponse(getattr(exc, "detail", "Error"), status_code=status)
    if status == 404:
        return error_response(NotFound("No such API endpoint. Check the path against /api/docs."))
    err = WebgateError("This method is not allowed here.", code="method_not_allowed")
    err.status = status
    return error_response(err)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok", "node": request.app.state.services.settings.node_name})


def create_app(settings: Settings, clock: Clock | None = None, *, migrate: bool = True) -> Starlette:
    v1 = api_routes()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = await Services.start(settings, clock, migrate=migrate)
        app.state.services = services
        await close_stale_sessions(services)  # rows a crash of this node left open
        listening = asyncio.Event()
        kills = asyncio.create_task(listen_for_kills(services, listening))
        await asyncio.wait({kills, asyncio.create_task(listening.wait())}, timeout=5,
                           return_when=asyncio.FIRST_COMPLETED)
        try:
            yield
        finally:
            kills.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await kills
            await services.close()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Mount("/api/v1", routes=v1),
        *docs_routes,
        *terminal_routes,
        *guacamole_routes,
        *spa_routes(),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies),
                    Middleware(PrincipalMiddleware)],
        lifespan=lifespan,
        exception_handlers={404: http_error, 405: http_error},
    )
    app.state.openapi = build_document(v1)
    app.state.settings = settings
    return app
