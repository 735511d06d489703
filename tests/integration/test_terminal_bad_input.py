"""/ws/terminal under bad input and unauthorised use: clear error frames, nothing crashes."""

from __future__ import annotations

import asyncio

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
from webgate.db.models import Session
from webgate.services import Services

pytestmark = pytest.mark.slow


async def _setup(services: Services, gateway: str, sshd: SshPeer) -> tuple[str, str]:
    user, cookie = await user_and_cookie(services, gateway)
    asset = await make_ssh_asset(services, sshd.port)
    await make_account(services, asset, "ops", sshd.password_user, secret=sshd.password)
    await grant(user, asset, ["ops"])
    return cookie, f"asset={asset.id}&account=ops"


async def test_bad_control_messages_get_error_frames_and_the_session_goes_on(services: Services, gateway: str,
                                                                             sshd: SshPeer) -> None:
    cookie, query = await _setup(services, gateway, sshd)
    term = await Term.connect(gateway, cookie, query)
    await term.opened()
    cases = [
        ("{not json", "bad_message"),
        ('["resize"]', "bad_message"),
        ('{"type": "launch-missiles"}', "unknown_message"),
        ('{"type": "resize", "cols": 0, "rows": 0}', "validation_error"),
        ('{"type": "resize", "cols": 10000, "rows": 10000}', "validation_error"),
        ('{"type": "resize", "cols": "wide", "rows": 24}', "validation_error"),
        ('{"type": "credentials", "username": "x", "password": "y"}', "unexpected_credentials"),
    ]
    for text, code in cases:
        before = len([c for c in term.controls if c["type"] == "error"])
        await term.send(text)
        await term.wait_for(lambda t, n=before: len([c for c in t.controls if c["type"] == "error"]) > n)
        err = [c for c in term.controls if c["type"] == "error"][-1]
        assert err["code"] == code, (text, err)
        assert err["fatal"] is False and err["message"]
    unknown = [c for c in term.controls if c.get("code") == "unknown_message"][0]
    assert "resize" in unknown["details"]["known"]
    size = [c for c in term.controls if c.get("code") == "validation_error"][0]
    assert set(size["details"]["fields"]) == {"cols", "rows"}
    await term.send({"type": "ping", "t": 12})
    assert (await term.until_control("pong"))["t"] == 12
    await term.run("stty size", "24 80")  # bad resizes changed nothing
    assert (await Session.get()).status == "live"


async def test_input_before_open_is_refused_not_dropped(services: Services, gateway: str, sshd: SshPeer) -> None:
    cookie, query = await _setup(services, gateway, sshd)
    term = await Term.connect(gateway, cookie, query)
    await term.send(b"echo too-early\n")
    await term.send({"type": "resize", "cols": 90, "rows": 20})  # remembered and applied on open
    err = await term.until_control("error")
    assert err["code"] == "not_open" and not err["fatal"]
    await term.until_control("status", state="open")
    await term.run("stty size", "20 90")
    assert b"too-early" not in term.raw


async def test_oversized_frame_closes_with_error_and_finalises_row(services: Services, gateway: str,
                                                                   sshd: SshPeer) -> None:
    cookie, query = await _setup(services, gateway, sshd)
    term = await Term.connect(gateway, cookie, query)
    await term.opened()
    await term.send(b"x" * (2 << 20))
    err = await term.until_control("error")
    assert err["code"] == "too_large" and err["fatal"] is True
    await term.until_control("exit")
    await term.wait_for(lambda t: t.ws.close_code is not None)
    row = await Session.get()
    assert row.status == "ended" and row.end_reason == "protocol_error"
    big_text = '{"type": "ping", "t": "' + "x" * 10000 + '"}'
    term2 = await Term.connect(gateway, cookie, query)
    await term2.opened()
    await term2.send(big_text)
    assert (await term2.until_control("error"))["code"] == "too_large"


async def test_second_websocket_on_same_session_is_refused_and_first_unaffected(
        services: Services, gateway: str, sshd: SshPeer) -> None:
    cookie, query = await _setup(services, gateway, sshd)
    first = await Term.connect(gateway, cookie, query)
    session_id = (await first.opened())["session_id"]
    second = await Term.connect(gateway, cookie, f"{query}&session={session_id}")
    err = await second.until_control("error")
    assert err["code"] == "already_attached" and err["fatal"] and "another window" in err["message"]
    await second.wait_for(lambda t: t.ws.close_code is not None)
    third = await Term.connect(gateway, cookie, f"{query}&session=not-a-uuid")
    assert (await third.until_control("error"))["code"] == "not_resumable"
    await first.run("echo first-ok", "first-ok")
    assert await Session.all().count() == 1


async def test_other_users_session_id_reveals_nothing(services: Services, gateway: str, sshd: SshPeer) -> None:
    cookie, query = await _setup(services, gateway, sshd)
    first = await Term.connect(gateway, cookie, query)
    session_id = (await first.opened())["session_id"]
    _, bob = await user_and_cookie(services, gateway, "bob")
    other = await Term.connect(gateway, bob, f"{query}&session={session_id}")
    assert (await other.until_control("error"))["code"] == "not_resumable"
    await first.run("echo first-ok", "first-ok")


async def test_two_sessions_do_not_disturb_each_other(services: Services, gateway: str, sshd: SshPeer) -> None:
    cookie, query = await _setup(services, gateway, sshd)
    a = await Term.connect(gateway, cookie, query)
    b = await Term.connect(gateway, cookie, query)
    await a.opened()
    await b.opened()
    await a.send(b"x" * (2 << 20))  # a breaks the protocol and is closed
    await a.until_control("exit")
    await b.run("echo b-ok", "b-ok")
    ended = await Session.filter(status="ended").count()
    assert ended == 1 and await Session.filter(status="live").count() == 1


async def test_without_login_the_socket_says_so(services: Services, gateway: str, sshd: SshPeer) -> None:
    _, query = await _setup(services, gateway, sshd)
    term = await Term.connect(gateway, None, query)
    err = await term.until_control("error")
    assert err["code"] == "unauthenticated" and err["fatal"]
    assert await Session.all().count() == 0


async def test_foreign_origin_is_refused_before_upgrade(services: Services, gateway: str, sshd: SshPeer) -> None:
    cookie, query = await _setup(services, gateway, sshd)
    with pytest.raises(websockets.InvalidStatus) as exc:
        await Term.connect(gateway, cookie, query, origin="https://evil.example")
    assert exc.value.response.status_code == 403
    assert await Session.all().count() == 0


@pytest.mark.parametrize("query", ["account=ops", "asset=00000000-0000-0000-0000-000000000000&account=ops",
                                   "asset=ASSET&account=root", "asset=ASSET&account=ops&protocol=rdp",
                                   "asset=ASSET&account=ops&cols=0", "asset=ASSET&account=ops&rows=10000"])
async def test_not_permitted_or_invalid_requests(services: Services, gateway: str, sshd: SshPeer, query: str) -> None:
    cookie, good = await _setup(services, gateway, sshd)
    asset_id = good.split("&")[0].split("=")[1]
    _, bob = await user_and_cookie(services, gateway, "bob")
    size = {"cols": 0} if "cols=0" in query else {"rows": 10000} if "rows=" in query else {}
    term = await Term.connect(gateway, cookie, query.replace("ASSET", asset_id).split("&cols")[0].split("&rows")[0],
                              **size)
    err = await term.until_control("error")
    assert err["fatal"] and err["code"] in ("validation_error", "not_found", "forbidden")
    # Bob has no permission at all: the asset looks like it does not exist.
    term = await Term.connect(gateway, bob, good)
    assert (await term.until_control("error"))["code"] == "not_found"
    await asyncio.sleep(0)
    assert await Session.all().count() == 0
