"""``webgate check``: can this node reach everything it needs? One line per dependency."""

from __future__ import annotations

import asyncio
import time

from webgate.settings import Settings


async def _guacd_version(host: str, port: int, timeout: float = 3.0) -> str:
    """Open a guacd handshake far enough to read its protocol version from ``args``."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(b"6.select,3.vnc;")
        await writer.drain()
        data = await asyncio.wait_for(reader.readuntil(b";"), timeout)
        text = data.decode("utf-8", "replace")
        # 4.args,13.VERSION_1_3_0,...
        parts = text.split(",")
        if len(parts) > 1 and "." in parts[1]:
            version = parts[1].split(".", 1)[1].rstrip(";")
            return version if version.startswith("VERSION") else "pre-1.1 (no version)"
        return "unknown"
    finally:
        writer.close()


async def _db_version(dialect: str) -> str:
    from tortoise.connection import get_connection

    query = "SELECT sqlite_version() AS v" if dialect == "sqlite" else "SELECT VERSION() AS v"
    rows = await get_connection("default").execute_query_dict(query)
    return str(rows[0]["v"]) if rows else "?"


async def run_checks(settings: Settings) -> list[tuple[str, bool | None, str]]:
    from webgate import db
    from webgate.db.crypto import load_or_create_key
    from webgate.recording.storage import create_storage
    from webgate.sharing.bus import create_bus

    results: list[tuple[str, bool | None, str]] = []
    try:
        load_or_create_key(settings.key_file)
        results.append(("key", True, str(settings.key_file)))
    except Exception as exc:  # noqa: BLE001 - report, don't crash
        results.append(("key", False, str(exc)))
    start = time.monotonic()
    try:
        await asyncio.wait_for(db.open_database(settings.db_url), 10)
        pending = await db.pending_migrations()
        ms = (time.monotonic() - start) * 1000
        ok = not pending
        detail = f"{settings.dialect} {await _db_version(settings.dialect)} ({ms:.0f} ms)" + (f"; pending migrations: {', '.join(pending)} — run `webgate migrate`" if pending else "")
        results.append(("database", ok, detail))
    except Exception as exc:  # noqa: BLE001
        results.append(("database", False, f"{settings.dialect}: {type(exc).__name__}: {exc}"))
    finally:
        try:
            await db.close_database()
        except Exception:  # noqa: BLE001,S110
            pass
    bus = create_bus(settings.redis_url)
    try:
        results.append(("bus", True, await asyncio.wait_for(bus.check(), 5)))
    except Exception as exc:  # noqa: BLE001
        results.append(("bus", False, f"{type(exc).__name__}: {exc}"))
    finally:
        await bus.close()
    storage = create_storage(settings)
    try:
        results.append(("storage", True, await asyncio.wait_for(storage.check(), 10)))
    except Exception as exc:  # noqa: BLE001
        results.append(("storage", False, f"{type(exc).__name__}: {exc}"))
    finally:
        await storage.close()
    for host, port in settings.guacd:
        try:
            version = await _guacd_version(host, port)
            results.append(("guacd", True, f"{host}:{port} {version}"))
        except Exception as exc:  # noqa: BLE001
            results.append(("guacd", False, f"{host}:{port} not reachable ({type(exc).__name__}); "
                                              "start guacd or set WEBGATE_GUACD"))
    results += await _app_hosts(settings)
    return results


async def _app_hosts(settings: Settings) -> list[tuple[str, bool | None, str]]:
    """RemoteApp hosts: the local one has Xvnc and the allowed programs, agents answer with the token.

    A local host without them is a warning, not a failure: the default configuration names
    the local host, and a gateway that serves no RemoteApp needs neither Xvnc nor Chromium.
    An agent the operator listed but cannot reach is a failure."""
    from webgate.remoteapp.local import LocalAppHost
    from webgate.remoteapp.remote import RemoteAppHost

    out: list[tuple[str, bool | None, str]] = []
    for ref in settings.app_hosts:
        if ref.url:
            ok, detail = await RemoteAppHost(ref.url, settings.app_host_token).readiness()
            out.append((f"app host {ref.name}", ok, detail))
        else:
            ready, detail = LocalAppHost(programs=settings.app_programs).readiness()
            out.append((f"app host {ref.name}", True if ready else None,
                        detail if ready else f"{detail}; RemoteApp on this machine will not start"))
    return out
