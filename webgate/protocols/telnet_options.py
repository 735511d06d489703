"""Telnet wire layer (RFC 854/855): a bounded parser and an option negotiator, no I/O.

``TelnetParser.feed`` splits a received chunk into terminal data and telnet commands.
It keeps state between chunks (a command may be cut anywhere), never grows without
bound (a subnegotiation longer than ``max_subneg`` is dropped whole) and does no
per-byte Python work on the data path: IAC is found with ``bytes.find`` and a chunk
without one is passed through as it is.

``Negotiator`` answers DO/DONT/WILL/WONT with a fixed policy, in the spirit of RFC 1143:
a reply is sent only when an option's state changes, so two peers cannot loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
BINARY, ECHO, SGA, TTYPE, NAWS = 0, 1, 3, 24, 31
TTYPE_IS, TTYPE_SEND = 0, 1
MAX_SUBNEG = 1024  # longer subnegotiations are discarded; nothing we accept comes close

_IAC = b"\xff"
_VERBS = frozenset((WILL, WONT, DO, DONT))
_DATA, _CMD, _OPT, _SB_OPT, _SB, _SB_IAC = range(6)


@dataclass(frozen=True, slots=True)
class Negotiation:
    verb: int  # WILL, WONT, DO or DONT
    option: int


@dataclass(frozen=True, slots=True)
class Subnegotiation:
    option: int
    payload: bytes  # IAC IAC already unescaped


Event = Negotiation | Subnegotiation


class TelnetParser:
    """Strips telnet commands from a byte stream; returns the data and the commands seen.

    Invariant: the data returned over all calls is the data the peer sent, in order,
    with IAC IAC turned into one 0xFF and (unless ``strip_cr_nul`` is off, as in binary
    mode) NVT's CR NUL turned into CR. Simple commands (NOP, GA, AYT …) are dropped.
    """

    def __init__(self, max_subneg: int = MAX_SUBNEG) -> None:
        self.max_subneg = max_subneg
        self.strip_cr_nul = True
        self._state = _DATA
        self._verb = 0
        self._sb_option = 0
        self._sb = bytearray()
        self._sb_overflow = False
        self._after_cr = False  # the last data byte was a CR whose NUL may come in the next chunk

    def feed(self, chunk: bytes) -> tuple[bytes, list[Event]]:
        if self._state == _DATA and _IAC not in chunk:
            return self._nvt(chunk), []  # the common path: plain output
        pieces: list[bytes] = []
        events: list[Event] = []
        pos, end = 0, len(chunk)
        while pos < end:
            state = self._state
            if state == _DATA:
                i = chunk.find(_IAC, pos)
                if i < 0:
                    pieces.append(chunk[pos:])
                    break
                if i > pos:
                    pieces.append(chunk[pos:i])
                self._state, pos = _CMD, i + 1
            elif state == _SB:
                i = chunk.find(_IAC, pos)
                self._sb_add(chunk[pos:] if i < 0 else chunk[pos:i])
                if i < 0:
                    break
                self._state, pos = _SB_IAC, i + 1
            else:
                byte = chunk[pos]
                pos += 1
                if state == _CMD:
                    if byte == IAC:
                        pieces.append(_IAC)
                        self._state = _DATA
                    elif byte in _VERBS:
                        self._verb, self._state = byte, _OPT
                    elif byte == SB:
                        self._state = _SB_OPT
                    else:
                        self._state = _DATA  # a simple command: nothing for a terminal to do
                elif state == _OPT:
                    events.append(Negotiation(self._verb, byte))
                    self._state = _DATA
                elif state == _SB_OPT:
                    self._sb_option, self._state = byte, _SB
                    self._sb.clear()
                    self._sb_overflow = False
                elif byte == IAC:  # _SB_IAC: an escaped 0xFF inside the subnegotiation
                    self._sb_add(_IAC)
                    self._state = _SB
                else:
                    if byte == SE and not self._sb_overflow:
                        events.append(Subnegotiation(self._sb_option, bytes(self._sb)))
                    self._sb.clear()
                    self._state = _DATA
                    if byte != SE:  # IAC <cmd> inside SB is malformed: end the SB, obey the command
                        self._state, pos = _CMD, pos - 1
        return self._nvt(b"".join(pieces)), events

    def _sb_add(self, data: bytes) -> None:
        if self._sb_overflow:
            return
        if len(self._sb) + len(data) > self.max_subneg:
            self._sb_overflow = True
            self._sb.clear()
        else:
            self._sb += data

    def _nvt(self, data: bytes) -> bytes:
        """CR NUL → CR (RFC 854: a bare carriage return), also when the pair is split across chunks."""
        if not data or not self.strip_cr_nul:
            return data
        raw_ends_cr = data[-1] == 13
        if self._after_cr and data[0] == 0:
            data = data[1:]
        self._after_cr = raw_ends_cr
        return data.replace(b"\r\x00", b"\r") if b"\r\x00" in data else data


def command(verb: int, option: int) -> bytes:
    return bytes((IAC, verb, option))


def subnegotiation(option: int, payload: bytes) -> bytes:
    return bytes((IAC, SB, option)) + payload.replace(_IAC, _IAC * 2) + bytes((IAC, SE))


def naws(cols: int, rows: int) -> bytes:
    """RFC 1073 window size; values are clamped to 16 bits."""
    cols, rows = max(0, min(cols, 0xFFFF)), max(0, min(rows, 0xFFFF))
    return subnegotiation(NAWS, cols.to_bytes(2, "big") + rows.to_bytes(2, "big"))


def escape_input(data: bytes, binary: bool) -> bytes:
    """User keystrokes for the wire: 0xFF doubled; outside binary mode a CR becomes CR NUL (RFC 854)."""
    if _IAC in data:
        data = data.replace(_IAC, _IAC * 2)
    if not binary and b"\r" in data:
        data = data.replace(b"\r", b"\r\x00")
    return data


@dataclass
class _Side:
    """One direction of option state: options the server performs, or options we perform.

    RFC 1143 in small: a reply goes out only when an option's state changes, and an answer
    to our own request or offer is not answered again.
    """

    allowed: frozenset[int]
    yes: int  # our enabling verb on this side (DO for the server's options, WILL for ours)
    no: int
    on: set[int] = field(default_factory=set)
    pending: set[int] = field(default_factory=set)  # asked or offered, no answer yet

    def request(self, option: int) -> bytes:
        self.pending.add(option)
        return command(self.yes, option)

    def enable(self, option: int) -> tuple[bytes, bool]:
        """The peer will perform, or wants us to perform, ``option``: the reply and whether it just turned on."""
        if option in self.on:
            return b"", False
        if option not in self.allowed:
            return command(self.no, option), False
        self.on.add(option)
        asked = option in self.pending
        self.pending.discard(option)
        return (b"" if asked else command(self.yes, option)), True

    def disable(self, option: int) -> bytes:
        self.pending.discard(option)
        if option in self.on:
            self.on.discard(option)
            return command(self.no, option)
        return b""


class Negotiator:
    """Our side of option negotiation: which options we let the server enable, which we offer.

    The server may perform SGA, ECHO and BINARY (it sends WILL, we answer DO); we perform
    NAWS, TERMINAL-TYPE and BINARY (it sends DO, we answer WILL). Everything else is
    refused. ``start`` offers NAWS and TERMINAL-TYPE and asks for SGA, so a terminal in a
    browser gets character-at-a-time input from the first keystroke.
    """

    REMOTE = frozenset((SGA, ECHO, BINARY))
    LOCAL = frozenset((NAWS, TTYPE, BINARY))

    def __init__(self) -> None:
        self._remote = _Side(self.REMOTE, DO, DONT)
        self._local = _Side(self.LOCAL, WILL, WONT)

    @property
    def remote_on(self) -> set[int]:
        return self._remote.on

    @property
    def local_on(self) -> set[int]:
        return self._local.on

    def start(self) -> bytes:
        return self._local.request(NAWS) + self._local.request(TTYPE) + self._remote.request(SGA)

    def receive(self, event: Negotiation) -> tuple[bytes, int | None]:
        """The reply to send (maybe empty) and the local option that just became enabled, if any."""
        verb, option = event.verb, event.option
        if verb == WILL:
            return self._remote.enable(option)[0], None
        if verb == DO:
            reply, now_on = self._local.enable(option)
            return reply, option if now_on else None
        return (self._remote if verb == WONT else self._local).disable(option), None
