"""The one input gate: the only place allowed to hold, change or refuse what a user types.

Later the command filter (deny / warn / hold for approval) and read-only joiners plug
in here; connectors and transports never look at input themselves.

Paste control is an audit aid, not a security boundary: the server cannot tell a
paste from fast typing, so without the ``paste`` action it refuses what only a paste
produces — a bracketed-paste marker or a frame longer than a burst of typing (an
input-method composition of a few dozen CJK characters still fits).
"""

from __future__ import annotations

from webgate.errors import Forbidden

PASTE_START = b"\x1b[200~"
TYPING_MAX = 256


class InputRefused(Forbidden):
    code = "input_refused"
    message = "This input was not sent to the asset."


class InputGate:
    __slots__ = ("can_paste", "read_only")  # one per live session: no __dict__

    def __init__(self, actions: frozenset[str], *, read_only: bool = False) -> None:
        self.can_paste = "paste" in actions
        self.read_only = read_only

    async def admit(self, data: bytes) -> bytes:
        """Return the bytes to send to the target, or raise ``InputRefused`` with the reason."""
        if self.read_only:
            raise InputRefused("This session is view-only: what you type is not sent.", code="read_only")
        if not self.can_paste and (len(data) > TYPING_MAX or PASTE_START in data):
            raise InputRefused("Pasting is not allowed on this asset; type the text instead, "
                               "or ask your admin for the paste permission.", code="paste_denied")
        return data
