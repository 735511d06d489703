"""Automatic telnet login: answer the login and password prompts, then judge the outcome.

Patterns are regular expressions matched case-insensitively against the text received
since the last thing we sent, with terminal escape sequences removed. The default
prompts are anchored at the very end of that text (``\\Z``), so "Last login: …" or a
line of "####" in a banner is not taken for a prompt. An asset may override any
pattern through its extra options (``telnet_login_prompt``, ``telnet_password_prompt``,
``telnet_success_pattern``, ``telnet_failure_pattern``) and the per-step wait
(``telnet_login_timeout``, seconds).

Outcome after the password: the failure pattern, or the device asking for the login or
password again, is a failed login; the success pattern (a shell prompt by default) is
success; neither within the timeout hands the terminal to the user as it is, because an
unusual prompt must not lock people out — they see what the device says.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("webgate.protocols.telnet")

DEFAULT_LOGIN_PROMPT = r"(?:login|user ?name)[ \t]*:[ \t]*\Z"
DEFAULT_PASSWORD_PROMPT = r"pass(?:word|wd)[ \t]*:[ \t]*\Z"  # noqa: S105 - a prompt pattern, not a secret
# \Z, not $: Python's $ also matches before a final newline, and a banner line of "####"
# ending a chunk must not pass for a shell prompt.
DEFAULT_SUCCESS = r"[$#>] ?\Z"
# Linux/BSD login, Cisco IOS ("% Login invalid", "% Bad passwords"), MikroTik, Huawei and others.
DEFAULT_FAILURE = (r"login incorrect|login invalid|login failed|authentication failed|failed to authenticate"
                   r"|access denied|bad passwords?")
LOGIN_TIMEOUT = 15.0
LOGIN_BUFFER = 64 * 1024  # output kept during login (the newest part); also the most handed to the user
MAX_PATTERN = 500
_ESCAPES = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


class Receiver(Protocol):
    async def receive(self) -> bytes: ...

    async def write(self, data: bytes) -> None: ...


class LoginFailed(Exception):
    def __init__(self, said: str) -> None:
        super().__init__(said)
        self.said = said


class LoginStalled(Exception):
    def __init__(self, waiting_for: str, seconds: float, said: str) -> None:
        super().__init__(waiting_for)
        self.waiting_for, self.seconds, self.said = waiting_for, seconds, said


class LoginClosed(Exception):
    def __init__(self, said: str) -> None:
        super().__init__(said)
        self.said = said


def _line_at(text: str, start: int, end: int) -> str:
    """The whole line around a match, trimmed for a message."""
    first = text.rfind("\n", 0, start) + 1
    last = text.find("\n", end)
    return text[first:last if last >= 0 else len(text)].strip()[:200]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


class _Seen:
    """Output received during login, bounded; ``mark`` is where the current step's text starts.

    ``window`` returns only what is new since the last look plus ``OVERLAP`` bytes before
    it, so a device that prints its banner one byte per packet (a serial console server)
    costs linear time, not quadratic. Patterns are checked after every chunk, so a match
    shorter than the overlap is never missed.
    """

    OVERLAP = 512  # prompts and failure lines are far shorter

    def __init__(self, limit: int) -> None:
        self.buf = bytearray()
        self.limit = limit
        self.mark = 0
        self._looked = 0

    def add(self, data: bytes) -> None:
        self.buf += data
        excess = len(self.buf) - self.limit
        if excess > 0:
            del self.buf[:excess]
            self.mark = max(0, self.mark - excess)
            self._looked = max(0, self._looked - excess)

    def start_step(self) -> None:
        self.mark = self._looked = len(self.buf)

    def window(self) -> str:
        start = max(self.mark, self._looked - self.OVERLAP)
        self._looked = len(self.buf)
        return _ESCAPES.sub(b"", bytes(self.buf[start:])).decode("utf-8", "replace").replace("\r", "")


PATTERN_OPTIONS = {
    "telnet_login_prompt": DEFAULT_LOGIN_PROMPT,
    "telnet_password_prompt": DEFAULT_PASSWORD_PROMPT,
    "telnet_success_pattern": DEFAULT_SUCCESS,
    "telnet_failure_pattern": DEFAULT_FAILURE,
}
TIMEOUT_OPTION = "telnet_login_timeout"


class InvalidOptions(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def _text(options: Mapping[str, object], key: str) -> str | None:
    value = options.get(key)
    return value if isinstance(value, str) and value.strip() else None


def option_errors(options: Mapping[str, object]) -> dict[str, str]:
    """Sentences for each telnet login option that is not usable (empty when all are fine).

    Meant also for the asset form, so an admin hears about a bad pattern when saving it
    rather than from the first user who connects.
    """
    errors: dict[str, str] = {}
    for key in PATTERN_OPTIONS:
        text = _text(options, key)
        if text is None:
            if options.get(key) not in (None, ""):
                errors[key] = "must be text (a regular expression)"
            continue
        if len(text) > MAX_PATTERN:
            errors[key] = f"must be at most {MAX_PATTERN} characters"
            continue
        try:
            re.compile(text)
        except re.error as exc:
            errors[key] = f"is not a valid regular expression ({exc.msg})"
    raw = options.get(TIMEOUT_OPTION)
    if raw not in (None, ""):
        try:
            seconds = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            seconds = -1.0
        if isinstance(raw, bool) or not 0 < seconds <= 300:
            errors[TIMEOUT_OPTION] = "must be a number of seconds above 0 and at most 300"
    return errors


@dataclass(frozen=True)
class LoginScript:
    login: re.Pattern[str]
    password: re.Pattern[str]
    success: re.Pattern[str]
    failure: re.Pattern[str]
    timeout: float = LOGIN_TIMEOUT

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> LoginScript:
        """Patterns from the asset's options, defaults for the rest; ``InvalidOptions`` names bad ones."""
        errors = option_errors(options)
        if errors:
            raise InvalidOptions(errors)
        patterns = {key: re.compile(_text(options, key) or default, re.IGNORECASE)
                    for key, default in PATTERN_OPTIONS.items()}
        raw = options.get(TIMEOUT_OPTION)
        timeout = float(raw) if raw not in (None, "") else LOGIN_TIMEOUT  # type: ignore[arg-type]
        return cls(patterns["telnet_login_prompt"], patterns["telnet_password_prompt"],
                   patterns["telnet_success_pattern"], patterns["telnet_failure_pattern"], timeout)

    async def run(self, peer: Receiver, username: str, password: str, limit: int = LOGIN_BUFFER) -> bytes:
        """Log in; returns everything the device showed meanwhile (at most ``limit`` bytes)."""
        seen = _Seen(limit)
        step, _ = await self._expect(peer, seen, ("login", "password", "success"), "show a login prompt")
        if step == "login":
            seen.start_step()
            await peer.write(username.encode() + b"\r")
            step, match = await self._expect(peer, seen, ("failure", "password", "login", "success"),
                                             "ask for the password")
            if step in ("failure", "login"):  # asked for the login again: the name was refused
                raise LoginFailed(match if step == "failure" else "")
        if step == "password":
            seen.start_step()
            await peer.write(password.encode() + b"\r")
            try:
                step, match = await self._expect(peer, seen, ("failure", "login", "password", "success"),
                                                 "finish logging in", closed_is_failure=True)
            except LoginStalled:
                log.warning("telnet login: no shell prompt recognised after the password; handing over as is")
                return bytes(seen.buf)
            if step != "success":
                raise LoginFailed(match if step == "failure" else "")
        return bytes(seen.buf)

    async def _expect(self, peer: Receiver, seen: _Seen, steps: tuple[str, ...], waiting_for: str,
                      closed_is_failure: bool = False) -> tuple[str, str]:
        """Wait until one of ``steps`` matches (checked in order); returns it and the line it matched."""
        text = ""
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    text = seen.window()
                    for step in steps:
                        found = getattr(self, step).search(text)
                        if found:
                            return step, _line_at(text, found.start(), found.end())
                    data = await peer.receive()
                    if not data:
                        raise (LoginFailed if closed_is_failure else LoginClosed)(_last_line(text))
                    seen.add(data)
        except TimeoutError:
            raise LoginStalled(waiting_for, self.timeout, _last_line(text)) from None
