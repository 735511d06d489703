"""Fixtures shared by every layer.

The database backend comes from ``WEBGATE_TEST_DB`` (``sqlite`` by default, ``mysql`` for
the MariaDB service on 127.0.0.1:3306); scripts/test.sh runs the suite on both. Each
test gets an app with a fresh, migrated, emptied database and a fake clock.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.peers.required import REQUIRE_PEERS, peer_missing  # noqa: F401 - re-exported: tests import it from here
from webgate.app import create_app
from webgate.clock import FakeClock
from webgate.services import Services
from webgate.settings import Settings

BACKEND = os.environ.get("WEBGATE_TEST_DB", "sqlite")
MYSQL_URL = os.environ.get("WEBGATE_TEST_MYSQL", "mysql://root:@127.0.0.1:3306")
ORIGIN = "http://testserver"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if BACKEND == "mysql":
        import pymysql

        name = f"webgate_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        host = MYSQL_URL.split("@", 1)[1].split(":")[0]
        conn = pymysql.connect(host=host, user="root", password="", port=3306)
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        conn.close()
        yield f"{MYSQL_URL}/{name}"
        conn = pymysql.connect(host=host, user="root", password="", port=3306)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()
    else:
        yield f"sqlite://{tmp_path_factory.mktemp('db') / 'webgate.sqlite3'}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    key = tmp_path / "secret.key"
    return Settings(data_dir=tmp_path, database_url=database_url, storage_url=f"file://{tmp_path / 'recordings'}",
                    secret_key_file=key, node_name="test-node", argon2_time_cost=1, argon2_memory_kib=8192)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def _empty_all_tables() -> None:
    from tortoise.connection import get_connection

    conn = get_connection("default")
    if BACKEND == "mysql":
        rows = await conn.execute_query_dict("SHOW TABLES")
        tables = [next(iter(r.values())) for r in rows]
        stmts = ["SET FOREIGN_KEY_CHECKS=0"] + [f"DELETE FROM `{t}`" for t in tables if t != "tortoise_migrations"]
        stmts.append("SET FOREIGN_KEY_CHECKS=1")
        for s in stmts:
            await conn.execute_script(s)
    else:
        rows = await conn.execute_query_dict("SELECT name FROM sqlite_master WHERE type='table'")
        tables = [r["name"] for r in rows if r["name"] not in ("tortoise_migrations",) and not r["name"].startswith("sqlite_")]
        await conn.execute_script("PRAGMA foreign_keys=OFF;" + "".join(f'DELETE FROM "{t}";' for t in tables)
                                  + "PRAGMA foreign_keys=ON;")


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[Any]:
    application = create_app(settings, clock)
    async with application.router.lifespan_context(application):
        await _empty_all_tables()
        from webgate.bootstrap import ensure_system_rows

        await ensure_system_rows()
        yield application


@pytest.fixture
def services(app: Any) -> Services:
    return app.state.services


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as c:
        yield c


@pytest.fixture
def make_client(app: Any):  # type: ignore[no-untyped-def]
    """Extra independent browsers (separate cookie jars) against the same app."""
    clients: list[httpx.AsyncClient] = []

    def make(ip: str = "127.0.0.1") -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 5555)), base_url=ORIGIN)
        clients.append(c)
        return c

    yield make


from tests.helpers import *  # noqa: E402,F401,F403 - fixtures built on the helpers
# Peers shared by several directories are defined here, once: a session-scoped fixture
# imported into two modules would be two fixtures, started twice (and the second xrdp
# would wait forever for the machine-wide lock the first one holds).
from tests.peers.desktop import desktop, guacd_port  # noqa: E402,F401 - fixtures
from tests.peers.xrdp import xrdp, xrdp_server  # noqa: E402,F401 - fixtures
