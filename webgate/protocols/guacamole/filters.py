"""browser → guacd: the opcode allow-list and the checks on each instruction's elements.

After the gateway's own handshake, the browser may only drive the display it was given:
keyboard, mouse, touch, resize and flow control. Clipboard and file streams pass only
when the permission grants copy/paste/upload/download; a read-only viewer may send
nothing but flow control. Everything else — ``select``, ``connect``, ``args`` (a second
handshake), unknown opcodes, wrong element counts, non-numeric or out-of-range numbers,
a stream index the browser never opened — raises ``Refused`` and the session closes.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_STREAMS = 64  # guacd 1.3.0: GUAC_USER_MAX_STREAMS / GUAC_USER_MAX_OBJECTS
MAX_SIZE = 8192  # pixels per side
MAX_DPI = 1200
MAX_PATH = 1024  # characters of a file name or drive path in put/file/get

FLOW = frozenset({"sync", "ack", "nop", "disconnect"})
INPUT = frozenset({"key", "mouse", "touch", "size"})
# opcode → number of elements after the opcode (a tuple: any of these counts)
_ARITY: dict[str, tuple[int, ...]] = {
    "sync": (1, 2), "ack": (3,), "nop": (0,), "disconnect": (0,), "key": (2,), "mouse": (3,),
    "touch": (7,), "size": (2, 3), "clipboard": (2,), "blob": (2,), "end": (1,), "file": (3,), "put": (4,),
    "get": (2,),
}


class Refused(ValueError):
    """An instruction the browser may not send; the message names it for the audit log."""


def _int(value: str, name: str, low: int, high: int) -> int:
    if not value or not (value.isascii() and value.lstrip("-").isdigit()) or len(value) > 20:
        raise Refused(f"{name} must be a whole number.")
    number = int(value)
    if not low <= number <= high:
        raise Refused(f"{name} is out of range.")
    return number


class InstructionFilter:
    """One browser's allow-list, from the permission's actions; tracks the streams it opened."""

    def __init__(self, actions: Iterable[str], *, read_only: bool = False) -> None:
        acts = frozenset(actions)
        self.read_only = read_only
        allowed = set(FLOW)
        if not read_only:
            allowed |= INPUT
            if "paste" in acts:  # browser clipboard → remote desktop
                allowed |= {"clipboard", "blob", "end"}
            if "upload" in acts:
                allowed |= {"file", "put", "blob", "end"}
            if "download" in acts:  # ``get`` on the shared drive: guacd answers with a body stream
                allowed.add("get")
        self.allowed = frozenset(allowed)
        self._open: set[int] = set()  # input streams the browser opened (clipboard/file/put)

    def check(self, instruction: list[str]) -> None:
        """Raise ``Refused`` unless this instruction may go to guacd."""
        if not instruction:
            raise Refused("An empty instruction was sent.")
        opcode, args = instruction[0], instruction[1:]
        if opcode not in self.allowed:
            shown = opcode[:32] if opcode.isprintable() else repr(opcode[:32])
            raise Refused(f"The browser may not send '{shown}' here.")
        if len(args) not in _ARITY[opcode]:
            raise Refused(f"'{opcode}' has the wrong number of elements.")
        getattr(self, f"_{opcode}", _nothing)(args)

    # -- per opcode -----------------------------------------------------------------------

    def _sync(self, args: list[str]) -> None:
        _int(args[0], "sync timestamp", 0, 2**63 - 1)

    def _ack(self, args: list[str]) -> None:
        _int(args[0], "ack stream", 0, MAX_STREAMS - 1)
        _int(args[2], "ack status", 0, 0xFFFF)

    def _key(self, args: list[str]) -> None:
        _int(args[0], "keysym", 0, 0x7FFFFFFF)
        _int(args[1], "key pressed", 0, 1)

    def _mouse(self, args: list[str]) -> None:
        _int(args[0], "mouse x", -MAX_SIZE, MAX_SIZE)
        _int(args[1], "mouse y", -MAX_SIZE, MAX_SIZE)
        _int(args[2], "mouse buttons", 0, 0xFF)

    def _touch(self, args: list[str]) -> None:
        _int(args[0], "touch id", 0, 255)
        for name, value in zip(("x", "y", "radius x", "radius y"), args[1:5], strict=True):
            _int(value, f"touch {name}", -MAX_SIZE, MAX_SIZE)
        for name, value in (("angle", args[5]), ("force", args[6])):
            try:
                number = float(value)
            except ValueError:
                raise Refused(f"touch {name} must be a number.") from None
            if not -1e6 < number < 1e6:
                raise Refused(f"touch {name} is out of range.")

    def _size(self, args: list[str]) -> None:
        _int(args[0], "width", 1, MAX_SIZE)
        _int(args[1], "height", 1, MAX_SIZE)
        if len(args) == 3:
            _int(args[2], "dpi", 1, MAX_DPI)

    def _opens(self, value: str) -> None:
        index = _int(value, "stream", 0, MAX_STREAMS - 1)
        if index in self._open:
            raise Refused("A stream was opened twice.")
        self._open.add(index)

    def _uses(self, value: str, *, close: bool = False) -> None:
        index = _int(value, "stream", 0, MAX_STREAMS - 1)
        if index not in self._open:
            raise Refused("A stream index was used that the browser never opened.")
        if close:
            self._open.discard(index)

    def _clipboard(self, args: list[str]) -> None:
        self._opens(args[0])

    def _file(self, args: list[str]) -> None:
        _name(args[2], "file name", path=False)
        self._opens(args[0])

    def _put(self, args: list[str]) -> None:
        _int(args[0], "object", 0, MAX_STREAMS - 1)
        _name(args[3], "file path", path=True)
        self._opens(args[1])

    def _get(self, args: list[str]) -> None:
        _int(args[0], "object", 0, MAX_STREAMS - 1)
        _name(args[1], "file path", path=True)

    def _blob(self, args: list[str]) -> None:
        self._uses(args[0])

    def _end(self, args: list[str]) -> None:
        self._uses(args[0], close=True)


def _name(value: str, what: str, *, path: bool) -> None:
    """A drive path (``/dir/file``) or a bare file name: bounded, printable, no way up (``..``)."""
    if not value or len(value) > MAX_PATH or not value.isprintable():
        raise Refused(f"The {what} must be 1 to {MAX_PATH} printable characters.")
    parts = value.replace("\\", "/").split("/")
    if path and not value.startswith("/"):
        raise Refused(f"The {what} must start with '/'.")
    if (not path and len(parts) > 1) or ".." in parts:
        raise Refused(f"The {what} may not leave the shared drive.")


def _nothing(args: list[str]) -> None:
    return None
