"""Who may use what: users/groups -> assets/nodes -> accounts -> protocols -> actions -> when"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from webgate.db.models._base import OrgScoped


def _all_protocols() -> list[str]:
    return ["all"]


def _connect_only() -> list[str]:
    return ["connect"]


class AssetPermission(OrgScoped):
    name = fields.CharField(max_length=128)
    users = fields.ManyToManyField("webgate.User", related_name="asset_permissions", through="perm_users")
    groups = fields.ManyToManyField("webgate.UserGroup", related_name="asset_permissions", through="perm_groups")
    assets = fields.ManyToManyField("webgate.Asset", related_name="permissions", through="perm_assets")
    nodes = fields.ManyToManyField("webgate.Node", related_name="permissions", through="perm_nodes")
    # Account names on the asset, or the virtual ones: @ALL, @SAME (the user's own name), @INPUT.
    accounts = fields.JSONField(default=list)
    protocols = fields.JSONField(default=_all_protocols)
    actions = fields.JSONField(default=_connect_only)
    # Session limits for what this permission opens (None: the org's terminal policy decides).
    # Where several permissions reach one asset, the strictest limit applies.
    idle_minutes = fields.IntField(null=True)
    max_minutes = fields.IntField(null=True)
    date_start = fields.DatetimeField(null=True)
    date_expired = fields.DatetimeField(null=True)
    is_active = fields.BooleanField(default=True)
    comment = fields.TextField(default="")

    class Meta:
        table = "asset_permissions"
        ordering = ["name"]
        unique_together = (("org", "name"),)


class AccessEpoch(Model):
    """One counter, moved by every write that may withdraw access (webgate/policy/epoch.py).

    Live sessions re-run the full permission check only when it moved (or a time limit or
    the safety interval came due): at 500 sessions the periodic check was a third of the
    event loop. One row, so every node sees every other node's writes."""

    id = fields.IntField(primary_key=True)
    value = fields.BigIntField(default=0)

    class Meta:
        table = "access_epoch"
