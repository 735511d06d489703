"""Sessions across a gateway restart: rows a crash left open are closed, a clean stop says goodbye."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
from typing import Any

import pytest
import websockets

from tests.integration.conftest import SshPeer
from tests.integration.terminal_client import (
    Term,
    grant,
    make_account,
    make_ssh_asset,
    user_and_cookie,
)
from tests.peers.desktop import VNC_PASSWORD, Desktop, GuacClient
from tests.peers.gateway import serve
from webgate.db.models import Asset, OperationLog, Organization, Session
from webgate.recording.guac import guac_spool_dir
from webgate.services import Services
from webgate.sessions.recovery import GracefulServer, close_stale_sessions, terminal_spool_dir
from webgate.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(settings: Settings, guacd_port: int) -> Settings:
    return settings.with_(guacd=(("127.0.0.1", guacd_port),))


async def _row(services: Services, status: str, node: str = "test-node") -> Session:
    org = await Organization.get(is_default=True)
    return await Session.create(org=org, username="alice", asset_name="web01", protocol="ssh", node_name=node,
                                status=status, started_at=services.clock.now())


async def test_rows_left_open_by_a_crash_of_this_node_are_closed_with_their_spool(services: Services) -> None:
    live, starting = await _row(services, "live"), await _row(services, "starting")
    other_node, done = await _row(services, "live", node="node-b"), await _row(services, "ended")
    spool = terminal_spool_dir(services.settings)
    spool.mkdir(parents=True, exist_ok=True)
    header = json.dumps({"version": 2, "width": 80, "height": 24})
    # Flushed every second until the crash, which cut the last event in half.
    (spool / f"{live.id}.cast").write_text(f'{header}\n[0.1, "o", "hello"]\n[0.2, "o", "wor')

    assert await close_stale_sessions(services) == 2
    live, starting = await Session.get(id=live.id), await Session.get(id=starting.id)
    for row in (live, starting):
        assert row.status == "ended" and row.end_reason == "gateway_restarted" and row.ended_at is not None
    raw = await services.storage.get_bytes(live.recording_key)
    assert hashlib.sha256(raw).hexdigest() == live.recording_sha256
    assert gzip.decompress(raw).decode() == f'{header}\n[0.1, "o", "hello"]\n'  # whole lines only, replayable
    assert starting.recording_key == "" and not (spool / f"{live.id}.cast").exists()
    assert (await Session.get(id=other_node.id)).status == "live"  # another node's session is not ours to close
    assert (await Session.get(id=done.id)).end_reason == ""
    logs = await OperationLog.filter(action="disconnect").values_list("resource_id", flat=True)
    assert sorted(logs) == sorted([str(live.id), str(starting.id)])
    assert await close_stale_sessions(services) == 0  # idempotent


async def test_a_desktop_recording_left_by_a_crash_is_stored_with_its_row(services: Services) -> None:
    org = await Organization.get(is_default=True)
    row = await Session.create(org=org, username="alice", asset_name="desk01", protocol="vnc", node_name="test-node",
                               status="live", started_at=services.clock.now(), playback={"format": "guacamole"})
    spool = guac_spool_dir(services.settings.data_dir)
    spool.mkdir(parents=True)
    dump = "4.size,1.0,3.800,3.600;4.sync,3.123;"  # what the relay had written when the gateway died
    (spool / f"{row.id}.guac").write_text(dump + "4.blob,1.0,")

    assert await close_stale_sessions(services) == 1
    row = await Session.get(id=row.id)
    assert row.end_reason == "gateway_restarted" and row.recording_key.endswith(".guac.gz")
    raw = await services.storage.get_bytes(row.recording_key)
    assert hashlib.sha256(raw).hexdigest() == row.recording_sha256 and gzip.decompress(raw).decode() == dump
    assert not list(spool.iterdir())


async def test_the_app_closes_stale_rows_when_it_starts(settings: Any, clock: Any) -> None:
    """The lifespan calls close_stale_sessions: a row of this node is closed by a (re)start."""
    from webgate.app import create_app

    first = create_app(settings, clock)
    async with first.router.lifespan_context(first):
        row = await _row(first.state.services, "live")
    second = create_app(settings, clock)
    async with second.router.lifespan_context(second):
        assert (await Session.get(id=row.id)).end_reason == "gateway_restarted"


async def test_clean_shutdown_tells_live_sessions_to_reconnect(app: Any, services: Services, sshd: SshPeer) -> None:
    server, task, gateway = await serve(app, lambda config: GracefulServer(config, app))
    user, cookie = await user_and_cookie(services, gateway)
    asset = await make_ssh_asset(services, sshd.port)
    await make_account(services, asset, "ops", sshd.password_user, secret=sshd.password)
    await grant(user, asset, ["ops"])
    terms = [await Term.connect(gateway, cookie, f"asset={asset.id}&account=ops") for _ in range(2)]
    for term in terms:
        await term.opened()
        await term.run("echo before-restart", "before-restart")
    server.should_exit = True
    for term in terms:
        exit_frame = await term.until_control("exit")
        assert exit_frame["reason"] == "gateway_shutdown"
        assert exit_frame["message"] == "The gateway is restarting. Reconnect in a moment."
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(term.ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000  # not uvicorn's 1012
    await asyncio.wait_for(task, 15)
    rows = await Session.all()
    assert len(rows) == 2 and all(r.end_reason == "gateway_shutdown" and r.recording_key for r in rows)


async def test_clean_shutdown_tells_a_remote_desktop_to_reconnect(app: Any, services: Services,
                                                                  desktop: Desktop) -> None:
    server, task, gateway = await serve(app, lambda config: GracefulServer(config, app))
    user, cookie = await user_and_cookie(services, gateway)
    org = await Organization.get(is_default=True)
    asset = await Asset.create(org=org, name="desk01", address="127.0.0.1", platform="linux",
                               protocols=[{"name": "vnc", "port": desktop.vnc_port}])
    await make_account(services, asset, "vncacct", "", secret=VNC_PASSWORD)
    perm = await grant(user, asset, ["vncacct"])
    perm.protocols = ["vnc"]
    await perm.save()
    client = await GuacClient.connect(gateway, cookie, f"asset={asset.id}&account=vncacct&width=800&height=600")
    await client.until("img")
    server.should_exit = True
    error = await client.until("error", timeout=15)
    assert error[1] == "The gateway is restarting. Reconnect in a moment." and error[2] == "523"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(client.ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000  # not uvicorn's 1012
    await asyncio.wait_for(task, 15)
    row = await Session.get(protocol="vnc")
    assert row.end_reason == "gateway_shutdown" and row.recording_key.endswith(".guac.gz")
