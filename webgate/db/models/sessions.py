"""Connection sessions (terminal, desktop, ...): the row every session keeps, whatever ends it."""

from __future__ import annotations

from tortoise import fields

from webgate.db.models._base import OrgScoped


class Session(OrgScoped):
    user = fields.ForeignKeyField("webgate.User", null=True, on_delete=fields.SET_NULL)
    username = fields.CharField(max_length=128)
    asset = fields.ForeignKeyField("webgate.Asset", null=True, on_delete=fields.SET_NULL)
    asset_name = fields.CharField(max_length=128)
    account_username = fields.CharField(max_length=128, default="")
    protocol = fields.CharField(max_length=16)
    client_ip = fields.CharField(max_length=64, default="")
    user_agent = fields.CharField(max_length=512, default="")
    node_name = fields.CharField(max_length=128, default="")
    status = fields.CharField(max_length=16, default="starting")  # starting|live|ended
    started_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    ended_at = fields.DatetimeField(null=True)
    end_reason = fields.CharField(max_length=64, default="")
    bytes_in = fields.BigIntField(default=0)
    bytes_out = fields.BigIntField(default=0)
    watermark = fields.JSONField(default=dict)
    playback = fields.JSONField(default=dict)
    recording_key = fields.CharField(max_length=255, default="")
    recording_sha256 = fields.CharField(max_length=64, default="")

    class Meta:
        table = "sessions"
        ordering = ["-started_at"]
