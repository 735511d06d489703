"""Argon2id password hashing and the password policy.

Unknown users are checked against a dummy hash so that the time a failed login takes
does not reveal whether the username exists.

Argon2 costs ~100 ms of CPU per hash (more on a slow machine) and releases the GIL. The
async methods run it on this object's own threads, never on the event loop (where it would
stall every live session of the node) and never in the default thread pool (where a login
would queue behind recordings being converted when many sessions end at once).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import string
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Passwords:
    def __init__(self, time_cost: int = 3, memory_kib: int = 65536) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        self._pool: ThreadPoolExecutor | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, hashed: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(hashed or self._dummy, password) and hashed is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def hash_off_loop(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._threads(), self.hash, password)

    async def verify_off_loop(self, hashed: str | None, password: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(self._threads(), self.verify, hashed, password)

    def _threads(self) -> ThreadPoolExecutor:
        # As many as there are cores: more would only share them (and hold 64 MiB each).
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="argon2")
        return self._pool


def policy_errors(password: str, policy: dict[str, Any], username: str = "") -> list[str]:
    """Human sentences for each rule the password breaks (empty when it is acceptable)."""
    errors: list[str] = []
    if len(password) < int(policy.get("min_length", 10)):
        errors.append(f"at least {policy.get('min_length', 10)} characters")
    if policy.get("require_upper") and not any(c.isupper() for c in password):
        errors.append("an upper-case letter")
    if policy.get("require_lower") and not any(c.islower() for c in password):
        errors.append("a lower-case letter")
    if policy.get("require_digit") and not any(c.isdigit() for c in password):
        errors.append("a digit")
    if policy.get("require_symbol") and all(c.isalnum() for c in password):
        errors.append("a symbol")
    if len(password) > 1024:
        errors.append("at most 1024 characters")
    if username and username.lower() in password.lower():
        errors.append("to leave out the username")
    return errors


def generate_password(length: int = 16) -> str:
    """A one-time password that satisfies any reasonable policy (all four classes)."""
    alphabet = string.ascii_letters + string.digits + "-_.!@#%"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if (any(c.isupper() for c in pw) and any(c.islower() for c in pw)
                and any(c.isdigit() for c in pw) and any(not c.isalnum() for c in pw)):
            return pw
