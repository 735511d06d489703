"""What can be reached: the asset tree, assets and the accounts on them."""

from __future__ import annotations

from tortoise import fields

from webgate.db.models._base import OrgScoped


class Node(OrgScoped):
    """A folder in the org's asset tree. ``path`` is the chain of ancestor ids, for subtree queries."""

    name = fields.CharField(max_length=128)
    parent = fields.ForeignKeyField("webgate.Node", null=True, related_name="children", on_delete=fields.RESTRICT)
    path = fields.CharField(max_length=1024, default="/")

    class Meta:
        table = "nodes"
        ordering = ["path", "name"]


class Asset(OrgScoped):
    name = fields.CharField(max_length=128, db_index=True)
    address = fields.CharField(max_length=1024)
    platform = fields.CharField(max_length=32)
    protocols = fields.JSONField(default=list)
    labels = fields.JSONField(default=list)
    extra = fields.JSONField(default=dict)
    comment = fields.TextField(default="")
    is_active = fields.BooleanField(default=True)
    nodes: fields.ManyToManyRelation[Node] = fields.ManyToManyField(
        "webgate.Node", related_name="assets", through="asset_nodes")

    class Meta:
        table = "assets"
        ordering = ["name"]
        unique_together = (("org", "name"),)
        # "My assets" probes assets by the permitted ids; with the filtered and sorted columns
        # in the same index SQLite answers count and page from it alone (bench/my_assets.py).
        indexes = (("id", "is_active", "org_id", "name"),)


class Account(OrgScoped):
    asset: fields.ForeignKeyRelation[Asset] = fields.ForeignKeyField("webgate.Asset", related_name="accounts", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=128)
    username = fields.CharField(max_length=128)
    secret_type = fields.CharField(max_length=16, default="password")
    secret_enc = fields.TextField(null=True)
    passphrase_enc = fields.TextField(null=True)
    privileged = fields.BooleanField(default=False)
    is_active = fields.BooleanField(default=True)
    comment = fields.TextField(default="")
    template = fields.ForeignKeyField("webgate.AccountTemplate", null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "accounts"
        ordering = ["name"]
        unique_together = (("asset", "name"),)


class AccountTemplate(OrgScoped):
    name = fields.CharField(max_length=128)
    username = fields.CharField(max_length=128)
    secret_type = fields.CharField(max_length=16, default="password")
    secret_enc = fields.TextField(null=True)
    passphrase_enc = fields.TextField(null=True)
    privileged = fields.BooleanField(default=False)
    comment = fields.TextField(default="")

    class Meta:
        table = "account_templates"
        ordering = ["name"]
        unique_together = (("org", "name"),)


class Favorite(OrgScoped):
    user = fields.ForeignKeyField("webgate.User", on_delete=fields.CASCADE)
    asset = fields.ForeignKeyField("webgate.Asset", on_delete=fields.CASCADE)

    class Meta:
        table = "favorites"
        unique_together = (("user", "asset"),)
