"""Developer helper: write a migration for model changes, and tell whether one is needed."""

from __future__ import annotations

from typing import Any

from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from webgate.db import tortoise_config


async def _writers() -> list[Any]:
    config = tortoise_config("sqlite://:memory:")
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        return await MigrationAutodetector(ctx.apps, config["apps"]).changes()


async def changes() -> list[str]:
    """Names of migrations that makemigrations would write (empty = models match migrations)."""
    return [w.name for w in await _writers()]


async def make(name: str | None = None) -> str:
    writers = await _writers()
    if not writers:
        return "No changes detected"
    out = []
    for writer in writers:
        if name:
            writer.name = f"{writer.name.split('_', 1)[0]}_{name}"
        out.append(str(writer.write()))
    return "Created " + ", ".join(out)
