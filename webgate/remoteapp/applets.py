"""Which applet a RemoteApp session runs, and the grant it runs under.

A RemoteApp session opens an asset (a website, a database) through a program; the person
needs a permission for that asset with the applet's protocol (``https``, ``mysql``…), the
same as for any other way in. The applet is looked up in the caller's org only, and must be
active and made for the asset's platform, or the answer is a plain NotFound (no probing of
other orgs' applets). Called at open and at every re-check, so disabling an applet or
withdrawing the permission ends running sessions too.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from webgate.auth.principal import Principal
from webgate.db.models import Applet, Asset
from webgate.errors import NotFound
from webgate.services import Services
from webgate.sessions.grant import Grant, resolve_grant

NO_APPLET = "This applet does not exist, is switched off, or does not open this asset. Pick another one."


def applet_id(options: Mapping[str, Any]) -> uuid.UUID:
    """The applet the browser asked for (``/ws/guacamole?applet=``); NotFound when it is no id."""
    raw = options.get("applet", "")
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise NotFound(NO_APPLET) from None


async def load_applet(ident: uuid.UUID, asset: Asset) -> Applet:
    """The active applet ``ident`` of the asset's org that opens the asset's platform."""
    applet = await Applet.filter(id=ident, org_id=asset.org_id, is_active=True).first()
    if applet is None or asset.platform not in (applet.asset_platforms or []):
        raise NotFound(NO_APPLET)
    return applet


async def authorize_applet(services: Services, principal: Principal, asset_id: str, account: str,
                           options: Mapping[str, Any], now: datetime) -> Grant:
    """The grant for the asset the applet opens, judged with the applet's protocol."""
    ident = applet_id(options)
    scope = Applet.filter(id=ident, is_active=True)
    if principal.org_id is not None:
        scope = scope.filter(org_id=principal.org_id)
    applet = await scope.first()
    if applet is None:
        raise NotFound(NO_APPLET)
    grant = await resolve_grant(services.clock, principal, asset_id, account, applet.protocol, now)
    await load_applet(ident, grant.asset)
    return grant
