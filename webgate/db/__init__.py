"""Opening, migrating and closing the one database (SQLite embedded, or MySQL/MariaDB).

Schema changes are Tortoise migrations in ``webgate/db/migrations`` (operations, not
SQL, so the same files upgrade SQLite and MySQL). ``webgate makemigrations`` writes
a new one after a model change; a test fails while models and migrations disagree.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.migrations.executor import MigrationExecutor

APP = "webgate"
MODELS = "webgate.db.models"
MIGRATIONS = "webgate.db.migrations"


def _normalise_url(url: str) -> str:
    """Defaults that matter for a bastion: utf8mb4 everywhere, strict mode, no LOCAL INFILE."""
    parts = urlsplit(url)
    if parts.scheme != "mysql":
        return url
    query = dict(parse_qsl(parts.query))
    query.setdefault("charset", "utf8mb4")
    query.setdefault("minsize", "1")
    query.setdefault("maxsize", "10")
    return urlunsplit(parts._replace(query=urlencode(query)))


def tortoise_config(db_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _normalise_url(db_url)},
        "apps": {APP: {"models": [MODELS], "migrations": MIGRATIONS, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def open_database(db_url: str) -> None:
    """Connect the process-wide Tortoise context (requests run in other tasks than the lifespan)."""
    if db_url.startswith("sqlite://"):
        path = db_url[len("sqlite://"):]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
    await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)
    if db_url.startswith("sqlite://"):
        # WAL lets readers proceed while a session row is written; busy_timeout avoids
        # "database is locked" under concurrent requests. synchronous=NORMAL (SQLite's advice
        # for WAL) syncs at checkpoints, not at every commit: the one connection's writes
        # stop waiting ~1 ms each on the disk (a session open and end write several). A power
        # loss may drop the last commits, never corrupt the file — as a crash may drop the
        # last second of a recording; MySQL/MariaDB keeps its own durability settings.
        conn = get_connection("default")
        await conn.execute_script("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; "
                                  "PRAGMA foreign_keys=ON;")


async def close_database() -> None:
    await Tortoise.close_connections()


async def migrate(target: str | None = None) -> list[str]:
    """Apply pending migrations on the open connection; returns the names applied."""
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(name)

    config = tortoise_config("sqlite://:memory:")["apps"]
    executor = MigrationExecutor(get_connection("default"), config)
    from tortoise.migrations.executor import MigrationTarget

    targets = [MigrationTarget(app_label=APP, name=target or "__latest__")]
    await executor.migrate(targets, progress=progress)
    return applied


async def pending_migrations() -> list[str]:
    config = tortoise_config("sqlite://:memory:")["apps"]
    executor = MigrationExecutor(get_connection("default"), config)
    plan = await executor.plan(None)
    return [step.migration.name for step in plan if not step.backward]
