"""Pure pieces of the terminal path: control-message parsing, the input gate, taps, the pump."""

from __future__ import annotations

import pytest

from webgate.errors import BadRequest, ValidationFailed
from webgate.terminal.gate import InputGate, InputRefused
from webgate.terminal.pump import ClientGone, pump_output
from webgate.terminal.taps import Meter, TapFailed, Taps
from webgate.ws.messages import CredentialsMsg, Ping, Resize, parse_client_message


def test_control_messages_parse_into_their_types() -> None:
    assert parse_client_message('{"type":"resize","cols":120,"rows":40}') == Resize(type="resize", cols=120, rows=40)
    assert parse_client_message('{"type":"ping","t":5}') == Ping(type="ping", t=5)
    creds = parse_client_message('{"type":"credentials","username":"u","password":"s3cret"}')
    assert isinstance(creds, CredentialsMsg) and "s3cret" not in repr(creds)


@pytest.mark.parametrize(("text", "error", "code"), [
    ("", BadRequest, "bad_message"),
    ("[1]", BadRequest, "bad_message"),
    ('{"type": 3}', BadRequest, "bad_message"),
    ('{"type": "exec", "cmd": "rm"}', BadRequest, "unknown_message"),
    ('{"type": "resize", "cols": 0, "rows": 24}', ValidationFailed, "validation_error"),
    ('{"type": "resize", "cols": 80, "rows": 501}', ValidationFailed, "validation_error"),
    ('{"type": "resize", "cols": 80, "rows": 24, "admin": true}', ValidationFailed, "validation_error"),
    ('{"type": "credentials", "password": "' + "x" * 5000 + '"}', ValidationFailed, "validation_error"),
    # valid JSON escapes that are no text: found by the fuzzer, they failed later when sent on
    ('{"type": "credentials", "password": "\\ud800"}', BadRequest, "bad_message"),
    ('{"type": "ping", "t": "a\\udfff"}', BadRequest, "bad_message"),
])
def test_bad_control_messages_are_refused_with_a_code(text: str, error: type[Exception], code: str) -> None:
    with pytest.raises(error) as exc:
        parse_client_message(text)
    assert exc.value.code == code  # type: ignore[attr-defined]


def test_an_escaped_surrogate_pair_is_one_character() -> None:
    assert parse_client_message('{"type":"ping","t":"\\ud83d\\ude00"}') == Ping(type="ping", t="\U0001f600")


async def test_gate_lets_typing_through_and_refuses_paste_without_the_action() -> None:
    gate = InputGate(frozenset({"connect"}))
    assert await gate.admit(b"l") == b"l"
    assert await gate.admit("你好世界".encode()) == "你好世界".encode()  # an IME composition is typing
    assert await gate.admit(b"\x1b[A") == b"\x1b[A"
    for pasted in (b"x" * 257, b"\x1b[200~ls\x1b[201~"):
        with pytest.raises(InputRefused) as exc:
            await gate.admit(pasted)
        assert exc.value.code == "paste_denied"
    assert await InputGate(frozenset({"connect", "paste"})).admit(b"x" * 100_000) == b"x" * 100_000


async def test_read_only_gate_refuses_everything() -> None:
    with pytest.raises(InputRefused) as exc:
        await InputGate(frozenset({"connect", "paste"}), read_only=True).admit(b"l")
    assert exc.value.code == "read_only"


class _Boom:
    def output(self, data: bytes) -> None:
        raise OSError("disk full")

    input = output

    def resize(self, cols: int, rows: int) -> None:
        raise OSError("disk full")


def test_a_failing_optional_tap_is_dropped_a_failing_mandatory_tap_raises() -> None:
    meter = Meter(lambda: 1.0)
    taps = Taps([meter], [_Boom()])
    taps.output(b"abc")
    taps.output(b"de")  # the broken optional tap is gone; the meter keeps counting
    assert meter.bytes_out == 5
    with pytest.raises(TapFailed):
        Taps([_Boom()]).output(b"x")


class _Channel:
    exit_status: int | None = 0
    host_key = None

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def read(self) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""

    async def write(self, data: bytes) -> None: ...
    async def resize(self, cols: int, rows: int) -> None: ...
    async def close(self) -> None: ...


async def test_pump_passes_bytes_through_unchanged_and_reports_a_gone_client() -> None:
    sent: list[bytes] = []

    async def send(data: bytes) -> None:
        sent.append(data)

    meter = Meter(lambda: 0.0)
    await pump_output(_Channel([b"a\xe4\xbd", b"\xa0b"]), Taps([meter]), send)
    assert sent == [b"a\xe4\xbd", b"\xa0b"] and meter.bytes_out == 5

    async def broken(data: bytes) -> None:
        raise RuntimeError("socket closed")

    with pytest.raises(ClientGone):
        await pump_output(_Channel([b"x"]), Taps([]), broken)
