"""The login log and operation log as admins and auditors read them: scoped, filtered, read-only."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import PASSWORD, add_membership, login, make_org, make_user
from webgate.db.models import LoginLog, OperationLog

LOGINS = "/api/v1/audit/login-logs"
OPERATIONS = "/api/v1/audit/operation-logs"


async def _fail(client, username: str) -> None:
    r = await client.post("/api/v1/auth/login", json={"username": username, "password": "wrong"})
    assert r.status_code == 401


async def _names(client, url: str, key: str = "username", **params) -> list[str]:
    r = await client.get(url, params=params)
    assert r.status_code == 200, r.text
    return [item[key] for item in r.json()["items"]]


async def test_auditor_sees_logins_of_own_org_members_only(make_client, services):
    other = await make_org("Other")
    await make_user(services, "alice")
    await make_user(services, "bob", org=other)
    await make_user(services, "aud", role="Auditor")
    browser = make_client()
    await login(browser, "alice")
    await _fail(browser, "bob")
    await _fail(browser, "ghost")
    auditor = make_client()
    await login(auditor, "aud")
    names = await _names(auditor, LOGINS)
    assert "alice" in names and "aud" in names
    assert "bob" not in names and "ghost" not in names
    item = (await auditor.get(LOGINS, params={"username": "alice"})).json()["items"][0]
    assert set(item) == {"id", "username", "ip", "user_agent", "result", "reason", "created_at"}
    assert item["result"] == "success" and item["ip"] == "127.0.0.1"


async def test_member_of_two_orgs_is_visible_to_both_orgs(make_client, services):
    other = await make_org("Other")
    carol = await make_user(services, "carol", org=other)
    await add_membership(carol, await make_org("Third"))
    await make_user(services, "aud2", role="Auditor", org=other)
    await login(make_client(), "carol")
    auditor = make_client()
    await login(auditor, "aud2")
    assert "carol" in await _names(auditor, LOGINS)


async def test_super_admin_global_view_sees_every_attempt(admin_client, make_client, services):
    await _fail(make_client(), "ghost")
    assert "ghost" not in await _names(admin_client, LOGINS)
    r = await admin_client.post("/api/v1/auth/switch-org", json={"org_id": None})
    assert r.status_code == 200
    assert "ghost" in await _names(admin_client, LOGINS)


async def test_login_log_filters_and_time_range(admin_client, make_client, services, clock):
    await make_user(services, "dora")
    browser = make_client()
    start = clock.now()
    await _fail(browser, "dora")
    clock.advance(600)
    await login(browser, "dora")
    assert await _names(admin_client, LOGINS, username="dor", result="failure") == ["dora"]
    assert len(await _names(admin_client, LOGINS, username="DORA")) == 2
    later = (start + timedelta(minutes=5)).isoformat()
    assert [r["result"] for r in (await admin_client.get(
        LOGINS, params={"username": "dora", "since": later})).json()["items"]] == ["success"]
    assert [r["result"] for r in (await admin_client.get(
        LOGINS, params={"username": "dora", "until": later})).json()["items"]] == ["failure"]
    # A "Z" suffix and a naive time (taken as UTC) both work.
    zulu = (start + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(await _names(admin_client, LOGINS, username="dora", since=zulu)) == 1
    assert len(await _names(admin_client, LOGINS, username="dora", since=zulu[:-1])) == 1
    # Newest first by default; ascending on request.
    ordered = (await admin_client.get(LOGINS, params={"username": "dora", "ordering": "created_at"})).json()
    assert [r["result"] for r in ordered["items"]] == ["failure", "success"]


async def test_login_log_bad_filters_are_refused_with_the_field_name(admin_client):
    for params, field in [({"since": "yesterday"}, "since"), ({"until": "2026-13-01"}, "until"),
                          ({"result": "maybe"}, "result"), ({"ordering": "password_hash"}, "ordering"),
                          ({"ordering": "-ip"}, "ordering")]:
        r = await admin_client.get(LOGINS, params=params)
        assert r.status_code == 422, params
        assert field in r.json()["error"]["details"]["fields"]


async def test_operation_log_is_scoped_to_the_org_and_filterable(admin_client, make_client, services, default_org):
    other = await make_org("Other")
    await OperationLog.create(org_id=default_org.id, actor="eve", action="create", resource_type="asset",
                              resource_name="web-1", changes={"name": "web-1"}, ip="10.0.0.1")
    await OperationLog.create(org_id=default_org.id, actor="frank", action="delete", resource_type="user",
                              resource_name="old")
    await OperationLog.create(org_id=other.id, actor="mallory", action="create", resource_type="asset",
                              resource_name="secret-box")
    await make_user(services, "aud", role="Auditor")
    auditor = make_client()
    await login(auditor, "aud")
    assert sorted(await _names(auditor, OPERATIONS, key="actor")) == ["eve", "frank"]
    assert await _names(auditor, OPERATIONS, key="actor", resource_type="asset") == ["eve"]
    assert await _names(auditor, OPERATIONS, key="actor", action="delete") == ["frank"]
    assert await _names(auditor, OPERATIONS, key="actor", actor="EV") == ["eve"]
    assert await _names(auditor, OPERATIONS, key="actor", search="web-") == ["eve"]
    item = (await auditor.get(OPERATIONS, params={"actor": "eve"})).json()["items"][0]
    assert set(item) == {"id", "actor", "action", "resource_type", "resource_id", "resource_name", "changes",
                         "ip", "created_at"}
    assert item["changes"] == {"name": "web-1"}
    r = await auditor.get(OPERATIONS, params={"ordering": "changes"})
    assert r.status_code == 422
    await admin_client.post("/api/v1/auth/switch-org", json={"org_id": None})
    assert "mallory" in await _names(admin_client, OPERATIONS, key="actor")


async def test_operation_log_records_an_admin_change_with_the_clock_time(admin_client, clock):
    r = await admin_client.post("/api/v1/auth/password", json={"old_password": PASSWORD,
                                                               "new_password": "Another-Horse-42"})
    assert r.status_code == 204
    items = (await admin_client.get(OPERATIONS, params={"action": "change_password"})).json()["items"]
    assert len(items) == 1 and items[0]["actor"] == "root-admin"
    assert items[0]["created_at"].startswith(clock.now().date().isoformat())


async def test_plain_user_is_refused_and_anonymous_must_log_in(client, make_client, services):
    await make_user(services, "plain")
    browser = make_client()
    await login(browser, "plain")
    for url in (LOGINS, OPERATIONS):
        r = await browser.get(url)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert (await client.get(url)).status_code == 401


async def test_logs_cannot_be_written_changed_or_deleted(admin_client, make_client, services, default_org):
    await _fail(make_client(), "root-admin")
    row = await LoginLog.get(username="root-admin", result="failure")
    op = await OperationLog.create(org_id=default_org.id, actor="x", action="create", resource_type="asset")
    before = (await LoginLog.all().count(), await OperationLog.all().count())
    for url, ident in ((LOGINS, row.id), (OPERATIONS, op.id)):
        assert (await admin_client.post(url, json={"username": "forged", "result": "success"})).status_code == 405
        for method in ("GET", "PATCH", "PUT", "DELETE"):
            r = await admin_client.request(method, f"{url}/{ident}", json={"result": "success"})
            assert r.status_code in (404, 405), (method, url)
        assert (await admin_client.delete(url)).status_code == 405
    assert (await LoginLog.all().count(), await OperationLog.all().count()) == before
    assert (await LoginLog.get(id=row.id)).result == "failure"
