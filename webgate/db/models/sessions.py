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


class FileTransfer(OrgScoped):
    """One file moved through a session (RDP drive, later SFTP), kept for the auditor.

    ``direction`` is upload (browser → target) or download, ``status`` started, done,
    failed or refused (the permission did not allow it). ``size`` counts the bytes that
    actually passed the gateway, which for a refused or broken transfer is less than the
    file.
    """

    session = fields.ForeignKeyField("webgate.Session", related_name="transfers", on_delete=fields.CASCADE)
    username = fields.CharField(max_length=128)
    asset_name = fields.CharField(max_length=128, default="")
    protocol = fields.CharField(max_length=16)
    direction = fields.CharField(max_length=8)
    path = fields.CharField(max_length=1024)
    size = fields.BigIntField(default=0)
    status = fields.CharField(max_length=16, default="started")
    started_at = fields.DatetimeField(db_index=True)
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "file_transfers"
        ordering = ["-started_at"]
