"""Settings: effective values per org, validated writes to the right layer, and real effects."""

from __future__ import annotations

from tests.helpers import PASSWORD, login, make_org, make_user
from webgate.db.models import OperationLog, SettingsRow
from webgate.policy.defaults import DEFAULTS

API = "/api/v1/settings"


async def _global_view(browser) -> None:  # type: ignore[no-untyped-def]
    r = await browser.post("/api/v1/auth/switch-org", json={"org_id": None})
    assert r.status_code == 200 and r.json()["org"] is None


async def test_get_returns_effective_sections(admin_client):
    data = (await admin_client.get(API)).json()
    assert set(data) == set(DEFAULTS)
    assert data["password_policy"]["min_length"] == DEFAULTS["password_policy"]["min_length"]


async def test_bad_and_unknown_keys_are_422_naming_them(admin_client):
    r = await admin_client.patch(API, json={"password_policy": {"min_length": 2, "colour": "red"}})
    fields = r.json()["error"]["details"]["fields"]
    assert r.status_code == 422 and "password_policy.min_length" in fields and "password_policy.colour" in fields
    r = await admin_client.patch(API, json={"mfa": {"required": "sometimes"}})
    assert r.status_code == 422 and "mfa.required" in r.json()["error"]["details"]["fields"]
    assert await SettingsRow.all().count() == 0


async def test_lockout_threshold_from_global_settings(admin_client, make_client, services):
    await make_user(services, "victim")
    await _global_view(admin_client)
    r = await admin_client.patch(API, json={"login": {"max_failures_user": 2}})
    assert r.status_code == 200 and r.json()["login"]["max_failures_user"] == 2
    row = await SettingsRow.get(org_id=None)
    assert row.data == {"login": {"max_failures_user": 2}}
    browser = make_client()
    for _ in range(2):
        r = await browser.post("/api/v1/auth/login", json={"username": "victim", "password": "wrong"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "locked"
    log = await OperationLog.get(resource_type="settings")
    assert log.changes == {"login.max_failures_user": 2} and log.resource_name == "global"


async def test_mfa_required_for_all_sends_users_to_enrolment(admin_client, make_client, services):
    await make_user(services, "nomfa")
    r = await admin_client.patch(API, json={"mfa": {"required": "all"}})
    assert r.status_code == 200 and r.json()["mfa"]["required"] == "all"
    r = await make_client().post("/api/v1/auth/login", json={"username": "nomfa", "password": PASSWORD})
    assert r.json()["stage"] == "mfa_enroll"
    # The override belongs to this org: the global layer and other orgs keep the default.
    other = await make_org("Other")
    await make_user(services, "elsewhere", org=other)
    r = await make_client().post("/api/v1/auth/login", json={"username": "elsewhere", "password": PASSWORD})
    assert r.json()["stage"] == "done"
    r = await admin_client.patch(API, json={"mfa": {"required": None}})
    assert r.json()["mfa"]["required"] == "none"


async def test_org_admin_writes_their_org_override_only(make_client, services, default_org):
    await make_user(services, "oa", role="OrgAdmin")
    browser = make_client()
    await login(browser, "oa")
    r = await browser.patch(API, json={"session": {"idle_minutes": 10}})
    assert r.status_code == 200 and r.json()["session"]["idle_minutes"] == 10
    assert (await SettingsRow.get(org_id=default_org.id)).data == {"session": {"idle_minutes": 10}}
    assert not await SettingsRow.filter(org_id=None).exists()
    r = await browser.patch(API, json={"login": {"max_failures_user": 100}})
    assert r.status_code == 422 and "login.max_failures_user" in r.json()["error"]["details"]["fields"]


async def test_global_value_is_inherited_and_org_value_wins(admin_client, make_client, services):
    await _global_view(admin_client)
    await admin_client.patch(API, json={"password_policy": {"min_length": 14}, "session": {"idle_minutes": 20}})
    await make_user(services, "oa", role="OrgAdmin")
    browser = make_client()
    await login(browser, "oa")
    await browser.patch(API, json={"session": {"idle_minutes": 15}})
    data = (await browser.get(API)).json()
    assert data["password_policy"]["min_length"] == 14 and data["session"]["idle_minutes"] == 15
    r = await browser.post("/api/v1/users", json={"username": "short", "password": "Short-pass-1"})
    assert r.status_code == 422 and "password" in r.json()["error"]["details"]["fields"]


async def test_plain_user_and_auditor_cannot_read_or_change_settings(make_client, services):
    await make_user(services, "plain")
    await make_user(services, "aud", role="Auditor")
    for name in ("plain", "aud"):
        browser = make_client()
        await login(browser, name)
        assert (await browser.get(API)).status_code == 403
        assert (await browser.patch(API, json={"mfa": {"required": "none"}})).status_code == 403
