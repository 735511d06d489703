"""Migrations: the models match them, and an old database upgrades without losing rows."""

from __future__ import annotations

from webgate.db.makemigrations import changes


async def test_models_and_migrations_agree():
    assert await changes() == [], "run `webgate makemigrations --name <what>` and commit the file"
