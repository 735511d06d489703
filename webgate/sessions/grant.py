"""What one terminal connection may do, as the session lifecycle needs it.

The decision itself is the permission resolver's (``webgate.policy.access``); this
module turns its answer into what a session needs (asset, account row or manual
input, actions, port) and holds the one call that reveals an account's secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from webgate.assets.secrets import reveal_secret
from webgate.auth.principal import Principal
from webgate.clock import Clock
from webgate.db.models import Account, Asset
from webgate.errors import Forbidden, NotFound
from webgate.policy.access import AccessResolver
from webgate.services import Services


@dataclass(frozen=True)
class Grant:
    asset: Asset
    account: Account | None  # None when the user types the credentials (@INPUT)
    username: str  # login name on the target; "" when the user types it
    actions: frozenset[str]
    port: int
    idle_minutes: int | None = None  # the strictest limit of the permissions reaching the asset
    max_minutes: int | None = None
    until: datetime | None = None  # when the first permission behind this grant ends

    @property
    def manual(self) -> bool:
        return self.account is None


def _port(asset: Asset, protocol: str) -> int | None:
    for entry in asset.protocols or []:
        if isinstance(entry, dict) and str(entry.get("name", "")).lower() == protocol:
            return int(entry.get("port") or 0) or None
    return None


async def resolve_grant(clock: Clock, principal: Principal, asset_id: str, account: str, protocol: str,
                        now: datetime) -> Grant:
    """Ask the permission resolver; NotFound when the asset is not permitted at all."""
    org_id = principal.org_id
    if org_id is None and principal.user.is_superadmin:  # the global view: the asset's own org
        org_id = await Asset.filter(id=asset_id).values_list("org_id", flat=True).first() if _is_uuid(asset_id) else None
    if org_id is None:
        raise NotFound("This asset does not exist, or you may not use it.")
    access = await AccessResolver(clock).check(principal.user, org_id, asset_id, account, protocol,
                                               action="connect", now=now)
    port = _port(access.asset, protocol)
    if port is None:
        raise Forbidden(f"This asset does not offer {protocol}. Ask your admin to add it to the asset.")
    username = access.account.username if access.account is not None else ""
    return Grant(asset=access.asset, account=access.account, username=username,
                 actions=access.grant.actions, port=port, idle_minutes=access.grant.idle_minutes,
                 max_minutes=access.grant.max_minutes, until=access.grant.until)


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def reveal(services: Services, account: Account) -> tuple[str | None, str | None]:
    """The account's secret and key passphrase, decrypted. Called only by the session lifecycle."""
    return reveal_secret(services, account)
