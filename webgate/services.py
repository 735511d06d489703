"""The one Services object: everything with a lifetime, built and closed by the lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webgate import db
from webgate.clock import Clock
from webgate.db.crypto import SecretBox, load_or_create_key
from webgate.policy.defaults import merge
from webgate.recording.storage import Storage, create_storage
from webgate.settings import Settings
from webgate.sharing.bus import Bus, create_bus


@dataclass
class Services:
    settings: Settings
    clock: Clock
    box: SecretBox
    bus: Bus
    storage: Storage
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    async def start(cls, settings: Settings, clock: Clock | None = None, *, migrate: bool = True) -> Services:
        clock = clock or Clock()
        box = SecretBox(load_or_create_key(settings.key_file))
        await db.open_database(settings.db_url)
        if migrate:
            await db.migrate()
        from webgate.bootstrap import ensure_system_rows

        await ensure_system_rows()
        return cls(settings=settings, clock=clock, box=box,
                   bus=create_bus(settings.redis_url, clock.monotonic), storage=create_storage(settings))

    async def close(self) -> None:
        await self.bus.close()
        await self.storage.close()
        await db.close_database()

    async def policy(self, org_id: object | None = None) -> dict[str, dict[str, Any]]:
        """Effective settings for an org: defaults, then the global row, then the org's row."""
        from webgate.db.models import SettingsRow

        rows = await SettingsRow.filter(org_id=None).first(), None
        if org_id is not None:
            rows = rows[0], await SettingsRow.filter(org_id=org_id).first()
        return merge(*(r.data for r in rows if r is not None))
