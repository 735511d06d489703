"""Typed (@INPUT) logins for remote desktops, and how a closed tab ends the row.

The gateway asks the browser over the tunnel (``webgate "credentials" <json>``) before it
dials; the browser answers with ``webgate,credentials,<username>,<password>``, which the
gateway consumes: it never reaches guacd's recording, a frame the gateway sends, a log line
or a row. The answer is taken only when asked, once, and bounded; anything else is refused
input (error 768, close 1008, an ``input_refused`` audit row). Real guacd 1.3.0 + Xvnc, and
xrdp for RDP's typed user name.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import time
import uuid

import pytest

from tests.integration.terminal_client import grant, make_account, user_and_cookie
from tests.integration.test_rdp import first_frame
from tests.peers.desktop import VNC_PASSWORD, Desktop, GuacClient
from tests.peers.desktop import ended_row as _ended_row
from tests.peers.xrdp import RdpPeer
from webgate.db.models import Asset, LoginLog, OperationLog, Organization, Session
from webgate.protocols.guacamole.instruction import encode
from webgate.services import Services
from webgate.sessions.endings import Ending
from webgate.settings import Settings
from webgate.ws.guacamole import GuacamoleConnection

pytestmark = pytest.mark.slow

INPUT = "@INPUT"


@pytest.fixture
def settings(settings: Settings, desktop: Desktop) -> Settings:
    return settings.with_(guacd=(("127.0.0.1", desktop.guacd_port),))


async def _asset(services: Services, gateway: str, protocol: str, port: int, account: str = INPUT,
                 user: str = "alice") -> tuple[str, str]:
    """A user allowed to reach a desktop with ``account``; returns (cookie, tunnel query)."""
    person, cookie = await user_and_cookie(services, gateway, user)
    org = await Organization.get(is_default=True)
    asset = await Asset.create(org=org, name=f"{protocol}-{uuid.uuid4().hex[:8]}", address="127.0.0.1",
                               platform="windows" if protocol == "rdp" else "linux",
                               protocols=[{"name": protocol, "port": port}],
                               extra={"rdp_ignore_cert": True} if protocol == "rdp" else {})
    if account != INPUT:
        await make_account(services, asset, account, "", secret=VNC_PASSWORD)
    perm = await grant(person, asset, [account], ("connect",), name=f"p-{asset.name}")
    perm.protocols = [protocol]
    await perm.save()
    return cookie, f"asset={asset.id}&account={account}&protocol={protocol}&width=800&height=600"


async def _asked(client: GuacClient) -> dict[str, object]:
    instruction = await client.until("webgate", where=lambda i: i[1] == "credentials")
    info = json.loads(instruction[2])
    assert isinstance(info, dict)
    return info


def _answer(username: str, password: str) -> str:
    return encode("webgate", "credentials", username, password)


async def _assert_nowhere(secret: str, client: GuacClient, caplog: pytest.LogCaptureFixture,
                          services: Services, row: Session | None) -> None:
    assert not any(secret in m for m in client.messages), "the password came back in a frame"
    logged = [f"{r.name}: {r.getMessage()[:300]}" for r in caplog.records
              if secret in r.getMessage() and r.name != "websockets.client"]  # that one is the browser's side
    assert not logged, f"the password was logged: {logged}"
    for model in (Session, OperationLog, LoginLog):
        for values in await model.all().values():
            assert secret not in json.dumps(values, default=str, ensure_ascii=False), f"in {model.__name__}"
    if row is not None and row.recording_key:
        recording = gzip.decompress(await services.storage.get_bytes(row.recording_key)).decode()
        assert secret not in recording, "the password is in the recording"


async def _audited_refusal(why: str = "") -> OperationLog:
    for _ in range(100):
        found = await OperationLog.filter(action="input_refused").order_by("-created_at").first()
        if found is not None and why in str((found.changes or {}).get("reason", "")):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no input_refused audit row saying {why!r}")


async def _refused(client: GuacClient, why: str) -> None:
    """Error 768 in words, close 1008, and an audit row with the reason."""
    error = await client.until("error", timeout=15)
    assert error[2] == "768" and "cannot accept" in error[1], error
    try:
        await asyncio.wait_for(client.ws.wait_closed(), 10)
    except TimeoutError:
        raise AssertionError("the gateway did not close the socket") from None
    assert client.ws.close_code == 1008
    await _audited_refusal(why)


async def test_a_typed_vnc_password_opens_the_desktop_and_is_kept_nowhere(
        services: Services, gateway: str, desktop: Desktop, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cookie, query = await _asset(services, gateway, "vnc", desktop.vnc_port)
    client = await GuacClient.connect(gateway, cookie, query)
    info = await _asked(client)
    assert info == {"username": "", "need_username": False, "need_password": True}
    assert await Session.all().count() == 0, "no row before the login is typed"
    await client.send(encode("nop") * 3 + _answer("", VNC_PASSWORD))  # keep-alives while typing are dropped
    await client.until("img")
    session = json.loads((await client.until("webgate", where=lambda i: i[1] == "session"))[2])
    await client.send(encode("key", "97", "1") + encode("key", "97", "0"))
    await client.until("sync")
    await client.ws.close()
    row = await _ended_row()
    assert str(row.id) == session["session_id"] and row.end_reason == "client_closed"
    assert row.recording_key and row.bytes_in > 0
    await _assert_nowhere(VNC_PASSWORD, client, caplog, services, row)


async def test_rdp_asks_the_user_name_too_and_the_row_keeps_the_typed_one(
        services: Services, gateway: str, xrdp: RdpPeer, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    caplog.set_level(logging.DEBUG)
    cookie, query = await _asset(services, gateway, "rdp", xrdp.port)
    client = await GuacClient.connect(gateway, cookie, query)
    assert await _asked(client) == {"username": "", "need_username": True, "need_password": True}
    await client.send(_answer(xrdp.user, xrdp.password))
    await first_frame(client)
    session = await _session_id(client)
    await client.send(encode("key", "97", "1") + encode("key", "97", "0"))
    await client.until("sync")
    await client.ws.close()
    row = await _ended(session)
    assert row.account_username == xrdp.user and row.end_reason == "client_closed" and row.recording_key
    await _assert_nowhere(xrdp.password, client, caplog, services, row)


async def test_a_wrong_typed_vnc_password_is_reported_in_words(
        services: Services, gateway: str, desktop: Desktop, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-typed-pw"
    cookie, query = await _asset(services, gateway, "vnc", desktop.vnc_port)
    client = await GuacClient.connect(gateway, cookie, query)
    await _asked(client)
    await client.send(_answer("", wrong))
    error = await client.until("error", timeout=20)
    assert "refused the login (wrong password?)" in error[1] and error[2] == "519", error
    row = await _ended_row()
    assert row.end_reason == "login_failed"
    await _assert_nowhere(wrong, client, caplog, services, row)


async def test_credentials_after_opening_close_the_session_and_are_audited(
        services: Services, gateway: str, desktop: Desktop, caplog: pytest.LogCaptureFixture) -> None:
    cookie, query = await _asset(services, gateway, "vnc", desktop.vnc_port)
    client = await GuacClient.connect(gateway, cookie, query)
    await _asked(client)
    await client.send(_answer("", VNC_PASSWORD))
    await client.until("img")
    await client.send(_answer("", "again-" + VNC_PASSWORD))
    await _refused(client, "did not ask")
    row = await _ended_row()
    assert row.end_reason == "protocol_error"
    audit = await _audited_refusal()
    assert audit.resource_id == str(row.id) and "again-" not in json.dumps(audit.changes)
    await _assert_nowhere("again-" + VNC_PASSWORD, client, caplog, services, row)


async def test_credentials_twice_or_unasked_or_oversized_are_refused(
        services: Services, gateway: str, desktop: Desktop) -> None:
    cookie, query = await _asset(services, gateway, "vnc", desktop.vnc_port)
    # Twice in one message: the second is refused even while the session is still opening.
    client = await GuacClient.connect(gateway, cookie, query)
    await _asked(client)
    await client.send(_answer("", VNC_PASSWORD) + _answer("", VNC_PASSWORD))
    await _refused(client, "did not ask")
    # Oversized: refused before anything is dialled.
    client = await GuacClient.connect(gateway, cookie, query)
    await _asked(client)
    await client.send(_answer("", "x" * 1025))
    await _refused(client, "at most 1024")
    # A stored account is never asked: an answer nobody asked for is refused input.
    cookie, query = await _asset(services, gateway, "vnc", desktop.vnc_port, account="vncacct", user="bob")
    client = await GuacClient.connect(gateway, cookie, query)
    await client.send(_answer("", VNC_PASSWORD))
    await _refused(client, "did not ask")
    assert await OperationLog.filter(action="input_refused").count() == 3


async def test_leaving_at_the_login_prompt_leaves_no_session(services: Services, gateway: str,
                                                             desktop: Desktop) -> None:
    cookie, query = await _asset(services, gateway, "vnc", desktop.vnc_port)
    client = await GuacClient.connect(gateway, cookie, query)
    await _asked(client)
    await client.ws.close()
    await asyncio.sleep(1)
    assert await Session.all().count() == 0


async def test_no_answer_in_time_ends_in_words_without_a_session(services: Services, gateway: str, desktop: Desktop,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("webgate.ws.guacamole.CREDENTIALS_TIMEOUT", 1.0)
    cookie, query = await _asset(services, gateway, "vnc", desktop.vnc_port)
    client = await GuacClient.connect(gateway, cookie, query)
    await _asked(client)
    error = await client.until("error", timeout=10)
    assert error[1:] == ["No login arrived in time; connect again.", "768"]
    assert await Session.all().count() == 0


async def test_closing_the_tab_ends_as_closed_even_when_the_relay_notices_first_and_a_drop_as_gone(
        services: Services, gateway: str, desktop: Desktop, monkeypatch: pytest.MonkeyPatch) -> None:
    """Which side sees a closed tab first is a race: the reader (the browser's close frame) or
    the relay (its next send fails). Here the reader reports half a second late, as when it is
    busy with a batch of input, so the relay's send to the xterm's redraws always fails first.
    A closed tab is still ``client_closed``; a connection dropped without a close frame is
    ``client_gone``."""
    reader = GuacamoleConnection.read_loop

    async def late_reader(self: GuacamoleConnection) -> Ending:
        ending = await reader(self)
        await asyncio.sleep(0.5)  # the date in the xterm is redrawn (and relayed) every 0.2 s
        return ending

    monkeypatch.setattr(GuacamoleConnection, "read_loop", late_reader)
    cookie, query = await _asset(services, gateway, "vnc", desktop.vnc_port, account="vncacct")
    client = await GuacClient.connect(gateway, cookie, query)
    session = await _session_id(client)
    await client.ws.close()
    assert (await _ended(session)).end_reason == "client_closed"
    client = await GuacClient.connect(gateway, cookie, query)
    session = await _session_id(client)
    client.ws.transport.abort()  # the network drops: no close frame
    assert (await _ended(session)).end_reason == "client_gone"


async def _session_id(client: GuacClient) -> str:
    await client.until("img")
    return str(json.loads((await client.until("webgate", where=lambda i: i[1] == "session"))[2])["session_id"])


async def _ended(session_id: str) -> Session:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        row = await Session.get(id=session_id)
        if row.status == "ended" and await OperationLog.filter(action="disconnect", resource_id=session_id).exists():
            return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"session {session_id} was not finalised")
