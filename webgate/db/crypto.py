"""Secrets at rest: AES-256-GCM with a key kept in a file outside the database.

Each ciphertext is bound (as associated data) to the row and column it lives in, so a
database writer cannot move an encrypted password from one account to another.
The key file is created on first use with mode 0600; losing it loses every secret,
which is why the README's backup section names it.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from webgate.errors import ConfigError

_PREFIX = "v1:"


def load_or_create_key(path: Path) -> bytes:
    """Read the 32-byte key, creating it (0600, never overwritten) when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(f"Secret key file {path} is readable by others (mode {mode:o}); run chmod 600 on it.")
    try:
        key = base64.b64decode(path.read_text().strip(), validate=True)
    except ValueError:
        raise ConfigError(f"Secret key file {path} is not valid base64.") from None
    if len(key) != 32:
        raise ConfigError(f"Secret key file {path} must hold 32 bytes.")
    return key


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return _PREFIX + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, context: str) -> str:
        if not token.startswith(_PREFIX):
            raise ValueError("unknown secret format")
        raw = base64.b64decode(token[len(_PREFIX):])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag:
            raise ValueError("secret does not decrypt with this key or was moved between rows") from None


def context_for(table: str, column: str, row_id: object) -> str:
    return f"{table}.{column}:{row_id}"
