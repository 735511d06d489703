"""AUTHZ: query parameters never widen a list beyond the caller's org nor pick a secret serializer.

Every GET route without path parameters is tried (JumpServer GHSA-6rp5-ff2m-qfrm:
``?_rel=not`` inverted the org filter). The other org's rows are all named ``zzother``;
that word must never appear in an answer to the home org's admin.
"""

from __future__ import annotations

from typing import Any

from tests.security._routes import items_of, keys_in, plain_gets
from tests.security.conftest import MARKER, World

SECRET_KEYS = {"secret", "secret_enc", "passphrase", "passphrase_enc", "password", "password_hash", "token_hash",
               "mfa_secret_enc", "mfa_pending_enc", "code_hash"}


def abuses(other: World) -> list[dict[str, str]]:
    org = str(other.org.id)
    tricks: list[dict[str, str]] = [
        {}, {"org_id": org}, {"org": org}, {"org__id": org}, {"org_id__in": org}, {"_rel": "not"},
        {"ordering": "password_hash"}, {"ordering": "-secret_enc"}, {"ordering": "org__name"},
        {"fields": "secret_enc"}, {"fields": "*"}, {"expand": "secret"}, {"include": "secret"},
        {"page_size": "100000"}, {"page": "-1"}, {"search": MARKER}, {"search": "%"},
        {"is_superadmin": "true"}, {"all": "true"}, {"global": "1"},
    ]
    for name, obj in other.objects.items():
        for key in (f"{name.rstrip('s').replace('-', '_')}_id", "id", "id__in"):
            tricks.append({key: str(obj.id)})
    tricks += [{"node_id": str(other.objects["nodes"].id)}, {"asset_id": str(other.objects["assets"].id)},
               {"user_id": str(other.member.id)}, {"username": f"{MARKER}-admin"}, {"actor": MARKER}]
    return tricks


def json_or_none(response: Any) -> Any:
    return response.json() if response.headers.get("content-type", "").startswith("application/json") else None


def problems_in(route: Any, params: dict[str, str], status: int, body: Any, text: str) -> list[str]:
    where = f"{route} {params}"
    if status >= 500:
        return [f"{where}: {status}"]
    if status != 200:
        return []
    found = []
    if MARKER in text:
        found.append(f"{where}: shows the other org's objects")
    rows = items_of(body)
    leaked = keys_in(rows or []) & SECRET_KEYS
    if leaked:
        found.append(f"{where}: secret-looking keys {sorted(leaked)}")
    if rows is not None and len(rows) > 500:
        found.append(f"{where}: {len(rows)} rows in one page")
    if isinstance(body, dict) and isinstance(body.get("page_size"), int) and body["page_size"] > 500:
        found.append(f"{where}: page_size {body['page_size']}")
    return found


async def test_parameters_never_widen_scope_or_expose_secrets(app, home_admin, home: World, other: World):
    failures: list[str] = []
    for route in plain_gets(app):
        for params in abuses(other):
            r = await home_admin.get(route.url(), params=params)
            body = json_or_none(r)
            failures += problems_in(route, params, r.status_code, body, r.text)
    assert failures == []


async def test_a_header_naming_a_foreign_org_changes_nothing(app, home_admin, other: World):
    failures: list[str] = []
    for route in plain_gets(app):
        r = await home_admin.get(route.url(), headers={"X-Webgate-Org": str(other.org.id)})
        body = json_or_none(r)
        failures += problems_in(route, {"X-Webgate-Org": "other"}, r.status_code, body, r.text)
    assert failures == []


async def test_ordering_on_unknown_or_secret_fields_is_refused(app, home_admin, home: World):
    failures: list[str] = []
    for route in plain_gets(app):
        r = await home_admin.get(route.url())
        body = json_or_none(r)
        if r.status_code != 200 or not isinstance(body, dict) or "items" not in body:
            continue  # only paginated lists take ?ordering=
        for field in ("password_hash", "-secret_enc", "token_hash", "org__name", "id; DROP TABLE users", "?"):
            r = await home_admin.get(route.url(), params={"ordering": field})
            if r.status_code != 422 or "ordering" not in r.json()["error"]["details"].get("fields", {}):
                failures.append(f"{route} ordering={field}: {r.status_code}")
    assert failures == []


async def test_the_lists_see_the_home_org_at_all(app, home_admin, home: World):
    """Guards the tests above against passing on empty answers: some list shows home objects."""
    seen = 0
    for route in plain_gets(app):
        r = await home_admin.get(route.url())
        if r.status_code == 200 and "home-" in r.text:
            seen += 1
    assert seen >= 2


async def test_counts_never_include_other_orgs(app, home_admin, home: World, other: World):
    """Numbers leak too: an org's dashboard and metrics count only that org."""
    dash = (await home_admin.get("/api/v1/dashboard")).json()["counts"]
    assert dash["assets"] == 1 and dash["live_sessions"] == 1
    r = await home_admin.get("/api/v1/metrics")
    assert r.status_code == 200
    values = dict(line.split() for line in r.text.splitlines() if line and not line.startswith("#"))
    assert values["webgate_assets"] == "1" and values["webgate_sessions_live"] == "1"
    assert int(values["webgate_users"]) == dash["users"]
