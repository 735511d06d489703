"""Target credentials at rest: checked, sealed to their row, and revealed only to connectors.

The ciphertext is bound to ``<table>.<column>:<row id>`` (webgate/db/crypto.py), so the row's
id must exist before sealing; a sealed secret copied to another row does not decrypt.
Nothing here returns a secret to the API: ``reveal_secret`` is for the session lifecycle.
"""

from __future__ import annotations

from typing import Any

import asyncssh

from webgate.db.crypto import context_for
from webgate.errors import ValidationFailed
from webgate.services import Services

SECRET_TYPES = ("password", "ssh_key", "token", "kubeconfig")
MAX_SECRET = 64 * 1024


def check_secret(secret_type: str, secret: str | None, passphrase: str | None) -> None:
    """Refuse an SSH key that does not parse, or whose passphrase is wrong (422 on ``secret``)."""
    if secret is None or secret_type != "ssh_key":  # noqa: S105 - a type name, not a secret
        return
    try:
        asyncssh.import_private_key(secret, passphrase or None)
    except (asyncssh.KeyImportError, ValueError, TypeError):
        if passphrase:
            raise ValidationFailed({"secret": "This private key cannot be opened: the key or its passphrase "
                                              "is wrong. Paste the whole key (OpenSSH or PEM format)."}) from None
        raise ValidationFailed({"secret": "This is not a private key webgate can read, or it needs a passphrase. "
                                          "Paste the whole key (OpenSSH or PEM format)."}) from None


def seal(services: Services, table: str, row: Any, secret: str | None, passphrase: str | None) -> list[str]:
    """Encrypt given values onto ``row``. None keeps a value, "" clears it. Returns fields changed."""
    changed = []
    for column, value in (("secret", secret), ("passphrase", passphrase)):
        if value is None:
            continue
        sealed = services.box.encrypt(value, context_for(table, column, row.id)) if value else None
        setattr(row, f"{column}_enc", sealed)
        changed.append(column)
    return changed


def unseal(services: Services, table: str, row: Any) -> tuple[str | None, str | None]:
    out = []
    for column in ("secret", "passphrase"):
        token = getattr(row, f"{column}_enc")
        out.append(services.box.decrypt(token, context_for(table, column, row.id)) if token else None)
    return out[0], out[1]


def reveal_secret(services: Services, account: Any) -> tuple[str | None, str | None]:
    """(secret, passphrase) of an account, for connectors only — never for an API response."""
    return unseal(services, "accounts", account)


def apply_credentials(services: Services, table: str, row: Any, data: dict[str, Any], given: set[str]) -> list[str]:
    """Set plain credential fields and (re)seal secrets on ``row``; PATCH without secret keeps it.

    ``data`` holds the body's values and ``given`` the fields the request actually sent.
    Changing ``secret_type`` needs the new secret, and an SSH key is checked against the
    passphrase it will be used with (the stored one when only one of them changes).
    """
    changed = [f for f in given if f not in ("secret", "passphrase") and getattr(row, f) != data[f]]
    for name in changed:
        setattr(row, name, data[name])
    secret = data.get("secret") if "secret" in given else None
    passphrase = data.get("passphrase") if "passphrase" in given else None
    if "secret_type" in changed and secret is None and row.secret_enc:
        raise ValidationFailed({"secret": "Give the new secret for the new secret type."})
    if row.secret_type == "ssh_key" and (secret or passphrase is not None):  # noqa: S105
        old_secret, old_pass = unseal(services, table, row) if row.secret_enc else (None, None)
        check_secret("ssh_key", secret or old_secret, old_pass if passphrase is None else passphrase)
    return changed + seal(services, table, row, secret, passphrase)
