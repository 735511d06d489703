"""Two organizations full of objects, and browsers for each kind of person.

The "other" org's objects are created directly in the database (its resources' APIs
may not exist yet) and every name in it carries the marker ``zzother``: a response to
someone outside that org must never contain the marker.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn

from tests.helpers import login, make_org, make_user
from tests.peers.gateway import gateway, serve  # noqa: F401 - fixture (the app served by uvicorn)
from tests.peers.sshd import sshd  # noqa: F401 - fixture (a real OpenSSH server)
from webgate.auth.principal import TOKEN_PREFIX, token_hash
from webgate.db.crypto import context_for
from webgate.db.models import (
    Account,
    AccountTemplate,
    ApiToken,
    Applet,
    Asset,
    AssetPermission,
    LoginLog,
    Node,
    OperationLog,
    Organization,
    Role,
    Session,
    User,
    UserGroup,
)
from webgate.services import Services
from webgate.serving import WS_OPTIONS

MARKER = "zzother"


@dataclass
class World:
    """One org's objects by API segment (the path under /api/v1) and a few handy rows."""

    org: Organization
    admin: User
    member: User
    objects: dict[str, Any] = field(default_factory=dict)
    token: str = ""

    def ids(self) -> set[str]:
        return {str(o.id) for o in self.objects.values()} | {str(self.org.id), str(self.admin.id),
                                                            str(self.member.id)}


async def _encrypted(services: Services, model: Any, org: Organization, **kw: Any) -> Any:
    ident = uuid.uuid4()
    table = model._meta.db_table
    secret = services.box.encrypt(f"{kw['name']}-secret", context_for(table, "secret", ident))
    return await model.create(id=ident, org=org, secret_enc=secret, **kw)


async def populate(services: Services, org: Organization, prefix: str, admin: User, member: User) -> World:
    """Every org-owned kind of object once, named ``<prefix>-<kind>``."""
    world = World(org=org, admin=admin, member=member)
    group = await UserGroup.create(org=org, name=f"{prefix}-group")
    await group.users.add(member)
    node = await Node.create(org=org, name=f"{prefix}-node")
    asset = await Asset.create(org=org, name=f"{prefix}-asset", address="10.66.0.1", platform="linux",
                               protocols=[{"name": "ssh", "port": 22}], comment=f"{prefix} box")
    await asset.nodes.add(node)
    account = await _encrypted(services, Account, org, asset=asset, name=f"{prefix}-account", username="root")
    template = await _encrypted(services, AccountTemplate, org, name=f"{prefix}-template", username="root")
    perm = await AssetPermission.create(org=org, name=f"{prefix}-perm", accounts=["@ALL"])
    applet = await Applet.create(org=org, name=f"{prefix}-applet", asset_platforms=["website"], protocol="https",
                                 program="chromium")
    await perm.users.add(member)
    await perm.assets.add(asset)
    role = await Role.create(org=org, name=f"{prefix}-role", permissions=["assets.view"])
    raw = TOKEN_PREFIX + secrets.token_urlsafe(24)
    token = await ApiToken.create(org=org, name=f"{prefix}-token", token_hash=token_hash(raw), prefix=raw[:8],
                                  user=admin, role=await Role.get(org_id=None, name="OrgAdmin"))
    await OperationLog.create(org_id=org.id, actor=admin.username, action="create", resource_type="asset",
                              resource_id=str(asset.id), resource_name=asset.name)
    await LoginLog.create(username=admin.username, user_id=admin.id, ip="10.66.0.9", result="failure",
                          reason="bad_password")
    await Session.create(org=org, user=member, username=member.username, asset=asset, asset_name=asset.name,
                         protocol="ssh", status="live", started_at=services.clock.now())
    world.objects = {"groups": group, "users": member, "roles": role, "tokens": token, "nodes": node,
                     "assets": asset, "accounts": account, "account-templates": template, "permissions": perm,
                     "applets": applet}
    world.token = raw
    return world


@pytest.fixture
async def other(services: Services) -> World:
    """The other org, its admin and member, and one of everything, all named zzother-*."""
    org = await make_org(f"{MARKER}-org")
    admin = await make_user(services, f"{MARKER}-admin", role="OrgAdmin", org=org)
    member = await make_user(services, f"{MARKER}-member", org=org)
    return await populate(services, org, MARKER, admin, member)


@pytest.fixture
async def home(services: Services, default_org: Organization) -> World:
    """The default org with a non-super OrgAdmin, a member and one of everything."""
    admin = await make_user(services, "home-admin", role="OrgAdmin")
    member = await make_user(services, "home-member")
    return await populate(services, default_org, "home", admin, member)


@pytest.fixture
async def home_admin(make_client: Any, home: World) -> httpx.AsyncClient:
    browser = make_client()
    await login(browser, home.admin.username)
    return browser


async def _browser(make_client: Any, services: Services, username: str, role: str) -> httpx.AsyncClient:
    await make_user(services, username, role=role)
    browser = make_client()
    await login(browser, username)
    return browser


@pytest.fixture
async def plain_client(make_client: Any, services: Services) -> httpx.AsyncClient:
    return await _browser(make_client, services, "plain-user", "User")


@pytest.fixture
async def auditor_client(make_client: Any, services: Services) -> httpx.AsyncClient:
    return await _browser(make_client, services, "auditor-user", "Auditor")


@pytest.fixture
async def production_gateway(app: object) -> AsyncIterator[str]:
    """The app behind uvicorn configured as ``webgate serve`` does (1 MiB frames, no deflate)."""

    def like_serve(config: uvicorn.Config) -> uvicorn.Server:
        for option, value in WS_OPTIONS.items():
            setattr(config, option, value)
        return uvicorn.Server(config)

    server, task, address = await serve(app, like_serve)
    yield address
    server.should_exit = True
    await asyncio.wait_for(task, 10)
