"""Whole-database views for the suite: a fingerprint ("nothing changed") and a text scan."""

from __future__ import annotations

from typing import Any

from tortoise.connection import get_connection

from tests.conftest import BACKEND


async def tables() -> list[str]:
    conn = get_connection("default")
    if BACKEND == "mysql":
        rows = await conn.execute_query_dict("SHOW TABLES")
        return sorted(next(iter(r.values())) for r in rows)
    rows = await conn.execute_query_dict("SELECT name FROM sqlite_master WHERE type='table'")
    return sorted(r["name"] for r in rows if not r["name"].startswith("sqlite_"))


async def rows(table: str) -> list[dict[str, Any]]:
    quote = "`" if BACKEND == "mysql" else '"'
    sql = f"SELECT * FROM {quote}{table}{quote}"  # noqa: S608 - table names come from the catalogue
    return await get_connection("default").execute_query_dict(sql)


async def snapshot() -> dict[str, list[str]]:
    """Every row of every table as sorted text: equal snapshots mean nothing was written."""
    out: dict[str, list[str]] = {}
    for table in await tables():
        if table == "tortoise_migrations":
            continue
        out[table] = sorted(repr(sorted((k, str(v)) for k, v in row.items())) for row in await rows(table))
    return out


async def cells_containing(needles: list[str]) -> list[str]:
    """``table.column`` for every stored value that contains one of the needles."""
    found: list[str] = []
    for table in await tables():
        for row in await rows(table):
            for column, value in row.items():
                text = value.decode("latin-1") if isinstance(value, bytes | bytearray) else str(value)
                found.extend(f"{table}.{column} holds {n[:6]}…" for n in needles if n in text)
    return found


def diff(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    return [table for table in sorted(set(before) | set(after)) if before.get(table) != after.get(table)]
