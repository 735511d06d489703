"""The ``webgate`` command: serve · migrate · create-admin · check · version · makemigrations."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import sys
from typing import Any

from webgate import __version__
from webgate.errors import WebgateError
from webgate.settings import Settings


async def _with_db(settings: Settings, fn: Any, *, migrate: bool = True) -> Any:
    from webgate.services import Services

    services = await Services.start(settings, migrate=migrate)
    try:
        return await fn(services)
    finally:
        await services.close()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from webgate.app import create_app
    from webgate.serving import uvicorn_config

    host = args.host or settings.host
    port = args.port or settings.port
    print(f"webgate {__version__} on http://{host}:{port}  (node {settings.node_name}, database {settings.dialect})",
          flush=True)
    from webgate.sessions.recovery import GracefulServer

    app = create_app(settings, migrate=not args.no_migrate)
    config = uvicorn_config(app, host=host, port=port, log_level=settings.log_level, lifespan="on",
                            timeout_graceful_shutdown=15)
    GracefulServer(config, app).run()  # live sessions hear "restarting" before the sockets close
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from webgate import db

    async def main() -> list[str]:
        # migrate is the one-shot step of a deployment (compose): it also makes the key file
        # that every node then mounts read-only, so nodes never race to create their own.
        from webgate.db.crypto import load_or_create_key

        load_or_create_key(settings.key_file)
        await db.open_database(settings.db_url)
        try:
            return await db.migrate()
        finally:
            await db.close_database()

    applied = asyncio.run(main())
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0


def cmd_create_admin(args: argparse.Namespace, settings: Settings) -> int:
    async def run(services: Any) -> int:
        from webgate.auth.users import create_user
        from webgate.db.models import User

        if await User.filter(username=args.username).exists():
            print(f"admin {args.username!r} already exists (unchanged)")
            return 0
        user, one_time = await create_user(services, username=args.username, name=args.name or "Administrator",
                                           email=args.email or "", password=args.password, superadmin=True,
                                           mfa_required=not args.no_mfa)
        print(f"created super admin {user.username!r}")
        if one_time:
            print(f"one-time password: {one_time}")
            print("log in with it; you will be asked to choose a new password"
                  + ("." if args.no_mfa else " and to set up MFA (a TOTP app)."))
        return 0

    return int(asyncio.run(_with_db(settings, run)))


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from webgate.checks import run_checks

    results = asyncio.run(run_checks(settings))
    failed = False
    for name, ok, text in results:  # ok None: a warning (an optional feature is not ready), exit code 0
        failed |= ok is False
        print(f"{'ok  ' if ok else 'warn' if ok is None else 'FAIL'} {name:10} {text}")
    if args.json:
        print(json.dumps([{"name": n, "ok": o, "detail": t} for n, o, t in results]))
    return 1 if failed else 0


def cmd_makemigrations(args: argparse.Namespace, settings: Settings) -> int:
    from webgate.db.makemigrations import make

    print(asyncio.run(make(args.name)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="webgate", description="A web-only privileged-access gateway.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations at start")
    sub.add_parser("migrate", help="apply database migrations")
    admin = sub.add_parser("create-admin", help="create the first super admin (idempotent)")
    admin.add_argument("--username", default="admin")
    admin.add_argument("--password", help="omit to get a one-time password")
    admin.add_argument("--name")
    admin.add_argument("--email")
    admin.add_argument("--no-mfa", action="store_true",
                       help="do not require MFA for this admin (automation and tests only)")
    check = sub.add_parser("check", help="check database, bus, storage and guacd; exit 1 on a problem")
    check.add_argument("--json", action="store_true")
    sub.add_parser("version", help="print the version")
    mk = sub.add_parser("makemigrations", help="(developers) write a migration for model changes")
    mk.add_argument("--name")
    from webgate.remoteapp.agent import add_arguments as agent_arguments

    agent_arguments(sub.add_parser("apphost-agent", help="run RemoteApp displays for a gateway elsewhere"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "version":
        print(__version__)
        return 0
    if args.command == "apphost-agent":  # its own token and options, none of the gateway's settings
        from webgate.remoteapp.agent import run

        return run(args)
    try:
        settings = Settings.from_env()
        handler = {"serve": cmd_serve, "migrate": cmd_migrate, "create-admin": cmd_create_admin,
                   "check": cmd_check, "makemigrations": cmd_makemigrations}[args.command]
        return handler(args, settings)
    except WebgateError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for field, message in exc.details.get("fields", {}).items():
            print(f"  {field}: {message}", file=sys.stderr)
        return 2
    except (OSError, socket.gaierror) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
