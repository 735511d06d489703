"""Automatic telnet login on its own: prompt patterns, settings, outcomes, bounds and cost."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webgate.protocols.telnet_login import LoginClosed, LoginFailed, LoginScript, option_errors


def test_option_errors_for_the_asset_form() -> None:
    assert option_errors({}) == {}
    assert option_errors({"telnet_login_prompt": "", "telnet_login_timeout": "20", "other": [1]}) == {}
    assert option_errors({"telnet_success_pattern": 5, "telnet_failure_pattern": "x" * 501,
                          "telnet_password_prompt": "[", "telnet_login_timeout": True}) == {
        "telnet_success_pattern": "must be text (a regular expression)",
        "telnet_failure_pattern": "must be at most 500 characters",
        "telnet_password_prompt": "is not a valid regular expression (unterminated character set)",
        "telnet_login_timeout": "must be a number of seconds above 0 and at most 300",
    }
    assert "telnet_login_timeout" in option_errors({"telnet_login_timeout": 0})
    assert "telnet_login_timeout" in option_errors({"telnet_login_timeout": 301})


@pytest.mark.parametrize(("kind", "text"), [
    ("login", "Debian GNU/Linux 12\nvm login: "), ("login", "User Access Verification\n\nUsername: "),
    ("login", "User Name:"), ("password", "Password: "), ("password", "passwd:"),
    ("success", "ops@vm:~$ "), ("success", "[root@vm ~]# "), ("success", "switch1>"), ("success", "Router#"),
    ("failure", "\nLogin incorrect\n"), ("failure", "% Login invalid"), ("failure", "% Bad passwords"),
    ("failure", "Error: Failed to authenticate."), ("failure", "Login failed, incorrect username or password"),
    ("failure", "% Authentication failed"), ("failure", "Access denied"),
])
def test_default_patterns_know_common_devices(kind: str, text: str) -> None:
    script = LoginScript.from_options({})
    assert getattr(script, kind).search(text)
    for other in {"login", "password", "success"} - {kind}:
        assert not getattr(script, other).search(text), other


@pytest.mark.parametrize("banner", [
    "Last login: Mon Nov 23 from 10.0.0.1\nPassword policy: 12 characters\nWelcome\n",
    "##########################\n# Authorized access only #\n##########################\n",
    "Login:\n", "<!-- maintenance window -->\n",
])
def test_default_patterns_ignore_banner_lines(banner: str) -> None:
    script = LoginScript.from_options({})
    assert not any(p.search(banner) for p in (script.login, script.password, script.success, script.failure))


class _Trickle:
    """A device that prints one byte per read, like a slow serial console server."""

    def __init__(self, output: bytes) -> None:
        self.output = output
        self.pos = 0
        self.sent: list[bytes] = []

    async def receive(self) -> bytes:
        byte = self.output[self.pos:self.pos + 1]
        self.pos += 1
        return byte

    async def write(self, data: bytes) -> None:
        self.sent.append(data)
        self.output += b"Password: " if len(self.sent) == 1 else b"\r\nok$ "


async def test_a_trickling_banner_costs_linear_time_and_nothing_is_missed() -> None:
    banner = b"".join(b"line %05d of the message of the day\r\n" % i for i in range(1500))  # ~55 KB
    peer = _Trickle(banner + b"login: ")
    loop = asyncio.get_running_loop()
    started = loop.time()
    shown = await LoginScript.from_options({}).run(peer, "ops", "pw")
    assert loop.time() - started < 10
    assert peer.sent == [b"ops\r", b"pw\r"]
    # Logged in as soon as "$" arrived; the trailing space is the first byte the user's terminal reads.
    assert shown.endswith(b"login: Password: \r\nok$") and len(shown) == len(peer.output) - 1


async def test_a_failure_line_inside_a_big_chunk_is_found() -> None:
    class Burst(_Trickle):
        async def receive(self) -> bytes:
            data, self.output = self.output[self.pos:], self.output
            self.pos = len(self.output)
            return data

        async def write(self, data: bytes) -> None:
            self.sent.append(data)
            self.output += b"Password: " if len(self.sent) == 1 else b"Login incorrect\r\n" + b"x" * 20_000

    with pytest.raises(LoginFailed) as failed:
        await LoginScript.from_options({}).run(Burst(b"login: "), "ops", "pw")
    assert failed.value.said == "Login incorrect"


class _Scripted:
    """Device output as given chunks, then the end of the connection."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)

    async def receive(self) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""

    async def write(self, data: bytes) -> None:
        pass


_device_words = st.sampled_from([b"login: ", b"Username: ", b"Password: ", b"Login incorrect\r\n", b"$ ", b"# ",
                                 b"\x1b[?2004h", b"\x1b]0;t\x07", b"\r\n", b"\xff\xfe", "你好".encode()])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=80), _device_words), max_size=25))
async def test_any_device_output_ends_in_a_known_outcome(chunks: list[bytes]) -> None:
    try:
        shown = await LoginScript.from_options({}).run(_Scripted(chunks), "ops", "pw", limit=256)
    except (LoginFailed, LoginClosed) as exc:
        assert len(exc.said) <= 200
    else:
        assert len(shown) <= 256
