"""Secrets at rest: AES-GCM bound to their row, key file created 0600."""

from __future__ import annotations

import os

import pytest

from webgate.db.crypto import SecretBox, context_for, load_or_create_key
from webgate.errors import ConfigError


def test_key_file_created_private_and_stable(tmp_path):
    path = tmp_path / "k" / "secret.key"
    key = load_or_create_key(path)
    assert len(key) == 32 and os.stat(path).st_mode & 0o777 == 0o600
    assert load_or_create_key(path) == key


def test_world_readable_key_file_is_refused(tmp_path):
    path = tmp_path / "secret.key"
    load_or_create_key(path)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_or_create_key(path)


def test_ciphertext_cannot_move_between_rows(tmp_path):
    box = SecretBox(load_or_create_key(tmp_path / "k"))
    token = box.encrypt("hunter2", context_for("accounts", "secret", "a"))
    assert "hunter2" not in token
    assert box.decrypt(token, context_for("accounts", "secret", "a")) == "hunter2"
    with pytest.raises(ValueError):
        box.decrypt(token, context_for("accounts", "secret", "b"))
    other = SecretBox(os.urandom(32))
    with pytest.raises(ValueError):
        other.decrypt(token, context_for("accounts", "secret", "a"))
