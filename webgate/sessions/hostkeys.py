"""SSH host keys trusted on first use, one per asset, kept in the asset's ``extra`` JSON.

Stored as ``extra["ssh_host_key"] = {"key": "<type> <base64>", "fingerprint", "recorded_at"}``.
The public key is not a secret. Forgetting it (an admin accepting a changed key) makes
the next connection record the new one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from webgate.db.models import Asset

FIELD = "ssh_host_key"


def recorded_host_key(asset: Asset) -> str | None:
    entry = (asset.extra or {}).get(FIELD)
    return entry.get("key") if isinstance(entry, dict) and entry.get("key") else None


def _fingerprint(key: str) -> str:
    import asyncssh

    return asyncssh.import_public_key(key).get_fingerprint("sha256")


async def record_host_key(asset: Asset, key: str, now: datetime) -> None:
    """Record the key the asset presented, unless one is already recorded."""
    fresh = await Asset.get(id=asset.id)
    if recorded_host_key(fresh) is not None:
        return
    key = " ".join(key.split()[:2])  # drop the comment: it is not part of the key
    extra: dict[str, Any] = dict(fresh.extra or {})
    extra[FIELD] = {"key": key, "fingerprint": _fingerprint(key), "recorded_at": now.isoformat()}
    await Asset.filter(id=asset.id).update(extra=extra)
    asset.extra = extra


async def forget_host_key(asset: Asset) -> None:
    """An admin accepted a changed key: the next connection records whatever the asset presents."""
    extra = dict(asset.extra or {})
    if extra.pop(FIELD, None) is not None:
        await Asset.filter(id=asset.id).update(extra=extra)
        asset.extra = extra
