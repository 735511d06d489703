"""Telnet option parsing and negotiation, fed literal byte strings (RFC 854/855/1073/1091)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from webgate.protocols.telnet_options import (
    BINARY,
    DO,
    DONT,
    ECHO,
    IAC,
    NAWS,
    SGA,
    TTYPE,
    WILL,
    WONT,
    Negotiation,
    Negotiator,
    Subnegotiation,
    TelnetParser,
    escape_input,
    naws,
    subnegotiation,
)


def feed_all(parser: TelnetParser, *chunks: bytes) -> tuple[bytes, list[object]]:
    data, events = b"", []
    for chunk in chunks:
        d, e = parser.feed(chunk)
        data += d
        events += e
    return data, events


# -- parser -------------------------------------------------------------------------------

def test_plain_output_passes_through_untouched() -> None:
    chunk = "héllo \x1b[1mworld\x1b[0m\r\n".encode()
    assert TelnetParser().feed(chunk) == (chunk, [])


def test_negotiation_is_stripped_and_reported_in_order() -> None:
    data, events = TelnetParser().feed(b"a\xff\xfb\x01b\xff\xfd\x18c\xff\xfe\x25\xff\xfc\x03d")
    assert data == b"abcd"
    assert events == [Negotiation(WILL, ECHO), Negotiation(DO, TTYPE), Negotiation(DONT, 37), Negotiation(WONT, SGA)]


def test_iac_iac_is_one_literal_ff() -> None:
    assert TelnetParser().feed(b"a\xff\xffb\xff\xff") == (b"a\xffb\xff", [])


def test_commands_split_at_every_byte_boundary() -> None:
    stream = b"ab\xff\xfb\x01cd\xff\xfa\x18\x01\xff\xf0ef\xff\xffg"
    for cut in range(len(stream) + 1):
        data, events = feed_all(TelnetParser(), stream[:cut], stream[cut:])
        assert data == b"abcdef\xffg", cut
        assert events == [Negotiation(WILL, ECHO), Subnegotiation(TTYPE, b"\x01")], cut


def test_byte_at_a_time() -> None:
    stream = b"x\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0y\xff\xf1z"
    data, events = feed_all(TelnetParser(), *(bytes([b]) for b in stream))
    assert data == b"xyz" and events == [Subnegotiation(NAWS, b"\x00\x50\x00\x18")]


def test_simple_commands_are_dropped() -> None:
    # NOP, DM, AYT, GA carry nothing for a terminal
    assert TelnetParser().feed(b"a\xff\xf1b\xff\xf2c\xff\xf6d\xff\xf9e") == (b"abcde", [])


def test_escaped_iac_inside_subnegotiation() -> None:
    data, events = TelnetParser().feed(b"\xff\xfa\x18\x00A\xff\xffB\xff\xf0")
    assert data == b"" and events == [Subnegotiation(TTYPE, b"\x00A\xffB")]


def test_oversized_subnegotiation_is_dropped_and_output_resumes() -> None:
    parser = TelnetParser(max_subneg=16)
    data, events = feed_all(parser, b"\xff\xfa\x18" + b"x" * 10, b"y" * 100, b"\xff\xf0after")
    assert data == b"after" and events == []
    assert len(parser._sb) <= 16
    assert parser.feed(b"\xff\xfa\x18\x01\xff\xf0") == (b"", [Subnegotiation(TTYPE, b"\x01")])


def test_malformed_command_inside_subnegotiation_ends_it_and_is_obeyed() -> None:
    data, events = TelnetParser().feed(b"\xff\xfa\x18abc\xff\xfb\x01rest")
    assert data == b"rest" and events == [Negotiation(WILL, ECHO)]


def test_cr_nul_becomes_cr_even_across_chunks() -> None:
    parser = TelnetParser()
    assert feed_all(parser, b"a\r\x00b\r", b"\x00c\r\n", b"\x00d")[0] == b"a\rb\rc\r\n\x00d"
    # outside CR NUL a NUL is data
    assert TelnetParser().feed(b"\x00x\r\x00\x00") == (b"\x00x\r\x00", [])


def test_binary_mode_keeps_cr_nul() -> None:
    parser = TelnetParser()
    parser.strip_cr_nul = False
    assert parser.feed(b"a\r\x00b") == (b"a\r\x00b", [])


# -- encoding -------------------------------------------------------------------------------

def test_naws_encodes_size_and_escapes_255() -> None:
    assert naws(80, 24) == b"\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0"
    assert naws(255, 511) == b"\xff\xfa\x1f\x00\xff\xff\x01\xff\xff\xff\xf0"
    assert naws(70000, -1) == b"\xff\xfa\x1f" + b"\xff" * 4 + b"\x00\x00\xff\xf0"
    data, events = TelnetParser().feed(naws(255, 511))
    assert events == [Subnegotiation(NAWS, b"\x00\xff\x01\xff")]


def test_user_input_escapes_iac_and_sends_cr_nul_outside_binary() -> None:
    assert escape_input(b"a\xffb\r", binary=False) == b"a\xff\xffb\r\x00"
    assert escape_input(b"a\xffb\r", binary=True) == b"a\xff\xffb\r"
    assert escape_input(b"plain", binary=False) == b"plain"


def test_subnegotiation_roundtrip() -> None:
    payload = bytes(range(256))
    assert TelnetParser().feed(subnegotiation(TTYPE, payload)) == (b"", [Subnegotiation(TTYPE, payload)])


# -- negotiator -----------------------------------------------------------------------------

def cmd(verb: int, opt: int) -> bytes:
    return bytes((IAC, verb, opt))


def test_start_offers_naws_and_ttype_and_asks_for_sga() -> None:
    assert Negotiator().start() == cmd(WILL, NAWS) + cmd(WILL, TTYPE) + cmd(DO, SGA)


def test_accepts_echo_sga_binary_from_server_and_refuses_others() -> None:
    neg = Negotiator()
    neg.start()
    assert neg.receive(Negotiation(WILL, ECHO)) == (cmd(DO, ECHO), None)
    assert neg.receive(Negotiation(WILL, SGA)) == (b"", None)  # we asked: no second DO
    assert neg.receive(Negotiation(WILL, BINARY)) == (cmd(DO, BINARY), None)
    assert neg.receive(Negotiation(WILL, 37)) == (cmd(DONT, 37), None)  # AUTHENTICATION
    assert neg.remote_on == {ECHO, SGA, BINARY}


def test_enables_naws_and_ttype_on_do_refuses_other_dos() -> None:
    neg = Negotiator()
    neg.start()
    assert neg.receive(Negotiation(DO, NAWS)) == (b"", NAWS)  # offered already: no WILL echo
    assert neg.receive(Negotiation(DO, TTYPE)) == (b"", TTYPE)
    assert neg.receive(Negotiation(DO, 39)) == (cmd(WONT, 39), None)  # NEW-ENVIRON
    assert neg.receive(Negotiation(DO, 34)) == (cmd(WONT, 34), None)  # LINEMODE
    assert neg.local_on == {NAWS, TTYPE}


def test_unsolicited_do_naws_gets_will() -> None:
    assert Negotiator().receive(Negotiation(DO, NAWS)) == (cmd(WILL, NAWS), NAWS)


def test_no_reply_loops_on_repeats_and_withdrawals() -> None:
    neg = Negotiator()
    neg.start()
    neg.receive(Negotiation(WILL, ECHO))
    assert neg.receive(Negotiation(WILL, ECHO)) == (b"", None)
    assert neg.receive(Negotiation(WONT, ECHO)) == (cmd(DONT, ECHO), None)
    assert neg.receive(Negotiation(WONT, ECHO)) == (b"", None)
    neg.receive(Negotiation(DO, NAWS))
    assert neg.receive(Negotiation(DO, NAWS)) == (b"", None)
    assert neg.receive(Negotiation(DONT, NAWS)) == (cmd(WONT, NAWS), None)
    assert neg.receive(Negotiation(DONT, NAWS)) == (b"", None)
    assert neg.receive(Negotiation(DONT, TTYPE)) == (b"", None)  # refused our offer: no reply


def test_refused_request_is_not_answered() -> None:
    neg = Negotiator()
    neg.start()
    assert neg.receive(Negotiation(WONT, SGA)) == (b"", None)
    assert SGA not in neg.remote_on


# -- properties -----------------------------------------------------------------------------

_data = st.binary(max_size=40).map(lambda b: ("data", b))
_neg = st.tuples(st.sampled_from([WILL, WONT, DO, DONT]), st.integers(0, 255)).map(lambda t: ("neg", t))
_sub = st.tuples(st.integers(0, 255), st.binary(max_size=30)).map(lambda t: ("sub", t))
_simple = st.sampled_from([241, 242, 243, 244, 245, 246, 247, 248, 249]).map(lambda c: ("cmd", c))


def _encode(tokens: list[tuple[str, object]]) -> tuple[bytes, bytes, list[object]]:
    wire, data, events = b"", b"", []
    for kind, value in tokens:
        if kind == "data":
            wire += value.replace(b"\xff", b"\xff\xff")  # type: ignore[union-attr]
            data += value  # type: ignore[operator]
        elif kind == "neg":
            verb, opt = value  # type: ignore[misc]
            wire += bytes((IAC, verb, opt))
            events.append(Negotiation(verb, opt))
        elif kind == "sub":
            opt, payload = value  # type: ignore[misc]
            wire += subnegotiation(opt, payload)
            events.append(Subnegotiation(opt, payload))
        else:
            wire += bytes((IAC, value))  # type: ignore[arg-type]
    return wire, data, events


def _split(wire: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(wire) + 1) for c in cuts})
    return [wire[a:b] for a, b in zip([0, *points], [*points, len(wire)], strict=True)]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_data, _neg, _sub, _simple), max_size=30), st.lists(st.integers(0, 10_000), max_size=8))
def test_well_formed_streams_lose_and_reorder_nothing(tokens: list[tuple[str, object]], cuts: list[int]) -> None:
    wire, data, events = _encode(tokens)
    got_data, got_events = feed_all(TelnetParser(), *_split(wire, cuts))
    assert got_data == data.replace(b"\r\x00", b"\r")
    assert got_events == events
    parser = TelnetParser()
    parser.strip_cr_nul = False
    assert feed_all(parser, *_split(wire, cuts))[0] == data


@settings(max_examples=400, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=20))
def test_arbitrary_bytes_never_crash_and_stay_bounded(chunks: list[bytes]) -> None:
    parser = TelnetParser(max_subneg=64)
    neg = Negotiator()
    total = 0
    for chunk in chunks:
        data, events = parser.feed(chunk)
        total += len(data)
        assert len(parser._sb) <= 64
        for event in events:
            if isinstance(event, Negotiation):
                reply, _ = neg.receive(event)
                assert len(reply) <= 3
            else:
                assert len(event.payload) <= 64
    assert total <= sum(map(len, chunks))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_escaped_user_input_reads_back_as_typed(typed: bytes) -> None:
    parser = TelnetParser()
    parser.strip_cr_nul = True
    assert parser.feed(escape_input(typed, binary=False)) == (typed, [])
