"""The telnet connector against a scripted in-process peer that speaks literal bytes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import pytest

from webgate.protocols.telnet import open_channel
from webgate.protocols.telnet_options import naws
from webgate.terminal.channel import ConnectFailed, Target

Script = Callable[["Peer"], Awaitable[None]]


class Peer:
    """The server side of one connection: send literal bytes, wait for what the client sends."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.got = bytearray()

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def expect(self, data: bytes) -> None:
        async with asyncio.timeout(5):
            while data not in self.got:
                chunk = await self.reader.read(4096)
                if not chunk:
                    raise AssertionError(f"client left; got {bytes(self.got)!r}")
                self.got += chunk


class FakeTelnetd:
    def __init__(self) -> None:
        self.script: Script | None = None
        self.peers: list[Peer] = []
        self.done = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(reader, writer)
        self.peers.append(peer)
        try:
            assert self.script is not None
            await self.script(peer)
        finally:
            self.done.set()
            await asyncio.sleep(0.05)
            writer.close()


Fake = tuple[FakeTelnetd, int]


@pytest.fixture
async def telnetd() -> AsyncIterator[Fake]:
    fake = FakeTelnetd()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield fake, port
    server.close()


PW = "pw"


def target(port: int, password: str | None = PW, **options: object) -> Target:
    return Target(host="127.0.0.1", port=port, username="ops", password=password, asset_name="switch1",
                  options=dict(options))


async def test_negotiation_answers_ttype_and_sends_naws_on_connect_and_resize(telnetd: Fake) -> None:
    fake, port = telnetd

    async def script(peer: Peer) -> None:
        await peer.expect(b"\xff\xfb\x1f\xff\xfb\x18\xff\xfd\x03")  # WILL NAWS, WILL TTYPE, DO SGA
        await peer.send(b"\xff\xfd\x18\xff\xfd\x1f\xff\xfd\x27\xff\xfb\x01\xff\xfb\x25\xff\xfa\x18\x01\xff\xf0")
        await peer.expect(naws(120, 40))
        await peer.expect(b"\xff\xfa\x18\x00XTERM-256COLOR\xff\xf0")
        await peer.expect(b"\xff\xfc\x27")  # WONT NEW-ENVIRON
        await peer.expect(b"\xff\xfd\x01")  # DO ECHO
        await peer.expect(b"\xff\xfe\x25")  # DONT AUTHENTICATION
        await peer.send(b"hello\r\n")
        await peer.expect(naws(100, 30))
        await peer.expect(b"x\xff\xffy\r\x00")
        await peer.send(b"bye\xff\xff")

    fake.script = script
    channel = await open_channel(Target(host="127.0.0.1", port=port, username="ops", cols=120, rows=40))
    assert await channel.read() == b"hello\r\n"
    await channel.resize(100, 30)
    await channel.write(b"x\xffy\r")
    assert await channel.read() == b"bye\xff"
    assert await channel.read() == b""
    assert channel.exit_status is None and channel.host_key is None
    await channel.close()
    await channel.close()  # idempotent


async def test_binary_mode_when_the_server_offers_it(telnetd: Fake) -> None:
    fake, port = telnetd

    async def script(peer: Peer) -> None:
        await peer.send(b"a\r\x00b|\xff\xfb\x00\xff\xfd\x00")  # WILL BINARY, DO BINARY
        await peer.expect(b"\xff\xfd\x00\xff\xfb\x00")
        await peer.send(b"c\r\x00d")
        await peer.expect(b"typed\r")
        await asyncio.sleep(0.1)

    fake.script = script
    channel = await open_channel(target(port, password=None))
    assert await channel.read() == b"a\rb|"  # before binary mode: NVT's CR NUL is a bare CR
    assert await channel.read() == b"c\r\x00d"  # in binary mode bytes are bytes
    await channel.write(b"typed\r")
    await fake.done.wait()
    assert fake.peers[0].got.endswith(b"typed\r")
    await channel.close()


async def _login(peer: Peer, prompt: bytes = b"router login: ", password_prompt: bytes = b"Password: ") -> None:
    await peer.send(b"\xff\xfb\x01Welcome to the lab\r\n" + prompt)
    await peer.expect(b"ops\r\x00")
    await peer.send(b"ops\r\n" + password_prompt)
    await peer.expect(b"pw\r\x00")


async def test_auto_login_lands_at_prompt_with_banner(telnetd: Fake) -> None:
    fake, port = telnetd

    async def script(peer: Peer) -> None:
        await _login(peer)
        await peer.send(b"\r\nLast login: today\r\n\x1b[?2004h\x1b[01;32mops@router\x1b[00m:~$ ")
        await peer.expect(b"whoami")

    fake.script = script
    channel = await open_channel(target(port))
    first = await channel.read()
    assert first.startswith(b"Welcome to the lab\r\nrouter login: ops\r\nPassword: ")
    assert first.endswith(b"~$ ") and b"pw" not in first
    await channel.write(b"whoami")
    await fake.done.wait()
    await channel.close()


async def _refused(telnetd: Fake, after_password: bytes, **options: object) -> ConnectFailed:
    """Log in against a peer that answers the password with ``after_password``; the error raised."""
    fake, port = telnetd

    async def script(peer: Peer) -> None:
        await _login(peer)
        await peer.send(after_password)
        await asyncio.sleep(1)

    fake.script = script
    with pytest.raises(ConnectFailed) as failed:
        await open_channel(replace(target(port), options=dict(options)))
    assert failed.value.code == "target_auth_failed"
    return failed.value


async def test_wrong_password_is_reported_with_the_devices_words(telnetd: Fake) -> None:
    failed = await _refused(telnetd, b"\r\n\r\nLogin incorrect\r\nrouter login: ")
    assert failed.message == ("Telnet login failed for account ops on asset switch1: the device said "
                              "'Login incorrect'. Ask your admin to update the account.")


async def test_an_echoed_password_is_not_quoted_in_the_error(telnetd: Fake) -> None:
    failed = await _refused(telnetd, b"pw % Login invalid\r\n")
    assert "'*** % Login invalid'" in failed.message and " pw " not in failed.message


@pytest.mark.parametrize("again", [b"\r\nrouter login: ", b"\r\nPassword: "])
async def test_being_asked_again_is_a_failed_login(telnetd: Fake, again: bytes) -> None:
    assert "the device did not accept it" in (await _refused(telnetd, again)).message


async def test_custom_failure_pattern(telnetd: Fake) -> None:
    failed = await _refused(telnetd, b"\r\n% Bad secrets\r\n", telnet_failure_pattern="bad secrets")
    assert "'% Bad secrets'" in failed.message


async def test_custom_patterns_from_asset_options(telnetd: Fake) -> None:
    fake, port = telnetd

    async def script(peer: Peer) -> None:
        await _login(peer, prompt=b"Benutzer: ", password_prompt=b"Kennwort: ")
        await peer.send(b"\r\nBereit.\r\n")

    fake.script = script
    channel = await open_channel(target(port, telnet_login_prompt=r"benutzer:\s*$",
                                        telnet_password_prompt=r"kennwort:\s*$",  # noqa: S106 - a prompt pattern
                                        telnet_success_pattern=r"bereit\."))
    assert (await channel.read()).endswith(b"Bereit.\r\n")
    await channel.close()


async def test_password_only_device(telnetd: Fake) -> None:
    fake, port = telnetd

    async def script(peer: Peer) -> None:
        await peer.send(b"\r\nUser Access Verification\r\n\r\nPassword: ")
        await peer.expect(b"pw\r\x00")
        await peer.send(b"\r\nswitch1>")

    fake.script = script
    channel = await open_channel(target(port))
    assert (await channel.read()).endswith(b"switch1>")
    assert b"ops" not in fake.peers[0].got
    await channel.close()


async def test_account_without_password_is_not_automated(telnetd: Fake) -> None:
    fake, port = telnetd

    async def script(peer: Peer) -> None:
        await peer.send(b"router login: ")
        await peer.expect(b"me\r\x00")

    fake.script = script
    channel = await open_channel(target(port, password=None))
    assert await channel.read() == b"router login: "
    await channel.write(b"me\r")
    await fake.done.wait()
    assert b"ops" not in fake.peers[0].got
    await channel.close()


async def test_no_login_prompt_times_out_with_a_hint(telnetd: Fake) -> None:
    fake, port = telnetd

    async def script(peer: Peer) -> None:
        await peer.send(b"Anmeldung bitte\r\nName? ")
        await asyncio.sleep(2)

    fake.script = script
    with pytest.raises(ConnectFailed) as failed:
        await open_channel(target(port, telnet_login_timeout=0.3))
    assert failed.value.code == "target_timeout"
    assert failed.value.message.startswith("switch1 did not show a login prompt within 0.3 seconds. "
                                           "The last thing it showed was 'Name?'.")
    assert "telnet prompt patterns" in failed.value.message


async def test_unrecognised_prompt_after_password_hands_over(telnetd: Fake) -> None:
    fake, port = telnetd

    async def script(peer: Peer) -> None:
        await _login(peer)
        await peer.send(b"\r\nready: ")
        await peer.expect(b"ls")

    fake.script = script
    channel = await open_channel(target(port, telnet_login_timeout=0.3))
    assert (await channel.read()).endswith(b"ready: ")
    await channel.write(b"ls")
    await fake.done.wait()
    await channel.close()


async def test_closed_during_login(telnetd: Fake) -> None:
    fake, port = telnetd

    async def script(peer: Peer) -> None:
        await peer.send(b"Too many users\r\n")

    fake.script = script
    with pytest.raises(ConnectFailed) as failed:
        await open_channel(target(port))
    assert failed.value.code == "target_refused"
    assert "closed the telnet connection before the login finished" in failed.value.message
    assert "'Too many users'" in failed.value.message


async def test_login_output_is_bounded(telnetd: Fake) -> None:
    fake, port = telnetd

    async def script(peer: Peer) -> None:
        await peer.send(b"x" * 300_000 + b"\r\nlogin: ")
        await peer.expect(b"ops\r\x00")
        await peer.send(b"Password: ")
        await peer.expect(b"pw\r\x00")
        await peer.send(b"\r\n$ ")
        await asyncio.sleep(0.5)

    fake.script = script
    channel = await open_channel(target(port))
    first = await channel.read()
    assert len(first) <= 64 * 1024 and first.endswith(b"$ ")
    await channel.close()


async def test_invalid_pattern_is_an_admin_problem() -> None:
    with pytest.raises(ConnectFailed) as failed:
        await open_channel(target(1, telnet_login_prompt="(unclosed", telnet_login_timeout="soon"))
    assert failed.value.code == "target_config_invalid"
    assert failed.value.message.startswith("The telnet login settings of switch1 cannot be used: "
                                           "telnet_login_prompt is not a valid regular expression")
    assert "Ask your admin to correct them on the asset." in failed.value.message
    assert set(failed.value.details["fields"]) == {"telnet_login_prompt", "telnet_login_timeout"}


async def test_unreachable_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectFailed) as failed:
        await open_channel(target(port))
    assert failed.value.code == "target_unreachable"
    assert failed.value.message.startswith(f"Could not reach 127.0.0.1:{port} (connection refused)")


async def test_a_banner_of_hashes_does_not_pass_for_a_shell_prompt(telnetd: Fake) -> None:
    fake, port = telnetd

    async def script(peer: Peer) -> None:
        await peer.send(b"#####################\r\n# Authorized use only #\r\n#####################\r\n")
        await asyncio.sleep(0.2)
        await _login(peer, prompt=b"\r\nUsername: ")
        await peer.send(b"\r\nsw1#")

    fake.script = script
    channel = await open_channel(target(port))
    assert (await channel.read()).endswith(b"Username: ops\r\nPassword: \r\nsw1#")
    await channel.close()


async def test_unknown_login_name_asked_again_is_a_failed_login(telnetd: Fake) -> None:
    fake, port = telnetd

    async def script(peer: Peer) -> None:
        await peer.send(b"login: ")
        await peer.expect(b"ops\r\x00")
        await peer.send(b"ops\r\nlogin: ")
        await asyncio.sleep(1)

    fake.script = script
    with pytest.raises(ConnectFailed) as failed:
        await open_channel(target(port))
    assert failed.value.code == "target_auth_failed" and "did not accept it" in failed.value.message
