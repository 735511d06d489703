"""SSH host keys of an asset: see the recorded key and a refused one, accept or forget.

A changed host key refuses every connection (it may be a reinstalled server or a
machine in the middle). An admin compares the refused key's fingerprint with the
server's console and accepts exactly that key, or forgets the recorded key so the
next connection records whatever the asset presents. Keys are public: nothing here
is secret, but changing trust is audited.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from webgate.api._base import Ctx, endpoint
from webgate.db.models import Asset
from webgate.errors import Conflict
from webgate.sessions.hostkeys import accept_presented_key, forget_host_key, host_key_view


class AcceptKey(BaseModel):
    """The fingerprint the admin checked on the server's console (``SHA256:…``)."""

    model_config = ConfigDict(extra="forbid")
    fingerprint: str = Field(min_length=8, max_length=128)


def _fingerprint(view: dict[str, Any], which: str) -> str | None:
    entry = view[which]
    return entry["fingerprint"] if entry else None


async def show_host_key(ctx: Ctx) -> dict[str, Any]:
    """``recorded`` (trusted) and ``presented`` (last refused, different) keys, each null when absent."""
    return host_key_view(await ctx.get(Asset))


async def accept_host_key(ctx: Ctx) -> dict[str, Any]:
    """Trust the refused key whose fingerprint the admin confirmed."""
    asset = await ctx.get(Asset)
    body = await ctx.body(AcceptKey)
    before = host_key_view(asset)
    if await accept_presented_key(asset, body.fingerprint.strip(), ctx.services.clock.now()) is None:
        raise Conflict("This is not the fingerprint of the key the asset last presented. Check it on the server's "
                       "console and try again, or reload to see the latest refused key.",
                       code="host_key_mismatch", details={"field": "fingerprint"})
    await ctx.audit("accept_host_key", "asset", asset, {
        "fingerprint": body.fingerprint.strip(), "previous_fingerprint": _fingerprint(before, "recorded")})
    return host_key_view(asset)


async def forget_host_key_(ctx: Ctx) -> dict[str, Any]:
    """Forget the recorded key: the next connection records whatever the asset presents."""
    asset = await ctx.get(Asset)
    before = host_key_view(asset)
    await forget_host_key(asset)
    await ctx.audit("forget_host_key", "asset", asset, {
        "fingerprint": None, "previous_fingerprint": _fingerprint(before, "recorded")})
    return host_key_view(asset)


routes = [
    endpoint("/assets/{id}/host-key", show_host_key, ["GET"], perm="assets.view"),
    endpoint("/assets/{id}/host-key/accept", accept_host_key, ["POST"], perm="assets.manage", body=AcceptKey),
    endpoint("/assets/{id}/host-key/forget", forget_host_key_, ["POST"], perm="assets.manage"),
]
