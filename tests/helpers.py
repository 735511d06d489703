"""Test helpers: make users/orgs directly, and log a client in the way the SPA does."""

from __future__ import annotations

from typing import Any

import httpx
import pyotp
import pytest

from webgate.auth.users import create_user
from webgate.db.models import Membership, Organization, Role, User
from webgate.services import Services

PASSWORD = "Correct-Horse-9"


async def make_org(name: str) -> Organization:
    return await Organization.create(name=name)


async def make_user(services: Services, username: str, *, role: str = "User", org: Organization | None = None,
                    superadmin: bool = False, password: str = PASSWORD, **kw: Any) -> User:
    org = org or await Organization.get(is_default=True)
    role_row = await Role.get(org_id=None, name=role)
    user, _ = await create_user(services, username=username, password=password, superadmin=superadmin,
                                org_id=org.id, role_ids=[role_row.id], **kw)
    return user


async def add_membership(user: User, org: Organization, role: str = "User") -> None:
    await Membership.create(user=user, org=org, role=await Role.get(org_id=None, name=role))


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD,
                totp_secret: str | None = None, now: float | None = None) -> dict[str, Any]:
    """Log in like the SPA: password, then TOTP if asked; sets the CSRF header on the client."""
    r = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    data = r.json()
    client.headers["X-CSRF-Token"] = data["csrf_token"]
    if data["stage"] == "mfa":
        assert totp_secret, "user has MFA; pass totp_secret"
        code = pyotp.TOTP(totp_secret).at(now) if now is not None else pyotp.TOTP(totp_secret).now()
        r = await client.post("/api/v1/auth/mfa/verify", json={"code": code})
        assert r.status_code == 200, r.text
        data = r.json()
    return data


@pytest.fixture
async def admin(services: Services) -> User:
    return await make_user(services, "root-admin", superadmin=True, role="OrgAdmin")


@pytest.fixture
async def admin_client(client: httpx.AsyncClient, admin: User) -> httpx.AsyncClient:
    await login(client, admin.username)
    return client


@pytest.fixture
async def default_org() -> Organization:
    return await Organization.get(is_default=True)
