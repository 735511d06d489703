"""CSRF: a cookie session changes nothing without the CSRF token and our own Origin.

API tokens are not sent by browsers on their own, so they need no CSRF token; every
other unsafe route is attacked below with the most powerful cookie there is.
"""

from __future__ import annotations

import secrets

from tests.helpers import login, make_user
from tests.security._db import diff, snapshot
from tests.security._routes import API, PUBLIC, UNSAFE, api_routes, refusals
from webgate.auth.principal import TOKEN_PREFIX, token_hash
from webgate.db.models import ApiToken, Role


def _unsafe(app):
    return [r for r in api_routes(app) if r.method in UNSAFE and r.perm not in (None, PUBLIC)]


async def _refusals(app, browser, headers: dict[str, str]) -> list[str]:
    return await refusals(browser, _unsafe(app), 403, "csrf_failed", headers)


async def test_no_token_means_no_change(app, admin_client):
    token = admin_client.headers.pop("X-CSRF-Token")
    before = await snapshot()
    assert await _refusals(app, admin_client, {}) == []
    assert await _refusals(app, admin_client, {"X-CSRF-Token": ""}) == []
    assert await _refusals(app, admin_client, {"X-CSRF-Token": token[:-2] + "xx"}) == []
    assert diff(before, await snapshot()) == []


async def test_another_sessions_token_is_refused(app, admin_client, make_client, services):
    await make_user(services, "someone")
    other = make_client()
    theirs = (await login(other, "someone"))["csrf_token"]
    admin_client.headers.pop("X-CSRF-Token")
    before = await snapshot()
    assert await _refusals(app, admin_client, {"X-CSRF-Token": theirs}) == []
    assert diff(before, await snapshot()) == []


async def test_a_foreign_origin_is_refused_even_with_the_token(app, admin_client):
    before = await snapshot()
    for origin in ("https://evil.example", "null", "http://testserver.evil.example"):
        assert await _refusals(app, admin_client, {"Origin": origin}) == [], origin
    assert diff(before, await snapshot()) == []


async def test_our_own_origin_passes(admin_client):
    r = await admin_client.post(f"{API}/auth/switch-org", json={"org_id": None},
                                headers={"Origin": "http://testserver"})
    assert r.status_code == 200


async def test_api_tokens_need_no_csrf_token(app, client, admin, default_org):
    raw = TOKEN_PREFIX + secrets.token_urlsafe(24)
    await ApiToken.create(org=default_org, name="ci", token_hash=token_hash(raw), prefix=raw[:8], user=admin,
                          role=await Role.get(org_id=None, name="OrgAdmin"))
    failures = []
    for route in _unsafe(app):
        r = await client.request(route.method, route.url(), json={},
                                 headers={"Authorization": f"Bearer {raw}", "Origin": "https://ci.example"})
        code = r.json().get("error", {}).get("code") if r.headers.get("content-type", "").startswith(
            "application/json") and r.content else None
        if code == "csrf_failed" or r.status_code >= 500:
            failures.append(f"{route}: {r.status_code} {code}")
    assert failures == []
