"""Account templates: one username and secret, applied as an account to many assets at once."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field

from webgate.api._base import Ctx, endpoint, paginate
from webgate.api.accounts import CredentialCreate, CredentialPatch, given_fields
from webgate.assets.secrets import apply_credentials, seal, unseal
from webgate.assets.tree import subtree_q
from webgate.db.models import Account, AccountTemplate, Asset, Node
from webgate.errors import Conflict, ValidationFailed

TABLE = "account_templates"


class ApplyBody(BaseModel):
    asset_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10000)
    node_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)


def serialize(tpl: AccountTemplate) -> dict[str, Any]:
    return {"id": str(tpl.id), "name": tpl.name, "username": tpl.username, "secret_type": tpl.secret_type,
            "has_secret": tpl.secret_enc is not None, "has_passphrase": tpl.passphrase_enc is not None,
            "privileged": tpl.privileged, "comment": tpl.comment}


async def list_templates(ctx: Ctx) -> dict[str, Any]:
    return await paginate(ctx, ctx.scoped(AccountTemplate), serialize, search=("name", "username"),
                          ordering=("name", "username", "created_at"))


async def get_template(ctx: Ctx) -> dict[str, Any]:
    return serialize(await ctx.get(AccountTemplate))


async def _name_clash(org_id: uuid.UUID, name: str, exclude: uuid.UUID | None = None) -> None:
    qs = AccountTemplate.filter(org_id=org_id, name=name)
    if exclude:
        qs = qs.exclude(id=exclude)
    if await qs.exists():
        raise Conflict("A template with this name already exists.", details={"field": "name"})


async def create_template(ctx: Ctx) -> dict[str, Any]:
    """A new template; its secret is encrypted like an account's."""
    body = await ctx.body(CredentialCreate)
    org_id = ctx.require_org()
    await _name_clash(org_id, body.name)
    tpl = AccountTemplate(id=uuid.uuid4(), org_id=org_id)
    data, given = given_fields(body, create=True)
    changed = apply_credentials(ctx.services, TABLE, tpl, data, given)
    await tpl.save(force_create=True)
    await ctx.audit("create", "account_template", tpl, {f: data.get(f) for f in changed})
    return serialize(tpl)


async def update_template(ctx: Ctx) -> dict[str, Any]:
    tpl = await ctx.get(AccountTemplate)
    body = await ctx.body(CredentialPatch)
    data, given = given_fields(body, create=False)
    if "name" in given:
        await _name_clash(tpl.org_id, data["name"], exclude=tpl.id)
    changed = apply_credentials(ctx.services, TABLE, tpl, data, given)
    await tpl.save()
    await ctx.audit("update", "account_template", tpl, {f: data.get(f) for f in changed})
    return serialize(tpl)


async def delete_template(ctx: Ctx) -> None:
    tpl = await ctx.get(AccountTemplate)
    await tpl.delete()
    await ctx.audit("delete", "account_template", tpl)


async def apply_template(ctx: Ctx) -> dict[str, int]:
    """Create the template's account on each asset (and every asset under the nodes) that lacks one."""
    tpl = await ctx.get(AccountTemplate)
    body = await ctx.body(ApplyBody)
    asset_ids = set(await ctx.scoped(Asset).filter(id__in=body.asset_ids).values_list("id", flat=True))
    if len(asset_ids) != len(set(body.asset_ids)):
        raise ValidationFailed({"asset_ids": "Some assets do not exist in this organization."})
    nodes = await ctx.scoped(Node).filter(id__in=body.node_ids)
    if len(nodes) != len(set(body.node_ids)):
        raise ValidationFailed({"node_ids": "Some nodes do not exist in this organization."})
    if nodes:
        subtree = await ctx.scoped(Node).filter(subtree_q((n.id, n.path) for n in nodes)).values_list("id", flat=True)
        asset_ids |= set(await ctx.scoped(Asset).filter(nodes__id__in=list(subtree)).values_list("id", flat=True))
    having = set(await Account.filter(asset_id__in=list(asset_ids), name=tpl.name).values_list("asset_id", flat=True))
    secret, passphrase = unseal(ctx.services, TABLE, tpl)
    created = 0
    for asset_id in sorted(asset_ids - having):
        acc = Account(id=uuid.uuid4(), org_id=tpl.org_id, asset_id=asset_id, name=tpl.name, username=tpl.username,
                      secret_type=tpl.secret_type, privileged=tpl.privileged, template_id=tpl.id)
        seal(ctx.services, "accounts", acc, secret, passphrase)
        await acc.save(force_create=True)
        created += 1
    result = {"created": created, "skipped": len(asset_ids & having)}
    await ctx.audit("apply", "account_template", tpl, result)
    return result


routes = [
    endpoint("/account-templates", list_templates, ["GET"], perm="accounts.manage"),
    endpoint("/account-templates", create_template, ["POST"], perm="accounts.manage", body=CredentialCreate),
    endpoint("/account-templates/{id}", get_template, ["GET"], perm="accounts.manage"),
    endpoint("/account-templates/{id}", update_template, ["PATCH"], perm="accounts.manage", body=CredentialPatch),
    endpoint("/account-templates/{id}", delete_template, ["DELETE"], perm="accounts.manage"),
    endpoint("/account-templates/{id}/apply", apply_template, ["POST"], perm="accounts.manage", body=ApplyBody),
]
