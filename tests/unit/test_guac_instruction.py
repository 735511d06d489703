"""The Guacamole codec, the client filter and the relay's boundary finder, on literal protocol text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webgate.protocols.guacamole.filters import InstructionFilter, Refused
from webgate.protocols.guacamole.handshake import connect_values
from webgate.protocols.guacamole.instruction import (
    MAX_CHARS,
    InstructionError,
    Parser,
    encode,
    parse_one,
)
from webgate.protocols.guacamole.relay import instruction_end, split_complete


def test_literal_instructions_and_split_feeds() -> None:
    p = Parser()
    assert p.feed("4.size,4.1024,3.768;3.nop;5.mou") == [["size", "1024", "768"], ["nop"]]
    assert p.pending == len("5.mou")
    assert p.feed("se,1.1,1.2,1.0;") == [["mouse", "1", "2", "0"]]
    assert p.pending == 0
    assert Parser().feed("0.,4.ping,13.1700000000000;") == [["", "ping", "1700000000000"]]


def test_lengths_count_code_points_not_bytes_or_utf16_units() -> None:
    # "é" is 2 bytes, "😀" is 4 bytes and 2 UTF-16 units: each is one code point.
    assert parse_one("9.clipboard,3.a😀é;") == ["clipboard", "a😀é"]
    assert encode("clipboard", "a😀é") == "9.clipboard,3.a😀é;"
    with pytest.raises(InstructionError):
        parse_one("9.clipboard,4.a😀é;")  # the UTF-16 count (CVE-2023-30575) is a length lie
    p = Parser()
    raw = "9.clipboard,2.😀€;".encode()
    got: list[list[str]] = []
    for i in range(len(raw)):  # one byte at a time: characters split across feeds are joined
        got += p.feed_bytes(raw[i:i + 1])
    assert got == [["clipboard", "😀€"]]


def test_instruction_text_inside_an_element_stays_data() -> None:
    payload = "4.size,1.1;6.select,3.vnc;"
    line = encode("clipboard", payload)
    assert Parser().feed(line) == [["clipboard", payload]]
    assert encode("key", "😀;4.size") == "3.key,8.😀;4.size;"


@pytest.mark.parametrize("bad", [
    "4.size,5.1024,3.768;",  # length lie (too long): terminator lands on a digit
    "4.size,3.1024,3.768;",  # length lie (too short)
    "-1.x;", "+4.size;", " 4.size;", "4 .size;", "a.size;", ".size;",
    "123456.x;",  # too many digits
    "4.size:4.1024;",  # wrong separator
])
def test_malformed_instructions_are_errors(bad: str) -> None:
    with pytest.raises(InstructionError):
        Parser().feed(bad)


def test_limits_on_size_and_element_count() -> None:
    big = "x" * (MAX_CHARS - 20)
    assert Parser().feed(encode("blob", "0", big))[0][2] == big
    with pytest.raises(InstructionError, match="longer"):
        Parser().feed("4.blob,8200." + "x")  # refused before the data arrives
    with pytest.raises(InstructionError, match="elements"):
        Parser().feed(encode("nop", *["1"] * 128))
    with pytest.raises(InstructionError, match="longer"):
        Parser().feed("8190." + "x" * 100)  # a declared length past the limit, terminator still far


def test_strict_utf8_and_poisoned_after_an_error() -> None:
    for raw in (b"3.key,1.\xff;", b"3.key,1.\xc0\xaf;", b"3.key,1.\xed\xa0\x80;"):  # bad, overlong, surrogate
        with pytest.raises(InstructionError, match="UTF-8"):
            Parser().feed_bytes(raw)
    p = Parser()
    with pytest.raises(InstructionError):
        p.feed("x;")
    with pytest.raises(InstructionError):
        p.feed("3.nop;")


elements = st.lists(st.text(max_size=40), min_size=1, max_size=20)


@given(st.lists(elements, max_size=10), st.integers(1, 7))
def test_round_trip_in_any_chunking(instructions: list[list[str]], step: int) -> None:
    raw = "".join(encode(*i) for i in instructions).encode()
    p = Parser()
    got: list[list[str]] = []
    for i in range(0, len(raw), step):
        got += p.feed_bytes(raw[i:i + step])
    assert got == instructions and p.pending == 0
    # the relay finds the same boundaries on the bytes without decoding
    done, starts = split_complete(raw)
    assert done == len(raw) and len(starts) == len(instructions)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    p = Parser()
    try:
        for instruction in p.feed_bytes(data):
            assert len(instruction) <= 128
    except InstructionError:
        pass
    try:
        split_complete(data)
    except InstructionError:
        pass


def test_relay_boundaries_on_multibyte_and_partial_data() -> None:
    raw = encode("img", "1", "😀é", "x").encode()
    assert instruction_end(raw) == len(raw)
    for cut in range(1, len(raw)):
        assert instruction_end(raw[:cut]) is None
    with pytest.raises(InstructionError):
        instruction_end(b"3.img,1.xy;")


def test_filter_allows_input_and_refuses_handshake_and_forged_streams() -> None:
    f = InstructionFilter({"connect"})
    for ok in (["key", "65", "1"], ["mouse", "10", "20", "1"], ["size", "800", "600", "96"], ["sync", "123"],
               ["nop"], ["ack", "3", "OK", "0"], ["disconnect"]):
        f.check(ok)
    for bad in (["select", "vnc"], ["connect", "VERSION_1_3_0"], ["args"], ["clipboard", "0", "text/plain"],
                ["key", "65"], ["key", "x", "1"], ["size", "99999", "1"], ["ack", "64", "OK", "0"], ["", "ping"]):
        with pytest.raises(Refused):
            f.check(bad)
    paste = InstructionFilter({"connect", "paste"})
    with pytest.raises(Refused, match="never opened"):
        paste.check(["blob", "5", "aGk="])
    paste.check(["clipboard", "5", "text/plain"])
    paste.check(["blob", "5", "aGk="])
    paste.check(["end", "5"])
    with pytest.raises(Refused, match="never opened"):
        paste.check(["end", "5"])
    viewer = InstructionFilter({"connect", "paste"}, read_only=True)
    viewer.check(["sync", "1"])
    for bad in (["key", "65", "1"], ["mouse", "1", "1", "0"], ["clipboard", "0", "text/plain"]):
        with pytest.raises(Refused):
            viewer.check(bad)


def test_connect_values_follow_guacds_order_and_echo_the_version() -> None:
    names = ["VERSION_1_3_0", "hostname", "port", "password", "read-only"]
    assert connect_values(names, {"port": "5901", "hostname": "h", "password": "p"}) == [
        "VERSION_1_3_0", "h", "5901", "p", ""]
