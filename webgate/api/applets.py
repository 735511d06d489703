"""RemoteApp applets: admins define the programs people may open on an asset; people list theirs.

``/applets`` is the admin CRUD (``applets.view`` / ``applets.manage``, org-scoped like
every resource). ``/my/applets?asset=<id>`` is for anyone: the applets of the asset's org
that open this asset's platform with a protocol the caller's permission allows, asked
from the permission resolver, so it never lists applets for an asset the caller may not use.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from typing import Any

from pydantic import BaseModel, Field, field_validator

from webgate.api._base import ANY_USER, Ctx, endpoint, paginate
from webgate.assets.rules import PLATFORMS, PROTOCOLS
from webgate.db.models import Account, Applet, Asset
from webgate.errors import Conflict, ValidationFailed
from webgate.policy.access import AccessResolver
from webgate.remoteapp.templates import arguments_error, env_name_error

KINDS = ("linux", "windows")
ICONS = ("app", "chromium", "globe", "database", "mysql", "postgresql", "redis", "terminal", "windows")
MAX_ICON = 16 * 1024
_DATA_URL = re.compile(r"data:image/(png|jpeg|webp|svg\+xml);base64,([A-Za-z0-9+/=]+)")
AUTOFILL_KEYS = ("username", "password", "submit")
_SELECTOR_BAD = re.compile(r"[\x00-\x1f`]")
FIELDS = ("name", "icon", "comment", "asset_platforms", "protocol", "kind", "program", "arguments",
          "password_env", "autofill", "app_host", "remote_app", "remote_app_dir", "is_active")


def icon_error(icon: str) -> str | None:
    if icon == "" or icon in ICONS:
        return None
    if len(icon) > MAX_ICON:
        return f"An icon image may be at most {MAX_ICON // 1024} KB as a data URL."
    match = _DATA_URL.fullmatch(icon)
    if match is None:
        return f"Pick an icon ({', '.join(ICONS)}) or give a base64 image data URL (png, jpeg, webp, svg)."
    try:
        base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        return "The icon's data URL is not valid base64."
    return None


class AppletPatch(BaseModel):
    """Every writable applet field; ``org`` and ``id`` are deliberately absent."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    icon: str | None = None
    comment: str | None = Field(default=None, max_length=2000)
    asset_platforms: list[str] | None = Field(default=None, max_length=len(PLATFORMS))
    protocol: str | None = None
    kind: str | None = None
    program: str | None = Field(default=None, max_length=512)
    arguments: list[str] | None = None
    password_env: str | None = None
    autofill: dict[str, str] | None = None
    app_host: str | None = Field(default=None, max_length=64)
    host_asset_id: uuid.UUID | None = None
    host_account_id: uuid.UUID | None = None
    remote_app: str | None = Field(default=None, max_length=512)
    remote_app_dir: str | None = Field(default=None, max_length=512)
    is_active: bool | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else value.strip() or _fail("Give the applet a name.")

    @field_validator("icon")
    @classmethod
    def _icon(cls, value: str | None) -> str | None:
        return value if value is None or icon_error(value) is None else _fail(icon_error(value) or "")

    @field_validator("asset_platforms")
    @classmethod
    def _platforms(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        out = sorted({v.strip().lower() for v in value})
        unknown = [v for v in out if v not in PLATFORMS]
        if unknown:
            raise ValueError(f"Unknown platform {unknown[0][:32]!r}; use some of: {', '.join(PLATFORMS)}")
        return out

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        return value if value in PROTOCOLS else _fail(f"Unknown protocol; use one of: {', '.join(PROTOCOLS)}")

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str | None) -> str | None:
        return value if value is None or value in KINDS else _fail("Kind is linux (an app host display) or windows.")

    @field_validator("arguments")
    @classmethod
    def _arguments(cls, value: list[str] | None) -> list[str] | None:
        return value if value is None or arguments_error(value) is None else _fail(arguments_error(value) or "")

    @field_validator("password_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        return value if value is None or env_name_error(value) is None else _fail(env_name_error(value) or "")

    @field_validator("autofill")
    @classmethod
    def _autofill(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        extra = set(value) - set(AUTOFILL_KEYS)
        if extra:
            raise ValueError(f"Autofill takes CSS selectors for: {', '.join(AUTOFILL_KEYS)}.")
        for key, selector in value.items():
            if len(selector) > 256 or _SELECTOR_BAD.search(selector):
                raise ValueError(f"The {key} selector must be a CSS selector of at most 256 characters.")
        return {k: v.strip() for k, v in value.items() if v.strip()}


class AppletCreate(AppletPatch):
    name: str = Field(min_length=1, max_length=128)
    asset_platforms: list[str] = Field(min_length=1, max_length=len(PLATFORMS))
    protocol: str


def _fail(message: str) -> Any:
    raise ValueError(message)


def serialize(applet: Applet) -> dict[str, Any]:
    out = {name: getattr(applet, name) for name in FIELDS}
    out.update(id=str(applet.id), host_asset_id=str(applet.host_asset_id) if applet.host_asset_id else None,
               host_account_id=str(applet.host_account_id) if applet.host_account_id else None)
    return out


async def _check(ctx: Ctx, org_id: uuid.UUID, applet: Applet, exclude: uuid.UUID | None = None) -> None:
    """Checks across fields, once the merged applet is known."""
    errors: dict[str, str] = {}
    clash = Applet.filter(org_id=org_id, name=applet.name)
    if exclude:
        clash = clash.exclude(id=exclude)
    if await clash.exists():
        raise Conflict("An applet with this name already exists.", details={"field": "name"})
    if applet.kind == "linux" and not applet.program.strip():
        errors["program"] = "Name the program the app host runs (e.g. chromium)."
    if applet.kind == "windows":
        if applet.host_asset_id is None:
            errors["host_asset_id"] = "Choose the Windows app host asset the RemoteApp runs on."
        elif not await Asset.filter(id=applet.host_asset_id, org_id=org_id).exists():
            errors["host_asset_id"] = "This asset does not exist in this organization."
        if applet.host_account_id is not None and not await Account.filter(
                id=applet.host_account_id, asset_id=applet.host_asset_id, org_id=org_id).exists():
            errors["host_account_id"] = "Choose an account of the app host asset."
        if not applet.remote_app.strip():
            errors["remote_app"] = "Give the RemoteApp program alias, such as ||chrome."
    if applet.app_host and applet.app_host not in {h.name for h in ctx.services.settings.app_hosts}:
        errors["app_host"] = "No app host of this name is configured (WEBGATE_APP_HOSTS)."
    if errors:
        raise ValidationFailed(errors)


def _apply(applet: Applet, body: AppletPatch) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True)
    changed = {}
    for name, value in data.items():
        if value is None and name not in ("host_asset_id", "host_account_id"):
            continue
        if getattr(applet, name) != value:
            setattr(applet, name, value)
            changed[name] = value if name != "icon" else "(icon)"
    return changed


async def list_applets(ctx: Ctx) -> dict[str, Any]:
    qs = ctx.scoped(Applet)
    if ctx.query("kind") in KINDS:
        qs = qs.filter(kind=ctx.query("kind"))
    return await paginate(ctx, qs, serialize, search=("name", "program", "comment"),
                          ordering=("name", "kind", "protocol", "created_at"))


async def get_applet(ctx: Ctx) -> dict[str, Any]:
    return serialize(await ctx.get(Applet))


async def create_applet(ctx: Ctx) -> dict[str, Any]:
    body = await ctx.body(AppletCreate)
    org_id = ctx.require_org()
    applet = Applet(id=uuid.uuid4(), org_id=org_id)
    changed = _apply(applet, body)
    await _check(ctx, org_id, applet)
    await applet.save(force_create=True)
    await ctx.audit("create", "applet", applet, changed)
    return serialize(applet)


async def update_applet(ctx: Ctx) -> dict[str, Any]:
    applet = await ctx.get(Applet)
    changed = _apply(applet, await ctx.body(AppletPatch))
    await _check(ctx, applet.org_id, applet, exclude=applet.id)
    await applet.save()
    await ctx.audit("update", "applet", applet, changed)
    return serialize(applet)


async def delete_applet(ctx: Ctx) -> None:
    applet = await ctx.get(Applet)
    await applet.delete()
    await ctx.audit("delete", "applet", applet)


async def my_applets(ctx: Ctx) -> dict[str, Any]:
    """The applets the caller may open on one permitted asset (NotFound when not permitted)."""
    if ctx.org_id is None:
        return {"items": []}  # the super admin's global view holds no permissions
    asset, grant = await AccessResolver(ctx.services.clock).grants_for(ctx.user, ctx.org_id, ctx.query("asset"))
    if not grant.allows_action("connect"):
        return {"items": []}
    offered = {p["name"] for p in asset.protocols or [] if grant.allows_protocol(p["name"])}
    items = []
    for applet in await Applet.filter(org_id=asset.org_id, is_active=True).order_by("name"):
        if asset.platform in applet.asset_platforms and applet.protocol in offered:
            items.append({"id": str(applet.id), "name": applet.name, "icon": applet.icon, "kind": applet.kind})
    return {"items": items}


routes = [
    endpoint("/applets", list_applets, ["GET"], perm="applets.view"),
    endpoint("/applets", create_applet, ["POST"], perm="applets.manage", body=AppletCreate),
    endpoint("/applets/{id}", get_applet, ["GET"], perm="applets.view"),
    endpoint("/applets/{id}", update_applet, ["PATCH"], perm="applets.manage", body=AppletPatch),
    endpoint("/applets/{id}", delete_applet, ["DELETE"], perm="applets.manage"),
    endpoint("/my/applets", my_applets, ["GET"], perm=ANY_USER),
]
