"""VNC remote desktops through /ws/guacamole: real guacd 1.3.0, real Xvnc with an xterm drawing.

A Guacamole client drives the gateway's WebSocket as guacamole-common-js does. What the
browser sees first is the tunnel-internal ``0.,36.<uuid>;`` (webgate's own id), then
drawing instructions: guacd's ``args``/``ready`` are consumed by the gateway's handshake.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import uuid

import pytest

from tests.integration.terminal_client import make_account, user_and_cookie
from tests.peers.desktop import VNC_PASSWORD, Desktop, GuacClient, ended_row, open_vnc
from webgate.db.models import Asset, OperationLog, Organization, Session
from webgate.protocols.guacamole.instruction import Parser, encode
from webgate.services import Services
from webgate.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(settings: Settings, desktop: Desktop) -> Settings:
    return settings.with_(guacd=(("127.0.0.1", desktop.guacd_port),))


async def _vnc_asset(services: Services, port: int, password: str, actions: tuple[str, ...] = ("connect",),
                     ) -> tuple[str, str, str]:
    org = await Organization.get(is_default=True)
    asset = await Asset.create(org=org, name="desk01", address="127.0.0.1", platform="linux",
                               protocols=[{"name": "vnc", "port": port}])
    await make_account(services, asset, "vncacct", "", secret=password)
    return str(asset.id), "vncacct", ",".join(actions)


async def test_browser_sees_tunnel_id_then_drawing_and_recording_is_complete(
        services: Services, gateway: str, desktop: Desktop) -> None:
    client = await open_vnc(services, gateway, desktop)
    await client.until("img")
    await client.until("sync")
    first = client.messages[0]
    assert first.startswith("0.,36.") and first.endswith(";")
    tunnel_id = uuid.UUID(client.instructions[0][1])
    assert "ready" not in client.opcodes() and "args" not in client.opcodes()
    assert client.opcodes()[1] == "webgate" and client.opcodes()[2] == "size"
    info = json.loads(client.instructions[1][2])  # the gateway's own: what the page shows
    assert client.instructions[1][1] == "session" and (info["protocol"], info["asset"]) == ("vnc", "desk01")
    assert info["actions"] == ["connect"] and set(info["watermark"]) == {"enabled", "content", "text"}
    assert VNC_PASSWORD not in client.messages[1]
    await client.send(encode("", "ping", "12345"))
    await client.send(encode("mouse", "100", "100", "0") + encode("key", "97", "1") + encode("key", "97", "0"))
    await client.until("", args=["ping", "12345"])  # the internal ping is answered by the gateway
    await client.ws.close()
    row = await ended_row()
    assert row.protocol == "vnc" and row.end_reason == "client_closed" and row.id != tunnel_id
    assert info["session_id"] == str(row.id)
    assert row.bytes_out > 0 and row.bytes_in > 0 and row.recording_key.endswith(".guac.gz")
    packed = await services.storage.get_bytes(row.recording_key)
    assert hashlib.sha256(packed).hexdigest() == row.recording_sha256
    text = gzip.decompress(packed).decode()
    parser = Parser(max_chars=1 << 22, max_elements=4096)
    recorded = parser.feed(text)
    assert parser.pending == 0 and text.endswith(";"), "the recording ends in a complete instruction"
    opcodes = {i[0] for i in recorded}
    assert {"size", "img", "sync"} <= opcodes and "key" in opcodes  # the person's keys, as guacd records them
    keys = [i for i in recorded if i[0] == "key"]
    assert [k[:3] for k in keys] == [["key", "97", "1"], ["key", "97", "0"]] and all(k[3].isdigit() for k in keys)
    # What the browser was shown is what the auditor will see: the recording starts with the
    # same instructions in the same order (the browser may have closed before reading the rest).
    shown = [i for i in client.instructions if i[0] not in ("", "webgate")]
    drawn = [i for i in recorded if i[0] not in ("key", "mouse")]
    assert len(shown) > 2 and drawn[:len(shown)] == shown
    assert not list((services.settings.data_dir / "spool" / "guacamole").iterdir()), "the spool is gone"
    actions = await OperationLog.filter(resource_type="session").values_list("action", flat=True)
    assert sorted(actions) == ["connect", "disconnect"]


async def test_wrong_password_is_a_clear_error_not_a_session(services: Services, gateway: str,
                                                            desktop: Desktop) -> None:
    client = await open_vnc(services, gateway, desktop, password="wrong-one")
    error = await client.until("error")
    assert error[2] == "519" and "refused the login" in error[1]
    row = await ended_row()
    assert row.end_reason == "login_failed"


@pytest.mark.parametrize("attack", [
    encode("select", "vnc"),
    encode("connect", "VERSION_1_3_0", "127.0.0.1", "22"),
    encode("args", "VERSION_1_3_0"),
    "4.size,5.1024,3.768;",  # a length lie
    encode("clipboard", "0", "text/plain"),  # no paste permission
    encode("blob", "7", "aGk="),  # a stream the browser never opened
])
async def test_injection_closes_with_error_and_audit(services: Services, gateway: str, desktop: Desktop,
                                                     attack: str) -> None:
    client = await open_vnc(services, gateway, desktop)
    await client.until("sync")
    await client.send(attack)
    error = await client.until("error")
    assert error[2] == "768"
    await client.wait_closed(5)
    assert client.ws.close_code == 1008
    row = await ended_row()
    assert row.end_reason == "protocol_error"
    refused = await OperationLog.filter(action="input_refused").first()
    assert refused is not None and refused.resource_id == str(row.id)


async def test_without_permission_an_error_and_no_session(services: Services, gateway: str,
                                                         desktop: Desktop) -> None:
    _, cookie = await user_and_cookie(services, gateway)
    asset_id, account, _ = await _vnc_asset(services, desktop.vnc_port, VNC_PASSWORD)
    client = await GuacClient.connect(gateway, cookie, f"asset={asset_id}&account={account}")
    error = await client.until("error")
    assert error[2] == "768" and "not found" in error[1].lower()
    assert await Session.all().count() == 0


async def test_a_length_lie_while_opening_is_refused_and_audited(services: Services, gateway: str,
                                                                 desktop: Desktop) -> None:
    client = await open_vnc(services, gateway, desktop)
    await client.send("4.size,2.1024;")
    error = await client.until("error")
    assert error[2] == "768"
    refused = await OperationLog.filter(action="input_refused").first()
    assert refused is not None and "length" in refused.changes["reason"]
    await asyncio.sleep(0.5)
    assert all(row.status == "ended" for row in await Session.all())


async def test_killed_session_ends_with_a_sentence_and_523(services: Services, gateway: str,
                                                           desktop: Desktop) -> None:
    from webgate.sessions.control import request_kill

    client = await open_vnc(services, gateway, desktop)
    await client.until("sync")
    row = (await Session.all())[0]
    assert row.status == "live"
    assert await request_kill(services, row.id, "admin") is True
    error = await client.until("error")
    assert error[2] == "523" and "ended by admin" in error[1]
    assert (await ended_row()).end_reason == "killed"
