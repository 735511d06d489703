"""Common columns: every row has a random UUID (no enumerable ids) and a creation time."""

from __future__ import annotations

import uuid

from tortoise import fields
from tortoise.models import Model


class Base(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        abstract = True


class OrgScoped(Base):
    """A row that belongs to one organization; API code reaches it only through the caller's org."""

    org: fields.ForeignKeyRelation = fields.ForeignKeyField("webgate.Organization", on_delete=fields.CASCADE)

    class Meta:
        abstract = True
