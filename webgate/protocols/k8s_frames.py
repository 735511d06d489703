"""Kubernetes exec streaming frames (``v4``/``v5.channel.k8s.io``): pure encode/decode.

Each WebSocket binary message is one channel byte followed by the payload. Channels:
0 stdin, 1 stdout, 2 stderr, 3 status (a ``metav1.Status`` JSON object at the end),
4 resize (``{"Width":W,"Height":H}``) and, in v5 only, 255 "close" (``[255, n]`` closes
stream ``n``; we only ever close stdin). No I/O here, so it is tested exhaustively
(Hypothesis) and every input a hostile cluster can send is bounded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

STDIN, STDOUT, STDERR, STATUS, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
SUBPROTOCOLS = (V5, V4)  # offered in order of preference; the server echoes its choice
CHANNELS = frozenset({STDIN, STDOUT, STDERR, STATUS, RESIZE, CLOSE})

MAX_PAYLOAD = 1 << 20  # one frame from the cluster; larger messages are refused by the socket too
MAX_FRAME = MAX_PAYLOAD + 1
STDIN_CHUNK = 64 << 10  # input is sent in frames of at most this many bytes
MAX_STATUS = 64 << 10
MAX_MESSAGE = 500  # characters of a cluster's status message passed on to the user
MAX_SIZE = 10_000  # terminal columns/rows accepted in a resize frame


class FrameError(ValueError):
    """A frame that does not follow the protocol (unknown channel, too large, bad JSON)."""


@dataclass(frozen=True, slots=True)
class Frame:
    channel: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class ExitInfo:
    """What the status channel said: the exit code when known, and the cluster's reason."""

    code: int | None
    reason: str = ""
    message: str = ""

    @property
    def success(self) -> bool:
        return self.code == 0


def encode(channel: int, payload: bytes = b"") -> bytes:
    if channel not in CHANNELS:
        raise FrameError(f"unknown channel {channel}")
    if len(payload) > MAX_PAYLOAD:
        raise FrameError("payload too large")
    return bytes((channel,)) + payload


def decode(message: bytes) -> Frame:
    """One WebSocket message → frame. An empty message has no channel byte and is an error."""
    if not message:
        raise FrameError("empty message")
    if len(message) > MAX_FRAME:
        raise FrameError("frame too large")
    channel = message[0]
    if channel not in CHANNELS:
        raise FrameError(f"unknown channel {channel}")
    return Frame(channel, bytes(message[1:]))


def stdin_frames(data: bytes) -> list[bytes]:
    """Input as stdin frames of at most ``STDIN_CHUNK`` payload bytes (one frame for small input)."""
    if len(data) <= STDIN_CHUNK:
        return [b"\x00" + data]
    view = memoryview(data)
    return [b"\x00" + view[i:i + STDIN_CHUNK].tobytes() for i in range(0, len(data), STDIN_CHUNK)]


def resize_frame(cols: int, rows: int) -> bytes:
    if not (1 <= cols <= MAX_SIZE and 1 <= rows <= MAX_SIZE):
        raise FrameError("terminal size out of range")
    return encode(RESIZE, json.dumps({"Width": cols, "Height": rows}, separators=(",", ":")).encode())


def parse_resize(payload: bytes) -> tuple[int, int]:
    """The (cols, rows) of a resize payload; used by servers and tests."""
    data = _json_object(payload)
    cols, rows = data.get("Width"), data.get("Height")
    if type(cols) is not int or type(rows) is not int or not (0 <= cols <= MAX_SIZE and 0 <= rows <= MAX_SIZE):
        raise FrameError("bad resize payload")
    return cols, rows


def close_stdin_frame() -> bytes:
    """v5 only: tell the server that no more input will come."""
    return bytes((CLOSE, STDIN))


def _json_object(payload: bytes) -> dict[str, object]:
    if len(payload) > MAX_STATUS:
        raise FrameError("status too large")
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise FrameError("not JSON") from None
    if not isinstance(data, dict):
        raise FrameError("not a JSON object")
    return data


def _text(value: object) -> str:
    return " ".join(str(value).split())[:MAX_MESSAGE] if isinstance(value, str) else ""


def parse_status(payload: bytes) -> ExitInfo:
    """A ``metav1.Status`` → exit code. ``Success`` is 0; ``NonZeroExitCode`` carries the code
    in ``details.causes[reason=ExitCode].message``; any other failure has no code but a reason."""
    data = _json_object(payload)
    status, reason, message = data.get("status"), _text(data.get("reason")), _text(data.get("message"))
    if status == "Success":
        return ExitInfo(0, reason, message)
    if status != "Failure":
        raise FrameError("unknown status")
    code: int | None = None
    details = data.get("details")
    causes = details.get("causes") if isinstance(details, dict) else None
    for cause in causes if isinstance(causes, list) else []:
        if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
            raw = cause.get("message")
            if isinstance(raw, str) and raw.isdigit() and len(raw) <= 10:
                code = int(raw)
            break
    return ExitInfo(code, reason, message)


def status_payload(code: int, message: str = "") -> bytes:
    """The Status a server sends at the end (kubelet's shape); used by test servers."""
    if code == 0:
        return json.dumps({"metadata": {}, "status": "Success"}).encode()
    return json.dumps({
        "metadata": {}, "status": "Failure",
        "message": message or f"command terminated with non-zero exit code: exit status {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}).encode()
