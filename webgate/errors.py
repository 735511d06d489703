"""The one error tree: each error knows its HTTP status and WebSocket close code.

Messages are written for the person in front of the browser ("what happened, what to
do"); ``details`` carries machine-readable context. Nothing here may contain a secret
or a stack trace: these are sent to clients as they are.
"""

from __future__ import annotations

from typing import Any


class WebgateError(Exception):
    status: int = 500
    code: str = "internal_error"
    ws_close: int = 1011
    message: str = "Something went wrong on the gateway. Try again; if it persists, tell your admin."

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.message)
        if message:
            self.message = message
        if code:
            self.code = code
        self.details: dict[str, Any] = details or {}

    def to_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ConfigError(WebgateError):
    code = "config_error"
    message = "The gateway is misconfigured."


class BadRequest(WebgateError):
    status, code, ws_close = 400, "bad_request", 1007
    message = "The request could not be read."


class ValidationFailed(WebgateError):
    status, code, ws_close = 422, "validation_error", 1007
    message = "Some fields are not valid."

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        super().__init__(message or self.message, details={"fields": fields})


class Unauthenticated(WebgateError):
    status, code, ws_close = 401, "unauthenticated", 4401
    message = "Please log in."


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    message = "Wrong username or password."


class MfaRequired(Unauthenticated):
    code = "mfa_required"
    message = "Enter the code from your authenticator app to finish logging in."


class Forbidden(WebgateError):
    status, code, ws_close = 403, "forbidden", 4403
    message = "You are not allowed to do this. Ask your admin for access."


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    message = "This request did not come from a webgate page. Reload the page and try again."


class Locked(Forbidden):
    code = "locked"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        minutes = max(1, (retry_after + 59) // 60)
        super().__init__(
            message or f"Too many failed logins. Try again in {minutes} minute(s) or ask your admin to unlock you.",
            details={"retry_after": retry_after},
        )


class NotFound(WebgateError):
    status, code, ws_close = 404, "not_found", 4404
    message = "Not found, or you may not see it."


class Conflict(WebgateError):
    status, code, ws_close = 409, "conflict", 4409
    message = "This conflicts with something that already exists."


class TooLarge(WebgateError):
    status, code, ws_close = 413, "too_large", 1009
    message = "This is larger than the gateway accepts."


class Unavailable(WebgateError):
    status, code, ws_close = 503, "unavailable", 1013
    message = "A service the gateway needs is not reachable. Try again in a minute."
