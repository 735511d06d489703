"""The access epoch: a counter in the database that every write able to withdraw access moves.

A live session must end when its person loses the right to it. Re-running the permission
resolver for every session every 15 seconds is exact but costs ~12 queries each: at 500
sessions that was a third of the gateway's event loop (bench/terminal.py --profile). So a
session re-runs the full check only when

- the epoch moved since its last full check (someone changed users, groups, roles,
  permissions, assets, accounts, nodes, orgs, tokens, applets, settings or logged out), or
- a time limit read at that check came due (the person's or the login's expiry, a
  permission's end date), or
- ``FULL_EVERY`` passed anyway: the safety net for writes that bypass the API (an operator's
  SQL, a restore), which then take effect within that interval instead of 15 seconds.

The API moves the epoch after every state-changing request it served, whatever its outcome
(``webgate.api._base.endpoint``), except the few marked as unable to withdraw access (log in,
favourites). Over-counting only costs a full check; missing a write would delay revocation
up to ``FULL_EVERY``, which is why the bump sits in the one place every route goes through.
The row lives in the shared database, so a write on one node reaches sessions on every node.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from tortoise.expressions import F

from webgate.db.models import AccessEpoch

if TYPE_CHECKING:
    from webgate.services import Services

ROW = 1
FULL_EVERY = 300.0  # seconds: the longest a session goes without a full check, whatever the epoch says
READ_EVERY = 1.0  # seconds: a process reads the counter at most this often, for all its sessions at once


async def bump() -> None:
    """Move the epoch: live sessions everywhere re-check fully at their next re-check (≤ 15 s)."""
    if not await AccessEpoch.filter(id=ROW).update(value=F("value") + 1):
        await ensure_row()
        await AccessEpoch.filter(id=ROW).update(value=F("value") + 1)


async def ensure_row() -> None:
    await AccessEpoch.get_or_create(id=ROW, defaults={"value": 0})


class EpochReader:
    """This process's view of the epoch: one query per ``READ_EVERY`` however many sessions ask.

    A caller must take the value *before* reading what it checks: the value it gets is never
    newer than the database's at that moment (the bump follows the write it announces), so a
    check that records it has seen at least every write that value stands for."""

    def __init__(self) -> None:
        self._value: int | None = None
        self._read_at = 0.0
        self._reading: asyncio.Future[int] | None = None

    async def current(self) -> int:
        if self._value is not None and _elapsed() - self._read_at < READ_EVERY:
            return self._value
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read())
        reading = self._reading
        try:
            return await asyncio.shield(reading)
        finally:
            if self._reading is reading and reading.done():
                self._reading = None

    async def _read(self) -> int:
        started = _elapsed()
        value = await AccessEpoch.filter(id=ROW).first().values_list("value", flat=True)
        self._value, self._read_at = int(value or 0), started
        return self._value


def epoch_reader(services: Services) -> EpochReader:
    """This process's reader, created on first use and kept with the services."""
    reader = services.extras.get("access_epoch")
    if reader is None:
        reader = services.extras["access_epoch"] = EpochReader()
    return reader  # type: ignore[no-any-return]


def _elapsed() -> float:
    """Real elapsed time (the event loop's), not the policy clock: how fresh a reading is."""
    return asyncio.get_running_loop().time()
