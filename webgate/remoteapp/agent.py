"""``webgate apphost-agent``: runs RemoteApp displays on this machine for a gateway elsewhere.

Two calls, both needing ``Authorization: Bearer <WEBGATE_APP_HOST_TOKEN>``:
``POST /displays`` (an ``AppSpec`` as JSON) → ``{"id", "host", "port", "password"}`` and
``DELETE /displays/{id}``. The agent decides for itself which programs may run
(``--programs``); the gateway's request cannot widen that. Every display still running
when the agent stops is torn down. Request bodies and the password in them are never logged.

Run: ``WEBGATE_APP_HOST_TOKEN=… webgate apphost-agent --listen 10.0.0.5:4830 --vnc-host 10.0.0.5``
(or ``python -m webgate.remoteapp.agent``).
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from webgate.remoteapp.host import AppHostError, AppSpec
from webgate.remoteapp.local import LocalAppHost

log = logging.getLogger("webgate.remoteapp.agent")

MAX_BODY = 64 * 1024
MIN_TOKEN = 16


def create_agent(host: LocalAppHost, token: str) -> Starlette:
    if len(token) < MIN_TOKEN:
        raise ValueError(f"the agent's token must have at least {MIN_TOKEN} characters")
    expected = f"Bearer {token}".encode()

    def authorised(request: Request) -> bool:
        return hmac.compare_digest(request.headers.get("authorization", "").encode(), expected)

    async def start(request: Request) -> Response:
        if not authorised(request):
            return JSONResponse({"error": "unauthorised"}, 401)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "The request is too large."}, 413)
        try:
            data: Any = json.loads(body)
            spec = AppSpec.from_json(data) if isinstance(data, dict) else None
        except (ValueError, TypeError):
            spec = None
        if spec is None:
            return JSONResponse({"error": "The request is not an app spec."}, 400)
        try:
            display = await host.start(spec)
        except AppHostError as exc:
            return JSONResponse({"error": str(exc)}, 422)
        log.info("display %s started for session %s", display.id, spec.session_id[:36])
        return JSONResponse({"id": display.id, "host": display.host, "port": display.port,
                             "password": display.password})

    async def stop(request: Request) -> Response:
        if not authorised(request):
            return JSONResponse({"error": "unauthorised"}, 401)
        ident = request.path_params["id"]
        if ident not in host.running:
            return JSONResponse({"error": "no such display"}, 404)
        await host.stop(ident)
        log.info("display %s stopped", ident)
        return Response(status_code=204)

    async def health(request: Request) -> Response:
        if not authorised(request):
            return JSONResponse({"error": "unauthorised"}, 401)
        ok, detail = host.readiness()
        return JSONResponse({"ok": ok, "detail": detail, "displays": len(host.running)}, 200 if ok else 503)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for ident in list(host.running):
            await host.stop(ident)

    return Starlette(routes=[Route("/displays", start, methods=["POST"]),
                             Route("/displays/{id}", stop, methods=["DELETE"]),
                             Route("/health", health, methods=["GET"])], lifespan=lifespan)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="webgate apphost-agent", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", default="127.0.0.1:4830", help="host:port the agent's HTTP API listens on")
    parser.add_argument("--vnc-host", default="127.0.0.1",
                        help="the address guacd reaches this machine's displays at (Xvnc listens there)")
    parser.add_argument("--work-dir", default=None,
                        help="where per-display temp dirs are made (default: the system's temp dir; keep it short)")
    parser.add_argument("--programs", default="chromium",
                        help="comma-separated programs this host may run (names or absolute paths)")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    token = os.environ.get("WEBGATE_APP_HOST_TOKEN", "")
    if len(token) < MIN_TOKEN:
        print(f"error: set WEBGATE_APP_HOST_TOKEN ({MIN_TOKEN}+ characters), the same as the gateway's",
              file=sys.stderr)
        return 2
    host_name, _, port = args.listen.rpartition(":")
    if not port.isdigit():
        print("error: --listen must be host:port", file=sys.stderr)
        return 2
    programs = tuple(p.strip() for p in args.programs.split(",") if p.strip())
    app = create_agent(LocalAppHost(Path(args.work_dir) if args.work_dir else None, vnc_bind=args.vnc_host, programs=programs), token)
    uvicorn.run(app, host=host_name.strip("[]"), port=int(port), log_level="info", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
