"""Why a session ended: a short reason code for the row and a sentence for the banner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MESSAGES: dict[str, str] = {
    "target_exited": "The session ended on the asset.",
    "client_closed": "The session was closed from the browser.",
    "client_gone": "The browser stopped responding, so the session was closed.",
    "idle_timeout": "The session was closed after {minutes} minute(s) without input.",
    "max_duration": "The session reached its maximum length of {length} and was closed.",
    "access_revoked": "Your access to this asset was withdrawn or your login ended, so the session was closed.",
    "killed": "The session was ended by {by}.",
    "protocol_error": "The browser sent something the gateway cannot accept, so the session was closed.",
    "recording_failed": "The session could not be recorded, so it was closed. Tell your admin.",
    "gateway_shutdown": "The gateway is restarting. Reconnect in a moment.",
    "gateway_restarted": "The gateway stopped unexpectedly while this session was open.",
    "error": "The session ended because of an error on the gateway. Reconnect; if it persists, tell your admin.",
}


@dataclass(frozen=True, slots=True)
class Ending:
    reason: str
    message: str
    exit_status: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"type": "exit", "reason": self.reason, "message": self.message, "code": self.exit_status}


def ending_for(reason: str, *, exit_status: int | None = None, **values: Any) -> Ending:
    message = MESSAGES[reason].format(**values)
    if reason == "target_exited" and exit_status is not None:
        message = f"The session ended on the asset (exit code {exit_status})."
    return Ending(reason, message, exit_status)
