"""What one connection may do: the grant the lifecycle asks for before anything else.

INTERIM: the permission resolver proper is being written in ``webgate/policy/access.py``;
when it lands, ``resolve_grant`` delegates to it and this module keeps only ``Grant``
and the secret handling. The rules here are the documented ones: a permission matches
the user (directly or through a group), the asset (directly or through a node or an
ancestor node), the account name (or @ALL / @SAME / @INPUT), the protocol (or "all"),
its date window, and must carry the ``connect`` action.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from webgate.db.crypto import SecretBox, context_for
from webgate.db.models import Account, Asset, AssetPermission, User
from webgate.errors import Forbidden, NotFound

INPUT = "@INPUT"
SAME = "@SAME"
ALL = "@ALL"


@dataclass(frozen=True)
class Grant:
    asset: Asset
    account: Account | None  # None when the user types the credentials (@INPUT, @SAME)
    username: str  # fixed login name, "" when the user types it (@INPUT)
    actions: frozenset[str]
    port: int

    @property
    def manual(self) -> bool:
        return self.account is None


def _port(asset: Asset, protocol: str) -> int | None:
    for entry in asset.protocols or []:
        if isinstance(entry, dict) and str(entry.get("name", "")).lower() == protocol:
            return int(entry.get("port") or 0) or None
        if isinstance(entry, str) and entry.split("/")[0].lower() == protocol:
            parts = entry.split("/")
            return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    return None


async def _node_ids(asset: Asset) -> set[str]:
    ids: set[str] = set()
    for node in await asset.nodes.all():
        ids.add(str(node.id))
        ids.update(p for p in node.path.split("/") if p)
    return ids


async def resolve_grant(user: User, asset_id: str, account_name: str, protocol: str, now: datetime,
                        org_ids: list[uuid.UUID] | None = None) -> Grant:
    try:
        ident = uuid.UUID(asset_id)
    except ValueError:
        raise NotFound("This asset does not exist, or you may not use it.") from None
    asset = await Asset.filter(id=ident, is_active=True).first()
    if asset is None or (org_ids is not None and not user.is_superadmin and asset.org_id not in org_ids):
        raise NotFound("This asset does not exist, or you may not use it.")
    nodes = await _node_ids(asset)
    group_ids = {str(g) for g in await user.groups.all().values_list("id", flat=True)}
    actions: set[str] = set()
    account: Account | None = None
    matched = False
    perms = await AssetPermission.filter(org_id=asset.org_id, is_active=True).prefetch_related(
        "users", "groups", "assets", "nodes")
    for perm in perms:
        if (perm.date_start and perm.date_start > now) or (perm.date_expired and perm.date_expired <= now):
            continue
        if user.id not in {u.id for u in perm.users} and not group_ids & {str(g.id) for g in perm.groups}:
            continue
        if asset.id not in {a.id for a in perm.assets} and not nodes & {str(n.id) for n in perm.nodes}:
            continue
        if "all" not in perm.protocols and protocol not in perm.protocols:
            continue
        names = set(perm.accounts)
        if account_name in (INPUT, SAME):
            if account_name not in names:
                continue
        elif account_name in names or ALL in names:
            account = await Account.filter(asset_id=asset.id, name=account_name, is_active=True).first()
            if account is None:
                continue
        else:
            continue
        matched = True
        actions.update(perm.actions)
    if not matched:
        raise NotFound("This asset does not exist, or you may not use it.")
    if "connect" not in actions:
        raise Forbidden("Your permission on this asset does not allow connecting. Ask your admin.")
    port = _port(asset, protocol)
    if port is None:
        raise Forbidden(f"This asset does not offer {protocol}. Ask your admin to add it to the asset.")
    username = account.username if account else (user.username if account_name == SAME else "")
    return Grant(asset=asset, account=account, username=username, actions=frozenset(actions), port=port)


def reveal(box: SecretBox, account: Account) -> tuple[str | None, str | None]:
    """The account's secret and key passphrase, decrypted. Called only by the session lifecycle."""
    secret = box.decrypt(account.secret_enc, context_for("accounts", "secret", account.id)) if account.secret_enc else None
    phrase = (box.decrypt(account.passphrase_enc, context_for("accounts", "passphrase", account.id))
              if account.passphrase_enc else None)
    return secret, phrase
