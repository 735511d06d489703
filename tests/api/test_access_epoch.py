"""The access epoch: what moves it (running sessions then re-check in full) and what does not."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.api._assets_helpers import asset
from tests.helpers import login, make_user
from webgate.db.models import AccessEpoch
from webgate.policy import epoch
from webgate.policy.epoch import EpochReader, bump


async def _epoch() -> int:
    row = await AccessEpoch.get(id=epoch.ROW)
    return row.value


async def test_an_admins_change_moves_it_and_logging_in_does_not(client: httpx.AsyncClient, services) -> None:  # type: ignore[no-untyped-def]
    await make_user(services, "root-admin", superadmin=True, role="OrgAdmin")
    before = await _epoch()
    await login(client, "root-admin")
    assert await _epoch() == before, "a login cannot withdraw access: no full re-checks for it"
    a = await asset(client, "srv")
    assert await _epoch() == before + 1
    r = await client.patch(f"/api/v1/assets/{a['id']}", json={"protocols": "not a list"})
    assert r.status_code == 422
    assert await _epoch() == before + 2, "a refused change moves it too: a handler may have written half"
    await client.get(f"/api/v1/assets/{a['id']}")
    assert await _epoch() == before + 2, "reading changes nothing"


async def test_an_anonymous_request_cannot_move_it(client: httpx.AsyncClient) -> None:
    """Or anyone could make every live session re-check in full, all the time."""
    before = await _epoch()
    r = await client.post("/api/v1/assets", json={"name": "x"})
    assert r.status_code == 401
    r = await client.post("/api/v1/auth/login", json={"username": "nobody", "password": "wrong"})
    assert r.status_code in (400, 401)
    assert await _epoch() == before


async def test_a_process_reads_it_once_per_interval_for_all_its_sessions(services, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    reader = EpochReader()
    reads = []
    real = reader._read

    async def counted() -> int:
        reads.append(1)
        return await real()

    monkeypatch.setattr(reader, "_read", counted)
    values = await asyncio.gather(*(reader.current() for _ in range(200)))
    assert len(set(values)) == 1 and len(reads) == 1
    await bump()
    assert await reader.current() == values[0], "within READ_EVERY the reading stands"
    monkeypatch.setattr(epoch, "READ_EVERY", 0.0)
    assert await reader.current() == values[0] + 1
    assert len(reads) == 2


async def test_a_missing_row_is_recreated_by_the_next_bump(services) -> None:  # type: ignore[no-untyped-def]
    await AccessEpoch.all().delete()
    await bump()
    assert await _epoch() == 1
