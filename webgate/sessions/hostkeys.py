"""SSH host keys trusted on first use, one per asset, kept in the asset's ``extra`` JSON.

Stored as ``extra["ssh_host_key"] = {"key": "<type> <base64>", "fingerprint", "recorded_at"}``.
The public key is not a secret. When an asset presents a different key, the connection
is refused and the presented key is kept in ``extra["ssh_host_key_presented"]`` so an
admin can compare its fingerprint with the server's console and accept exactly that
key; forgetting the recorded key instead makes the next connection record whatever
the asset presents. Both entries are written only here and by the host-key API
(``webgate/api/host_keys.py``), never through ``PATCH /assets`` (``RESERVED``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from webgate.db.models import Asset

FIELD = "ssh_host_key"
PRESENTED = "ssh_host_key_presented"
RESERVED = (FIELD, PRESENTED)


def _entry(asset: Asset, name: str) -> dict[str, Any] | None:
    entry = (asset.extra or {}).get(name)
    return entry if isinstance(entry, dict) and entry.get("key") else None


def host_key_view(asset: Asset) -> dict[str, Any]:
    """What an admin sees: the recorded key and the different key last refused, if any."""
    def view(entry: dict[str, Any] | None, when: str) -> dict[str, Any] | None:
        if entry is None:
            return None
        return {"key": entry["key"], "fingerprint": entry.get("fingerprint", ""), when: entry.get(when)}

    return {"asset_id": str(asset.id), "recorded": view(_entry(asset, FIELD), "recorded_at"),
            "presented": view(_entry(asset, PRESENTED), "seen_at")}


def recorded_host_key(asset: Asset) -> str | None:
    entry = _entry(asset, FIELD)
    return str(entry["key"]) if entry is not None else None


def _fingerprint(key: str) -> str:
    import asyncssh

    return asyncssh.import_public_key(key).get_fingerprint("sha256")


async def record_host_key(asset: Asset, key: str, now: datetime) -> None:
    """Record the key the asset presented, unless one is already recorded."""
    if recorded_host_key(await Asset.get(id=asset.id)) is not None:
        return
    key = " ".join(key.split()[:2])  # drop the comment: it is not part of the key
    await _write(asset, {FIELD: {"key": key, "fingerprint": _fingerprint(key), "recorded_at": now.isoformat()}})


async def _write(asset: Asset, changes: dict[str, Any | None]) -> None:
    """Set (or with None remove) host-key entries on the freshest ``extra``, keeping everything else."""
    fresh = await Asset.get(id=asset.id)
    extra: dict[str, Any] = dict(fresh.extra or {})
    for name, value in changes.items():
        if value is None:
            extra.pop(name, None)
        else:
            extra[name] = value
    await Asset.filter(id=asset.id).update(extra=extra)
    asset.extra = extra


async def note_presented_key(asset: Asset, key: str, now: datetime) -> None:
    """A connection was refused because of this different key: keep it for an admin to judge."""
    key = " ".join(key.split()[:2])
    await _write(asset, {PRESENTED: {"key": key, "fingerprint": _fingerprint(key), "seen_at": now.isoformat()}})


async def accept_presented_key(asset: Asset, fingerprint: str, now: datetime) -> dict[str, Any] | None:
    """Trust the refused key the admin checked (by its fingerprint); None when that is not the one on file."""
    presented = _entry(asset, PRESENTED)
    if presented is None or presented.get("fingerprint") != fingerprint:
        return None
    entry = {"key": presented["key"], "fingerprint": presented["fingerprint"], "recorded_at": now.isoformat()}
    await _write(asset, {FIELD: entry, PRESENTED: None})
    return entry


async def forget_host_key(asset: Asset) -> None:
    """An admin accepted a changed key: the next connection records whatever the asset presents."""
    await _write(asset, {FIELD: None, PRESENTED: None})
