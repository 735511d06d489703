"""Migrations: the models match them, and an existing database upgrades without losing rows."""

from __future__ import annotations

import pkgutil
import uuid
from collections.abc import AsyncIterator

import pytest
from tortoise.connection import get_connection

import webgate.db.migrations as migrations_pkg
from tests.conftest import BACKEND, MYSQL_URL
from webgate import db
from webgate.db.makemigrations import changes


async def test_models_and_migrations_agree():
    assert await changes() == [], "run `webgate makemigrations --name <what>` and commit the file"


@pytest.fixture
async def empty_db(tmp_path) -> AsyncIterator[str]:
    if BACKEND == "mysql":
        import pymysql

        name = f"webgate_mig_{uuid.uuid4().hex[:8]}"
        conn = pymysql.connect(host="127.0.0.1", user="root", password="", port=3306)
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        yield f"{MYSQL_URL}/{name}"
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE `{name}`")
        conn.close()
    else:
        yield f"sqlite://{tmp_path / 'old.sqlite3'}"


async def test_upgrade_from_first_migration_keeps_rows(empty_db):
    names = sorted(m.name for m in pkgutil.iter_modules(migrations_pkg.__path__))
    assert names and names[0].startswith("0001")
    await db.open_database(empty_db)
    try:
        assert await db.migrate(names[0]) == [names[0]]
        conn = get_connection("default")
        org_id = str(uuid.uuid4())
        await conn.execute_query(
            "INSERT INTO orgs (id, created_at, name, comment, is_default) VALUES (?, '2025-01-01 00:00:00', 'Legacy', 'kept', 0)"
            if BACKEND != "mysql" else
            "INSERT INTO orgs (id, created_at, name, comment, is_default) VALUES (%s, '2025-01-01 00:00:00', 'Legacy', 'kept', 0)",
            [org_id])
        applied = await db.migrate()
        assert applied == names[1:]
        assert await db.pending_migrations() == []
        from webgate.db.models import Organization

        org = await Organization.get(id=org_id)
        assert (org.name, org.comment) == ("Legacy", "kept")
        assert await db.migrate() == [], "a second run applies nothing"
    finally:
        await db.close_database()
