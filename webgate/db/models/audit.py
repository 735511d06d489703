"""Evidence: the login log and the operation log (both append-only from the API's view)."""

from __future__ import annotations

from tortoise import fields

from webgate.db.models._base import Base


class LoginLog(Base):
    username = fields.CharField(max_length=128, db_index=True)
    user_id = fields.UUIDField(null=True)
    ip = fields.CharField(max_length=64)
    user_agent = fields.CharField(max_length=512, default="")
    result = fields.CharField(max_length=16)  # success | failure
    reason = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "login_logs"
        ordering = ["-created_at"]


class OperationLog(Base):
    org_id = fields.UUIDField(null=True, db_index=True)
    actor = fields.CharField(max_length=128)
    actor_id = fields.UUIDField(null=True)
    action = fields.CharField(max_length=16)  # create | update | delete | other verbs
    resource_type = fields.CharField(max_length=64)
    resource_id = fields.CharField(max_length=64, default="")
    resource_name = fields.CharField(max_length=255, default="")
    changes = fields.JSONField(default=dict)
    ip = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "operation_logs"
        ordering = ["-created_at"]
