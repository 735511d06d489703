"""Accounts on assets: the usernames and secrets connectors log in with.

``secret`` and ``passphrase`` are write-only: sealed to the row on the way in and never
returned (the serializer only says ``has_secret``/``has_passphrase``).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from webgate.api._base import Ctx, endpoint, paginate
from webgate.assets.secrets import MAX_SECRET, apply_credentials
from webgate.db.models import Account, Asset
from webgate.errors import Conflict, ValidationFailed


class CredentialPatch(BaseModel):
    """Fields shared by accounts and account templates; ``secret``/``passphrase`` are write-only."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    username: str | None = Field(default=None, min_length=1, max_length=128)
    secret_type: Literal["password", "ssh_key", "token", "kubeconfig"] | None = None
    secret: str | None = Field(default=None, max_length=MAX_SECRET)
    passphrase: str | None = Field(default=None, max_length=1024)
    privileged: bool | None = None
    comment: str | None = Field(default=None, max_length=2000)

    @field_validator("name")
    @classmethod
    def _not_virtual(cls, value: str | None) -> str | None:
        if value is not None and value.strip().startswith("@"):
            raise ValueError("Names starting with @ are reserved for @ALL, @SAME and @INPUT.")
        return value.strip() if value is not None else None


class CredentialCreate(CredentialPatch):
    name: str = Field(min_length=1, max_length=128)
    username: str = Field(min_length=1, max_length=128)
    secret_type: Literal["password", "ssh_key", "token", "kubeconfig"] = "password"  # noqa: S105


class AccountPatch(CredentialPatch):
    is_active: bool | None = None


class AccountCreate(CredentialCreate):
    asset_id: uuid.UUID
    is_active: bool = True


def serialize(acc: Account) -> dict[str, Any]:
    return {"id": str(acc.id), "asset_id": str(acc.asset_id), "name": acc.name, "username": acc.username,
            "secret_type": acc.secret_type, "has_secret": acc.secret_enc is not None,
            "has_passphrase": acc.passphrase_enc is not None, "privileged": acc.privileged,
            "is_active": acc.is_active, "comment": acc.comment}


def given_fields(body: BaseModel, *, create: bool) -> tuple[dict[str, Any], set[str]]:
    """The body's values and which of them to apply: all on create, the sent non-null ones on PATCH."""
    data = body.model_dump()
    if create:
        return data, {k for k, v in data.items() if v is not None}
    return data, {k for k in body.model_fields_set if data[k] is not None or k in ("secret", "passphrase")}


async def list_accounts(ctx: Ctx) -> dict[str, Any]:
    """Accounts of this org's assets; filter ``asset_id``."""
    qs = ctx.scoped(Account)
    if ctx.query("asset_id"):
        qs = qs.filter(asset_id=(await ctx.get(Asset, ctx.query("asset_id"))).id)
    return await paginate(ctx, qs, serialize, search=("name", "username"), ordering=("name", "username", "created_at"))


async def get_account(ctx: Ctx) -> dict[str, Any]:
    return serialize(await ctx.get(Account))


async def create_account(ctx: Ctx) -> dict[str, Any]:
    """Add an account to an asset of this org; the secret is encrypted before it is stored."""
    body = await ctx.body(AccountCreate)
    org_id = ctx.require_org()
    asset = await ctx.scoped(Asset).filter(id=body.asset_id).first()
    if asset is None:
        raise ValidationFailed({"asset_id": "The asset does not exist in this organization."})
    if await Account.filter(asset_id=asset.id, name=body.name).exists():
        raise Conflict("This asset already has an account with this name.", details={"field": "name"})
    acc = Account(id=uuid.uuid4(), org_id=org_id, asset_id=asset.id)
    data, given = given_fields(body, create=True)
    changed = apply_credentials(ctx.services, "accounts", acc, data, given - {"asset_id"})
    await acc.save(force_create=True)
    await ctx.audit("create", "account", acc, {f: data.get(f) for f in changed} | {"asset_id": str(asset.id)})
    return serialize(acc)


async def update_account(ctx: Ctx) -> dict[str, Any]:
    """Change an account; leaving out ``secret`` keeps the stored one."""
    acc = await ctx.get(Account)
    body = await ctx.body(AccountPatch)
    data, given = given_fields(body, create=False)
    if "name" in given and data["name"] != acc.name and await Account.filter(
            asset_id=acc.asset_id, name=data["name"]).exists():
        raise Conflict("This asset already has an account with this name.", details={"field": "name"})
    changed = apply_credentials(ctx.services, "accounts", acc, data, given)
    await acc.save()
    await ctx.audit("update", "account", acc, {f: data.get(f) for f in changed})
    return serialize(acc)


async def delete_account(ctx: Ctx) -> None:
    acc = await ctx.get(Account)
    await acc.delete()
    await ctx.audit("delete", "account", acc)


routes = [
    endpoint("/accounts", list_accounts, ["GET"], perm="accounts.view"),
    endpoint("/accounts", create_account, ["POST"], perm="accounts.manage", body=AccountCreate),
    endpoint("/accounts/{id}", get_account, ["GET"], perm="accounts.view"),
    endpoint("/accounts/{id}", update_account, ["PATCH"], perm="accounts.manage", body=AccountPatch),
    endpoint("/accounts/{id}", delete_account, ["DELETE"], perm="accounts.manage"),
]
