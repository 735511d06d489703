"""JSON from clients, refused unless every string in it is text.

``"\\ud800"`` is valid JSON, but a lone surrogate is no character: accepted, it fails only
later, where the value is stored or sent on (a 500 from the database, a session that dies
sending a password). Refusing it at the door gives the client a 400 that says why.
"""

from __future__ import annotations

import json
from typing import Any


class NotText(ValueError):
    """The JSON holds an escaped lone surrogate."""


def loads(raw: str | bytes, **options: Any) -> Any:
    """``json.loads`` that also raises NotText (a ValueError) for lone surrogates."""
    data = json.loads(raw, **options)
    marker: str | bytes = "\\u" if isinstance(raw, str) else b"\\u"
    if marker in raw:  # only an escape can make one: valid UTF-8 input holds none
        try:
            json.dumps(data, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise NotText("A string in this JSON holds a lone surrogate escape, which is not text.") from None
    return data
