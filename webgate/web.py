"""Serving the built SPA: real files under /assets, index.html for every other page path."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

_NOT_BUILT = """<!doctype html><html><head><meta charset="utf-8"><title>webgate</title></head>
<body><h1>webgate</h1><p>The web interface has not been built. Run <code>npm ci && npm run build</code>
in the project directory (scripts/setup.sh does this), then reload.</p></body></html>"""


async def spa(request: Request) -> Response:
    path = request.url.path
    if path.startswith(("/api/", "/ws/")):
        return JSONResponse({"error": {"code": "not_found", "message": "No such endpoint.", "details": {}}},
                            status_code=404)
    candidate = (STATIC / path.lstrip("/")).resolve()
    if path != "/" and candidate.is_file() and candidate.is_relative_to(STATIC.resolve()):
        return FileResponse(candidate)
    index = STATIC / "index.html"
    if index.is_file():
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
    return HTMLResponse(_NOT_BUILT, status_code=503)


def spa_routes() -> list:
    routes: list = []
    if (STATIC / "assets").is_dir():
        routes.append(Mount("/assets", StaticFiles(directory=STATIC / "assets"), name="assets"))
    routes.append(Route("/{path:path}", spa, methods=["GET", "HEAD"]))
    return routes
