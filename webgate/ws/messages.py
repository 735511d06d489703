"""Typed control messages of the terminal WebSocket: a union on ``"type"``.

Only control travels as JSON text frames; terminal bytes are binary frames. Every
message a client sends is parsed into one of these or answered with an error frame —
nothing is dropped silently. See docs/terminal-protocol.md.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from webgate import jsontext
from webgate.errors import BadRequest, ValidationFailed

MAX_COLS = 1000
MAX_ROWS = 500


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Resize(_Msg):
    type: Literal["resize"]
    cols: int = Field(ge=1, le=MAX_COLS)
    rows: int = Field(ge=1, le=MAX_ROWS)


class Ping(_Msg):
    type: Literal["ping"]
    t: float | int | str | None = None


class CredentialsMsg(_Msg):
    """The answer to ``credentials_required`` for manual-input accounts; never stored or logged."""

    type: Literal["credentials"]
    username: str = Field(default="", max_length=128)
    password: str = Field(max_length=4096, repr=False)


ClientMessage = Annotated[Resize | Ping | CredentialsMsg, Field(discriminator="type")]
_adapter: TypeAdapter[Resize | Ping | CredentialsMsg] = TypeAdapter(ClientMessage)
KNOWN_TYPES = ("resize", "ping", "credentials")


def _not_json(name: str) -> None:
    """NaN and Infinity are Python's extensions, not JSON: a pong echoing them would not parse in the browser."""
    raise ValueError(name)


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999
        raise ValueError(text)
    return number


def parse_client_message(text: str) -> Resize | Ping | CredentialsMsg:
    """Parse one text frame; raises BadRequest (not JSON / unknown type) or ValidationFailed."""
    try:
        data = jsontext.loads(text, parse_constant=_not_json, parse_float=_finite)
    except jsontext.NotText as exc:
        raise BadRequest(str(exc), code="bad_message") from None
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested past the parser's depth
        raise BadRequest("This control message is not valid JSON.", code="bad_message") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise BadRequest('A control message must be a JSON object with a "type".', code="bad_message")
    if data["type"] not in KNOWN_TYPES:
        raise BadRequest(f"Unknown control message type '{str(data['type'])[:40]}'.", code="unknown_message",
                         details={"known": list(KNOWN_TYPES)})
    try:
        return _adapter.validate_python(data)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"][1:]) or "type"
            fields.setdefault(loc, err["msg"])
        raise ValidationFailed(fields, f"This {data['type']} message is not valid.") from None


def status(state: str, **extra: Any) -> str:
    return json.dumps({"type": "status", "state": state, **extra})


def error(code: str, message: str, *, fatal: bool = False, details: dict[str, Any] | None = None) -> str:
    return json.dumps({"type": "error", "code": code, "message": message, "fatal": fatal, "details": details or {}})
