"""API tokens: shown once, stored hashed, bounded by the creator's rights, revocable."""

from __future__ import annotations

import httpx

from tests.conftest import ORIGIN
from tests.helpers import login, make_org, make_user
from webgate.auth.principal import token_hash
from webgate.db.models import ApiToken, Membership, OperationLog, Role

API = "/api/v1/tokens"


async def _role(name: str) -> str:
    return str((await Role.get(org_id=None, name=name)).id)


def _bearer(app, token: str) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN,
                             headers={"Authorization": f"Bearer {token}"})


async def test_token_is_shown_once_and_stored_hashed(admin_client):
    r = await admin_client.post(API, json={"name": "ci", "role_id": await _role("Auditor")})
    assert r.status_code == 201, r.text
    body = r.json()
    raw = body["token"]
    assert raw.startswith("wg_") and len(raw) > 40 and raw.startswith(body["prefix"])
    row = await ApiToken.get(id=body["id"])
    assert row.token_hash == token_hash(raw) and raw not in row.token_hash
    listing = (await admin_client.get(API)).json()
    assert listing["items"][0]["name"] == "ci" and "token" not in listing["items"][0]
    assert "token" not in (await admin_client.get(f"{API}/{body['id']}")).json()
    logs = await OperationLog.filter(resource_type="token").values_list("changes", flat=True)
    assert raw not in str(logs) and body["prefix"] not in str(logs)


async def test_token_works_without_csrf_and_records_last_use(app, admin_client, default_org, clock):
    ops = await Role.create(org=default_org, name="GroupsBot", permissions=["groups.view", "groups.manage"])
    raw = (await admin_client.post(API, json={"name": "bot", "role_id": str(ops.id)})).json()["token"]
    async with _bearer(app, raw) as bot:
        r = await bot.post("/api/v1/groups", json={"name": "made-by-bot"})
        assert r.status_code == 201, r.text
        assert (await bot.get("/api/v1/users")).status_code == 403, "the token has only its role's permissions"
    row = await ApiToken.get(name="bot")
    assert row.last_used_at == clock.now()
    listed = (await admin_client.get(API)).json()["items"][0]
    assert listed["last_used_at"] is not None
    actor = await OperationLog.get(resource_type="group").values_list("actor", flat=True)
    assert "token bot" in actor


async def test_revoked_and_expired_tokens_get_401(app, admin_client, clock):
    body = (await admin_client.post(API, json={"name": "short", "role_id": await _role("Auditor")})).json()
    async with _bearer(app, body["token"]) as bot:
        assert (await bot.get("/api/v1/users")).status_code == 200
        assert (await admin_client.delete(f"{API}/{body['id']}")).status_code == 204
        r = await bot.get("/api/v1/users")
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    assert (await admin_client.get(f"{API}/{body['id']}")).json()["revoked"] is True
    expiring = (await admin_client.post(API, json={"name": "soon", "role_id": await _role("Auditor"),
                                                    "expires_at": "2026-01-05T11:00:00Z"})).json()
    async with _bearer(app, expiring["token"]) as bot:
        assert (await bot.get("/api/v1/users")).status_code == 200
        clock.advance(3601)
        assert (await bot.get("/api/v1/users")).status_code == 401


async def test_bad_input_is_refused_naming_the_field(admin_client):
    r = await admin_client.post(API, json={"name": "old", "role_id": await _role("User"), "expires_at": "2020-01-01T00:00:00Z"})
    assert r.status_code == 422 and "expires_at" in r.json()["error"]["details"]["fields"]
    r = await admin_client.post(API, json={"name": "x", "role_id": "nope"})
    assert r.status_code == 422 and "role_id" in r.json()["error"]["details"]["fields"]
    theirs = await Role.create(org=await make_org("Other"), name="Theirs", permissions=[])
    r = await admin_client.post(API, json={"name": "x", "role_id": str(theirs.id)})
    assert r.status_code == 422 and "role_id" in r.json()["error"]["details"]["fields"]


async def test_token_role_cannot_exceed_the_creator(make_client, services, default_org):
    minter = await Role.create(org=default_org, name="Minter", permissions=["tokens.manage", "users.view"])
    user = await make_user(services, "minter")
    await Membership.create(user=user, org=default_org, role=minter)
    browser = make_client()
    await login(browser, "minter")
    r = await browser.post(API, json={"name": "big", "role_id": await _role("OrgAdmin")})
    assert r.status_code == 403
    r = await browser.post(API, json={"name": "small", "role_id": await _role("Auditor")})
    assert r.status_code == 403, "Auditor holds audit.view, which the minter lacks"
    r = await browser.post(API, json={"name": "ok", "role_id": await _role("User"), "user_id": "someone-else"})
    assert r.status_code == 201 and r.json()["user_id"] == str(user.id)


async def test_other_orgs_tokens_are_404_and_plain_users_are_denied(admin_client, make_client, services):
    other = await make_org("Other")
    owner = await make_user(services, "owner", org=other)
    theirs = await ApiToken.create(org=other, name="theirs", token_hash="a" * 64, prefix="wg_abc", user=owner,
                                   role=await Role.get(org_id=None, name="User"))
    assert (await admin_client.get(f"{API}/{theirs.id}")).status_code == 404
    assert (await admin_client.delete(f"{API}/{theirs.id}")).status_code == 404
    assert (await ApiToken.get(id=theirs.id)).revoked_at is None
    await make_user(services, "plain")
    await make_user(services, "aud", role="Auditor")
    for name in ("plain", "aud"):
        browser = make_client()
        await login(browser, name)
        assert (await browser.post(API, json={"name": "x", "role_id": await _role("User")})).status_code == 403
        assert (await browser.get(API)).status_code == 403
