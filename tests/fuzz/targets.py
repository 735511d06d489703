"""The fuzz targets: one function per parser, fed whatever bytes atheris invents.

Each target calls the parser the way the gateway does and lets only the module's own,
documented error through (``InstructionError``/``Refused``, ``BadRequest``/``ValidationFailed``,
``FrameError``; the Telnet parser never raises). Any other exception is a crash and fails
the fuzz run; so does a failed property (round trips, bounds). Hangs and memory growth are
caught by libFuzzer's ``-timeout`` and ``-rss_limit_mb`` (see run.py).
"""

from __future__ import annotations

from collections.abc import Callable

from webgate.errors import BadRequest, ValidationFailed
from webgate.protocols import k8s_frames, telnet_options
from webgate.protocols.guacamole.filters import InstructionFilter, Refused
from webgate.protocols.guacamole.instruction import (
    MAX_CHARS,
    MAX_ELEMENTS,
    InstructionError,
    Parser,
    encode,
)
from webgate.ws.messages import parse_client_message
from webgate.ws.terminal import MAX_TEXT

ACTIONS = ("connect", "paste", "copy", "upload", "download")


def _chunks(data: bytes, size: int) -> list[bytes]:
    """``data`` cut into pieces of ``size`` bytes (1..64), as the network might deliver it."""
    size = size % 64 + 1
    return [data[i:i + size] for i in range(0, len(data), size)]


# The first bytes of an input are settings, so the seed corpus is plain files:
#   guacamole: flags (bit 0 round trip, bits 1-5 the permitted actions, bit 6 read-only,
#   bit 7 smuggle an instruction), the chunk size, then the stream or NUL-separated elements.
def guacamole(data: bytes) -> None:
    """Browser → guacd: the bounded parser, then the allow-list, on a stream or on a round trip."""
    if len(data) < 2:
        return
    flags, size, body = data[0], data[1], data[2:]
    if flags & 1:
        _guacamole_round_trip(body, cut=size, smuggle=bool(flags & 128))
        return
    actions = [a for i, a in enumerate(ACTIONS) if flags & (2 << i)]
    filt = InstructionFilter(actions, read_only=bool(flags & 64))
    parser = Parser()
    try:
        for chunk in _chunks(body, size):
            for instruction in parser.feed_bytes(chunk):
                assert 1 <= len(instruction) <= MAX_ELEMENTS
                assert len(encode(*instruction)) <= MAX_CHARS
                filt.check(instruction)
            assert parser.pending < MAX_CHARS  # never holds more than one instruction's worth
    except InstructionError:
        try:
            parser.feed("3.nop;")
        except InstructionError:
            return  # poisoned: the caller closes the session
        raise AssertionError("the parser accepted input after an error") from None
    except Refused:
        return


def _guacamole_round_trip(body: bytes, cut: int, smuggle: bool) -> None:
    """Any element text, including whole instructions (``4.sync,1.0;``), comes back as data."""
    elements = body.decode("utf-8", "replace").split("\x00")[:MAX_ELEMENTS]
    if smuggle:  # a complete instruction inside an element
        elements[-1] += encode("select", "ssh") + encode("connect", "10.0.0.1")
    text = encode(*elements)
    raw = text.encode()
    cut = cut * len(raw) // 256
    parser = Parser()
    try:
        got = parser.feed_bytes(raw[:cut]) + parser.feed_bytes(raw[cut:])
    except InstructionError:
        assert len(text) > MAX_CHARS, f"a valid instruction was refused: {text[:80]!r}"
        return
    assert len(text) <= MAX_CHARS
    assert got == [elements], (got, elements)
    assert parser.pending == 0


def terminal_message(data: bytes) -> None:
    """A text frame of /ws/terminal: valid UTF-8 (the socket checks that), at most MAX_TEXT long."""
    text = data.decode("utf-8", "replace")[:MAX_TEXT]
    try:
        msg = parse_client_message(text)
    except (BadRequest, ValidationFailed) as exc:
        assert exc.message and len(exc.message) < 300  # a sentence, never the whole input echoed
        return
    assert parse_client_message(msg.model_dump_json()) == msg


def k8s_frame(data: bytes) -> None:
    """A message from a (hostile) cluster's exec stream."""
    try:
        frame = k8s_frames.decode(data)
    except k8s_frames.FrameError:
        return
    assert k8s_frames.encode(frame.channel, frame.payload) == data
    try:
        if frame.channel == k8s_frames.STATUS:
            info = k8s_frames.parse_status(frame.payload)
            assert len(info.message) <= k8s_frames.MAX_MESSAGE and len(info.reason) <= k8s_frames.MAX_MESSAGE
            assert info.code is None or 0 <= info.code < 10**10
        elif frame.channel == k8s_frames.RESIZE:
            cols, rows = k8s_frames.parse_resize(frame.payload)
            assert 0 <= cols <= k8s_frames.MAX_SIZE and 0 <= rows <= k8s_frames.MAX_SIZE
    except k8s_frames.FrameError:
        return


def telnet(data: bytes) -> None:
    """A (hostile) Telnet server's output, cut anywhere, through the parser and the negotiator.

    First byte: the subnegotiation bound (1..64); second: the chunk size; then the stream.
    """
    if len(data) < 2:
        return
    parser = telnet_options.TelnetParser(max_subneg=data[0] % 64 + 1)
    negotiator = telnet_options.Negotiator()
    negotiator.start()
    stream = data[2:]
    out = 0
    for chunk in _chunks(stream, data[1]):
        text, events = parser.feed(chunk)
        out += len(text)
        assert len(parser._sb) <= parser.max_subneg  # the bound is the property
        for event in events:
            if isinstance(event, telnet_options.Negotiation):
                first = negotiator.receive(event)
                # RFC 1143: the same request again changes nothing; at most a refusal is repeated,
                # never an agreement (which is what would make two peers loop)
                again = negotiator.receive(event)
                assert again == (b"", None) or (again == first and again[0][1] in (telnet_options.WONT,
                                                                                   telnet_options.DONT)), (first, again)
            else:
                assert len(event.payload) <= parser.max_subneg
    assert out <= len(stream)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "guacamole": guacamole, "terminal_message": terminal_message, "k8s_frame": k8s_frame, "telnet": telnet}
