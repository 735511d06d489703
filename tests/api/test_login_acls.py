"""Login ACL rules: validated input, and rules that really allow or deny logins."""

from __future__ import annotations

from tests.helpers import PASSWORD, login, make_user
from webgate.db.models import LoginAcl, LoginLog, OperationLog

API = "/api/v1/login-acls"


async def _try(browser, username: str = "worker"):  # type: ignore[no-untyped-def]
    return await browser.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})


async def test_deny_rule_blocks_the_network_and_allows_others(admin_client, make_client, services):
    await make_user(services, "worker")
    r = await admin_client.post(API, json={"name": "No tens", "action": "deny", "ips": ["10.0.0.0/8"]})
    assert r.status_code == 201, r.text
    assert r.json()["is_active"] is True and r.json()["priority"] == 50
    r = await _try(make_client("10.1.2.3"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "login_denied"
    assert await LoginLog.filter(username="worker", reason="acl_denied").count() == 1
    assert (await _try(make_client("127.0.0.1"))).status_code == 200
    rule = (await admin_client.get(API)).json()["items"][0]
    r = await admin_client.patch(f"{API}/{rule['id']}", json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert (await _try(make_client("10.1.2.3"))).status_code == 200


async def test_time_window_rule_follows_the_clock(admin_client, make_client, services, clock):
    await make_user(services, "worker")
    # The fake clock starts on Monday 2026-01-05 at 10:00 UTC.
    r = await admin_client.post(API, json={"name": "Maintenance", "action": "deny", "weekdays": [0],
                                           "time_start": "09:00", "time_end": "11:00"})
    assert r.status_code == 201, r.text
    assert (await _try(make_client())).status_code == 403
    clock.advance(3660)  # 11:01: the end minute 11:00 is inclusive
    assert (await _try(make_client())).status_code == 200
    clock.advance(23 * 3600 - 3600)  # Tuesday 10:00: the weekday no longer matches
    assert (await _try(make_client())).status_code == 200


async def test_rule_for_named_users_only(admin_client, make_client, services):
    target = await make_user(services, "target")
    await make_user(services, "bystander")
    r = await admin_client.post(API, json={"name": "Only target", "action": "deny", "user_ids": [str(target.id)]})
    assert r.status_code == 201 and r.json()["user_ids"] == [str(target.id)]
    assert (await _try(make_client(), "target")).status_code == 403
    assert (await _try(make_client(), "bystander")).status_code == 200


async def test_bad_input_names_the_field(admin_client):
    cases = [
        ({"name": "x", "action": "deny", "ips": ["10.0.0.300/8"]}, "ips"),
        ({"name": "x", "action": "deny", "weekdays": [7]}, "weekdays"),
        ({"name": "x", "action": "deny", "time_start": "9am", "time_end": "10:00"}, "time_start"),
        ({"name": "x", "action": "deny", "time_start": "09:00", "time_end": "24:00"}, "time_end"),
        ({"name": "x", "action": "deny", "time_start": "09:00"}, "time_end"),
        ({"name": "x", "action": "maybe"}, "action"),
        ({"name": "x", "action": "deny", "user_ids": ["00000000-0000-0000-0000-000000000000"]}, "user_ids"),
        ({"name": "x", "action": "deny", "priority": -1}, "priority"),
    ]
    for body, field in cases:
        r = await admin_client.post(API, json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.json()["error"]["details"]["fields"], (body, r.json())
    assert await LoginAcl.all().count() == 0


async def test_crud_is_audited(admin_client):
    rule = (await admin_client.post(API, json={"name": "Office", "action": "allow", "ips": ["192.0.2.7"]})).json()
    assert rule["ips"] == ["192.0.2.7/32"]
    r = await admin_client.patch(f"{API}/{rule['id']}", json={"priority": 10, "weekdays": [4, 0, 0]})
    assert r.json()["priority"] == 10 and r.json()["weekdays"] == [0, 4]
    r = await admin_client.patch(f"{API}/{rule['id']}", json={"time_start": "08:00"})
    assert r.status_code == 422 and "time_end" in r.json()["error"]["details"]["fields"]
    assert (await admin_client.delete(f"{API}/{rule['id']}")).status_code == 204
    assert (await admin_client.get(f"{API}/{rule['id']}")).status_code == 404
    actions = sorted(await OperationLog.filter(resource_type="login_acl").values_list("action", flat=True))
    assert actions == ["create", "delete", "update"]


async def test_org_admin_auditor_and_user_cannot_see_rules(make_client, services):
    rule = await LoginAcl.create(name="r", action="deny", ips=["10.0.0.0/8"])
    for name, role in (("oa", "OrgAdmin"), ("aud", "Auditor"), ("plain", "User")):
        await make_user(services, name, role=role)
        browser = make_client()
        await login(browser, name)
        assert (await browser.get(API)).status_code == 403
        assert (await browser.post(API, json={"name": "x", "action": "allow"})).status_code == 403
        assert (await browser.delete(f"{API}/{rule.id}")).status_code == 403
