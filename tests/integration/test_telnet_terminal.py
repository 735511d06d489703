"""Telnet terminals against real inetutils telnetd: through /ws/terminal as the browser does, and direct."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.integration import telnet_peer
from tests.integration.conftest import free_port
from tests.integration.telnet_peer import TelnetPeer, grant_telnet, make_telnet_asset
from tests.integration.terminal_client import Term, make_account, user_and_cookie
from tests.integration.test_ssh_terminal import _replay, _row
from webgate.db.models import OperationLog, Session
from webgate.protocols.telnet import open_channel
from webgate.services import Services
from webgate.terminal.channel import ConnectFailed, Target

pytestmark = pytest.mark.slow
telnetd_peer = telnet_peer.telnetd_peer  # the fixture, used by name below
WRONG = "not-the-password"


async def _setup(services: Services, gateway: str, peer: TelnetPeer, *, password: str | None = None,
                 port: int | None = None, stored: bool = True) -> tuple[str, str]:
    """A user allowed to use the 'ops' account on a telnet asset; returns (cookie, query)."""
    user, cookie = await user_and_cookie(services, gateway)
    asset = await make_telnet_asset(port or peer.port)
    await make_account(services, asset, "ops", peer.user, secret=(password or peer.password) if stored else None)
    await grant_telnet(user, asset, ["ops"])
    return cookie, f"asset={asset.id}&protocol=telnet&account=ops"


async def test_auto_login_echo_resize_exit_and_recording(services: Services, gateway: str,
                                                         telnetd_peer: TelnetPeer) -> None:
    cookie, query = await _setup(services, gateway, telnetd_peer)
    term = await Term.connect(gateway, cookie, query)
    opened = await term.opened()
    assert opened["username"] == telnetd_peer.user
    await term.until_output(f"{telnetd_peer.user}@")  # the shell prompt, with the banner above it
    screen = "\n".join(term.screen.display)
    assert "login: " + telnetd_peer.user in screen and "Password:" in screen
    await term.run("echo hel''lo", "hello\r\n")
    await term.run("echo t=$TERM", "t=xterm-256color")
    await term.send({"type": "resize", "cols": 100, "rows": 30})
    term.screen.resize(30, 100)
    await term.run("stty size", "30 100")
    await term.send(b"exit\n")
    exit_frame = await term.until_control("exit")
    assert exit_frame["reason"] == "target_exited"
    row = await _row()
    assert row.status == "ended" and row.end_reason == "target_exited" and row.protocol == "telnet"
    assert row.account_username == telnetd_peer.user and row.bytes_out == len(term.raw)
    assert row.recording_key and row.recording_sha256
    replayed = await _replay(services, row)
    assert replayed.display == term.screen.display
    assert any("30 100" in line for line in replayed.display)
    assert telnetd_peer.password.encode() not in term.raw
    logged = json.dumps([r.changes for r in await OperationLog.all()])
    assert telnetd_peer.password not in logged


async def test_wrong_password_gives_clear_error_and_ended_row(services: Services, gateway: str,
                                                              telnetd_peer: TelnetPeer) -> None:
    cookie, query = await _setup(services, gateway, telnetd_peer, password=WRONG)
    term = await Term.connect(gateway, cookie, query)
    err = await term.until_control("error", timeout=30)
    assert err["code"] == "target_auth_failed" and err["fatal"] is True
    assert err["message"] == (f"Telnet login failed for account {telnetd_peer.user} on asset tel01: the device "
                              "said 'Login incorrect'. Ask your admin to update the account.")
    row = await _row()
    assert row.status == "ended" and row.end_reason == "target_auth_failed" and row.recording_key == ""


async def test_unreachable_port_gives_clear_error(services: Services, gateway: str,
                                                  telnetd_peer: TelnetPeer) -> None:
    cookie, query = await _setup(services, gateway, telnetd_peer, port=free_port())
    term = await Term.connect(gateway, cookie, query)
    err = await term.until_control("error")
    assert err["code"] == "target_unreachable" and "Could not reach 127.0.0.1:" in err["message"]
    assert "connection refused" in err["message"]
    assert (await _row()).end_reason == "target_unreachable"


async def test_account_without_password_lets_the_user_log_in(services: Services, gateway: str,
                                                              telnetd_peer: TelnetPeer) -> None:
    cookie, query = await _setup(services, gateway, telnetd_peer, stored=False)
    term = await Term.connect(gateway, cookie, query)
    await term.opened()
    await term.until_output("login: ")
    await term.send(telnetd_peer.user.encode() + b"\r")
    await term.until_output("Password: ")
    await term.send(telnetd_peer.password.encode() + b"\r")
    await term.until_output(f"{telnetd_peer.user}@")
    await term.run("echo typed-$((6*7))", "typed-42")
    await term.close()
    await asyncio.sleep(0.3)
    row = await _row()
    assert row.end_reason == "client_closed" and row.status == "ended"


async def test_manual_input_account_logs_in_with_typed_credentials(services: Services, gateway: str,
                                                                   telnetd_peer: TelnetPeer) -> None:
    user, cookie = await user_and_cookie(services, gateway)
    asset = await make_telnet_asset(telnetd_peer.port)
    await grant_telnet(user, asset, ["@INPUT"])
    term = await Term.connect(gateway, cookie, f"asset={asset.id}&protocol=telnet&account=@INPUT")
    await term.until_control("status", state="credentials_required")
    await term.send({"type": "credentials", "username": telnetd_peer.user, "password": telnetd_peer.password})
    await term.opened()
    await term.run("echo u=$(whoami)", f"u={telnetd_peer.user}")
    await term.close()
    await asyncio.sleep(0.3)
    dumped = json.dumps([dict(r) for r in await Session.all().values()], default=str)
    assert telnetd_peer.password not in dumped


async def test_utf8_and_0xff_pass_both_ways(services: Services, gateway: str, telnetd_peer: TelnetPeer) -> None:
    cookie, query = await _setup(services, gateway, telnetd_peer)
    term = await Term.connect(gateway, cookie, query)
    await term.opened()
    await term.run("printf '\\xe4\\xbd\\xa0\\xe5\\xa5\\xbd-%s-end\\n' 世界", "-end\r\n")
    assert "你好-世界-end" in term.raw.decode()
    # A literal 0xFF typed by the user reaches the shell (escaped as IAC IAC on the wire) and comes back.
    await term.run("stty raw -echo; head -c 3 | od -An -tx1; stty sane", "")
    await asyncio.sleep(0.3)
    await term.send(b"a\xffb")
    await term.until_output("61 ff 62")


async def test_asset_extra_settings_reach_the_connector(services: Services, gateway: str,
                                                        telnetd_peer: TelnetPeer) -> None:
    user, cookie = await user_and_cookie(services, gateway)
    asset = await make_telnet_asset(telnetd_peer.port, extra={"telnet_login_prompt": "(unclosed"})
    await make_account(services, asset, "ops", telnetd_peer.user, secret=telnetd_peer.password)
    await grant_telnet(user, asset, ["ops"])
    term = await Term.connect(gateway, cookie, f"asset={asset.id}&protocol=telnet&account=ops")
    await term.wait_for(lambda t: t.control("error") is not None or t.control("status", state="open") is not None)
    err = term.control("error")
    assert err is not None, "the session opened: the asset's telnet_login_prompt was not used"
    assert err["code"] == "target_config_invalid" and "telnet_login_prompt" in err["message"]
    assert (await _row()).end_reason == "target_config_invalid"


# -- the connector on its own -------------------------------------------------------------

def _target(peer: TelnetPeer, **options: object) -> Target:
    return Target(host=peer.host, port=peer.port, username=peer.user, password=peer.password, cols=90, rows=20,
                  asset_name="tel01", options=dict(options))


async def _until(channel: object, marker: bytes) -> bytes:
    seen = b""
    async with asyncio.timeout(15):
        while marker not in seen:
            chunk = await channel.read()  # type: ignore[attr-defined]
            assert chunk, seen
            seen += chunk
    return seen


async def test_connector_direct_naws_on_connect_and_custom_patterns(telnetd_peer: TelnetPeer) -> None:
    channel = await open_channel(_target(telnetd_peer, telnet_login_prompt=r"\blogin:\s*$",
                                         telnet_success_pattern=r"\$ $"))
    try:
        first = await _until(channel, b"$ ")
        assert b"Password: " in first and telnetd_peer.password.encode() not in first
        await channel.write(b"stty size\r")
        assert b"20 90" in await _until(channel, b"20 90")
    finally:
        await channel.close()


async def test_connector_direct_wrong_password(telnetd_peer: TelnetPeer) -> None:
    target = Target(host=telnetd_peer.host, port=telnetd_peer.port, username=telnetd_peer.user, password=WRONG,
                    asset_name="tel01")
    with pytest.raises(ConnectFailed) as failed:
        await open_channel(target)
    assert failed.value.code == "target_auth_failed" and "'Login incorrect'" in failed.value.message
