"""Sessions across a gateway restart: close what a crash left open, say goodbye on a clean stop.

Start-up: a session row of *this* node still ``live`` or ``starting`` belongs to a
process that died (nothing on a freshly started node holds a session yet), so it is
ended with ``gateway_restarted`` and the recording spool it left (flushed every
second) is stored like a normal recording: the asciicast spool of a terminal, or the
relayed Guacamole stream of a desktop, each cut back to its last whole event or
instruction. This assumes one process per
``WEBGATE_NODE_NAME``: two processes under one name would close each other's rows.

Clean stop: uvicorn fails every open WebSocket with close code 1012 as the very first
step of its shutdown, before the application's lifespan shutdown runs, so a lifespan
hook is too late to tell anyone anything. ``GracefulServer`` (used by ``webgate
serve``) runs ``drain`` first instead: every live session is ended with
``gateway_shutdown`` ("The gateway is restarting. Reconnect in a moment."), its
socket sends that ``exit`` frame and closes with 1000, and only then does uvicorn go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from webgate.db.models import FileTransfer, OperationLog, Session
from webgate.recording.asciicast import Finished, collect_spool
from webgate.recording.guac import collect_spool as collect_guac_spool
from webgate.recording.guac import guac_spool_dir
from webgate.sessions.endings import ending_for
from webgate.sessions.registry import live_sessions
from webgate.settings import Settings

if TYPE_CHECKING:
    from webgate.services import Services

log = logging.getLogger("webgate.sessions")

DRAIN_SECONDS = 5.0


def terminal_spool_dir(settings: Settings) -> Path:
    return settings.data_dir / "spool" / "terminal"


async def close_stale_sessions(services: Services) -> int:
    """End this node's rows a crash left open; returns how many."""
    now = services.clock.now()
    ending = ending_for("gateway_restarted")
    rows = await Session.filter(node_name=services.settings.node_name, status__in=("live", "starting"))
    for row in rows:
        finished = None
        try:
            finished = await _collect(services, row)
        except Exception:
            log.exception("session %s: the recording spool left by a crash could not be stored", row.id)
        changes: dict[str, Any] = {"status": "ended", "ended_at": now, "end_reason": ending.reason}
        if finished is not None:
            changes.update(recording_key=finished.key, recording_sha256=finished.sha256)
        await Session.filter(id=row.id, status__in=("live", "starting")).update(**changes)
        await _forget_drive(services, row)
        await OperationLog.create(
            org_id=row.org_id, actor=row.username, actor_id=row.user_id, action="disconnect",
            resource_type="session", resource_id=str(row.id), resource_name=row.asset_name,
            changes={"end_reason": ending.reason, "recording": finished is not None}, ip=row.client_ip,
            created_at=now)
    if rows:
        log.warning("closed %d session(s) left open by a previous run of node %s", len(rows),
                    services.settings.node_name)
    return len(rows)


async def _forget_drive(services: Services, row: Session) -> None:
    """A crash leaves a desktop's shared-drive spool and its unfinished transfers: remove, fail."""
    from webgate.protocols.rdp import drive_dir

    await asyncio.to_thread(shutil.rmtree, drive_dir(services.settings.data_dir, row.id), True)
    await FileTransfer.filter(session_id=row.id, status="started").update(status="failed",
                                                                          ended_at=services.clock.now())


async def _collect(services: Services, row: Session) -> Finished | None:
    """Store whatever recording the dead process left for this row, terminal or desktop."""
    if (row.playback or {}).get("format") == "guacamole":
        return await collect_guac_spool(row.id, guac_spool_dir(services.settings.data_dir), services.storage)
    return await collect_spool(row.id, terminal_spool_dir(services.settings), services.storage)


def open_sockets(services: Services) -> set[asyncio.Task[Any]]:
    """The tasks serving session WebSockets on this node (terminal and desktop sockets add and
    remove themselves), so a clean stop waits for each to say goodbye."""
    tasks = services.extras.get("terminal_sockets")
    if tasks is None:
        tasks = services.extras["terminal_sockets"] = set()
    return tasks  # type: ignore[no-any-return]


@contextlib.contextmanager
def awaited_at_shutdown(services: Services) -> Iterator[None]:
    """Run a session socket's body so that a clean stop waits for it to say goodbye."""
    me = asyncio.current_task()
    if me is not None:
        open_sockets(services).add(me)
    try:
        yield
    finally:
        if me is not None:
            open_sockets(services).discard(me)


async def drain(services: Services) -> int:
    """End every live session with ``gateway_shutdown`` and let the sockets send their ``exit`` frame."""
    sessions = list(live_sessions(services))
    ending = ending_for("gateway_shutdown")
    await asyncio.gather(*(s.stop(ending) for s in sessions), return_exceptions=True)
    sockets = {t for t in open_sockets(services) if not t.done()}
    if sockets:
        await asyncio.wait(sockets, timeout=DRAIN_SECONDS)
    return len(sessions)


class GracefulServer(uvicorn.Server):
    """uvicorn that ends live sessions with a word to the browser before it drops the sockets."""

    def __init__(self, config: uvicorn.Config, app: Any) -> None:
        super().__init__(config)
        self._webgate_app = app

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # What start-up made (routes, models, schemas) lives as long as the process: frozen, a
        # full garbage collection no longer walks it, and its pause (tens of ms) no longer lands
        # in the middle of somebody's keystroke or frame.
        gc.collect()
        gc.freeze()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:  # no new connections while the old ones are told goodbye
            server.close()
        services = getattr(self._webgate_app.state, "services", None)
        if services is not None:
            try:
                count = await drain(services)
            except Exception:
                log.exception("live sessions could not all be ended before the shutdown")
            else:
                if count:
                    log.info("ended %d live session(s) for the shutdown", count)
        await super().shutdown(sockets)
