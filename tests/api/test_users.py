"""Users of the current org: create, change, remove, and the admin resets."""

from __future__ import annotations

import pyotp

from tests.helpers import PASSWORD, add_membership, login, make_org, make_user
from webgate.auth.login import record_failure
from webgate.db.models import (
    ApiToken,
    Membership,
    OperationLog,
    RecoveryCode,
    Role,
    User,
    UserGroup,
)

API = "/api/v1/users"


async def _role(name: str) -> str:
    return str((await Role.get(org_id=None, name=name)).id)


async def test_create_without_password_returns_one_time_password_once(admin_client, make_client):
    r = await admin_client.post(API, json={"username": "newbie", "name": "New Bie", "role_ids": [await _role("Auditor")]})
    assert r.status_code == 201, r.text
    body = r.json()
    otp = body["one_time_password"]
    assert body["roles"][0]["name"] == "Auditor" and body["locked"] is False
    assert "password_hash" not in body and "mfa_secret_enc" not in body
    got = (await admin_client.get(f"{API}/{body['id']}")).json()
    assert "one_time_password" not in got
    browser = make_client()
    r = await browser.post("/api/v1/auth/login", json={"username": "newbie", "password": otp})
    assert r.json()["stage"] == "password_change"
    log = await OperationLog.get(resource_type="user", action="create")
    assert otp not in str(log.changes)


async def test_create_with_weak_password_names_the_field(admin_client):
    r = await admin_client.post(API, json={"username": "weak", "password": "abc"})
    assert r.status_code == 422 and "password" in r.json()["error"]["details"]["fields"]
    r = await admin_client.post(API, json={"username": "bad name!"})
    assert r.status_code == 422 and "username" in r.json()["error"]["details"]["fields"]
    r = await admin_client.post(API, json={"username": "mailer", "email": "not-an-address"})
    assert r.status_code == 422 and "email" in r.json()["error"]["details"]["fields"]
    await admin_client.post(API, json={"username": "twice", "password": PASSWORD})
    r = await admin_client.post(API, json={"username": "twice", "password": PASSWORD})
    assert r.status_code == 409 and r.json()["error"]["details"]["field"] == "username"


async def test_list_shows_only_this_orgs_users(admin_client, services):
    other = await make_org("Other")
    await make_user(services, "outsider", org=other)
    await make_user(services, "insider")
    names = [u["username"] for u in (await admin_client.get(API)).json()["items"]]
    assert "insider" in names and "outsider" not in names
    outsider = await User.get(username="outsider")
    assert (await admin_client.get(f"{API}/{outsider.id}")).status_code == 404
    assert (await admin_client.patch(f"{API}/{outsider.id}", json={"name": "x"})).status_code == 404
    r = await admin_client.get(API, params={"is_active": "false"})
    assert r.json()["total"] == 0


async def test_mass_assignment_of_superadmin_is_refused_for_org_admins(make_client, services):
    await make_user(services, "oa", role="OrgAdmin")
    browser = make_client()
    await login(browser, "oa")
    r = await browser.post(API, json={"username": "sneaky", "password": PASSWORD, "is_superadmin": True})
    assert r.status_code == 403
    me = await User.get(username="oa")
    r = await browser.patch(f"{API}/{me.id}", json={"is_superadmin": True})
    assert r.status_code == 403
    r = await browser.post(API, json={"username": "ok", "password": PASSWORD, "org": "x", "auth_epoch": 9})
    assert r.status_code == 201 and r.json()["is_superadmin"] is False
    assert (await User.get(username="ok")).auth_epoch == 0


async def test_org_admin_cannot_touch_a_super_admin(make_client, services, admin):
    await make_user(services, "oa", role="OrgAdmin")
    browser = make_client()
    await login(browser, "oa")
    r = await browser.patch(f"{API}/{admin.id}", json={"is_active": False})
    assert r.status_code == 403
    assert (await browser.post(f"{API}/{admin.id}/reset-password")).status_code == 403
    assert (await browser.delete(f"{API}/{admin.id}")).status_code == 403
    assert (await User.get(id=admin.id)).is_active


async def test_super_admin_can_grant_super_admin_and_it_is_audited(admin_client, services):
    user = await make_user(services, "promoted")
    r = await admin_client.patch(f"{API}/{user.id}", json={"is_superadmin": True})
    assert r.status_code == 200 and r.json()["is_superadmin"] is True
    log = await OperationLog.get(resource_type="user", action="update")
    assert log.changes == {"is_superadmin": True}


async def test_disabling_a_user_ends_their_sessions(admin_client, make_client, services):
    user = await make_user(services, "leaver")
    browser = make_client()
    await login(browser, "leaver")
    assert (await browser.get("/api/v1/auth/me")).status_code == 200
    r = await admin_client.patch(f"{API}/{user.id}", json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert (await browser.get("/api/v1/auth/me")).status_code == 401
    assert (await User.get(id=user.id)).auth_epoch == user.auth_epoch + 1


async def test_changing_roles_ends_sessions_and_takes_effect(admin_client, make_client, services, default_org):
    user = await make_user(services, "mover")
    browser = make_client()
    await login(browser, "mover")
    assert (await browser.get(API)).status_code == 403
    r = await admin_client.patch(f"{API}/{user.id}", json={"role_ids": [await _role("Auditor")]})
    assert r.status_code == 200 and [x["name"] for x in r.json()["roles"]] == ["Auditor"]
    assert (await browser.get("/api/v1/auth/me")).status_code == 401
    await login(browser, "mover")
    assert (await browser.get(API)).status_code == 200
    r = await admin_client.patch(f"{API}/{user.id}", json={"role_ids": []})
    assert r.status_code == 422 and "role_ids" in r.json()["error"]["details"]["fields"]
    other = await Role.create(org=await make_org("Other"), name="Theirs", permissions=[])
    r = await admin_client.patch(f"{API}/{user.id}", json={"role_ids": [str(other.id)]})
    assert r.status_code == 422 and "role_ids" in r.json()["error"]["details"]["fields"]


async def test_groups_of_a_user_are_set_from_this_org_only(admin_client, services, default_org):
    user = await make_user(services, "grouped")
    mine = await UserGroup.create(org=default_org, name="Ops")
    theirs = await UserGroup.create(org=await make_org("Other"), name="Ops")
    r = await admin_client.patch(f"{API}/{user.id}", json={"group_ids": [str(mine.id)]})
    assert r.status_code == 200 and r.json()["group_ids"] == [str(mine.id)]
    r = await admin_client.patch(f"{API}/{user.id}", json={"group_ids": [str(theirs.id)]})
    assert r.status_code == 422 and "group_ids" in r.json()["error"]["details"]["fields"]


async def test_user_manager_cannot_grant_a_role_above_their_own(make_client, services, default_org):
    helpdesk = await Role.create(org=default_org, name="Helpdesk", permissions=["users.view", "users.manage"])
    user = await make_user(services, "desk")
    await Membership.create(user=user, org=default_org, role=helpdesk)
    target = await make_user(services, "target")
    browser = make_client()
    await login(browser, "desk")
    r = await browser.patch(f"{API}/{target.id}", json={"role_ids": [await _role("OrgAdmin")]})
    assert r.status_code == 403
    r = await browser.post(API, json={"username": "boss", "password": PASSWORD, "role_ids": [await _role("OrgAdmin")]})
    assert r.status_code == 403
    boss = await make_user(services, "realboss", role="OrgAdmin")
    r = await browser.patch(f"{API}/{boss.id}", json={"is_active": False})
    assert r.status_code == 403, "a helpdesk user cannot disable someone more powerful"


async def test_plain_user_and_auditor_are_denied_writes(make_client, services):
    target = await make_user(services, "target")
    await make_user(services, "plain")
    await make_user(services, "aud", role="Auditor")
    for name in ("plain", "aud"):
        browser = make_client()
        await login(browser, name)
        assert (await browser.post(API, json={"username": "x1"})).status_code == 403
        assert (await browser.patch(f"{API}/{target.id}", json={"name": "x"})).status_code == 403
        assert (await browser.post(f"{API}/{target.id}/reset-password")).status_code == 403
        assert (await browser.delete(f"{API}/{target.id}")).status_code == 403
    aud = make_client()
    await login(aud, "aud")
    assert (await aud.get(API)).status_code == 200


async def test_reset_password_gives_one_time_password_and_ends_sessions(admin_client, make_client, services):
    user = await make_user(services, "forgetful")
    browser = make_client()
    await login(browser, "forgetful")
    r = await admin_client.post(f"{API}/{user.id}/reset-password")
    assert r.status_code == 200
    otp = r.json()["one_time_password"]
    assert (await browser.get("/api/v1/auth/me")).status_code == 401
    r = await browser.post("/api/v1/auth/login", json={"username": "forgetful", "password": otp})
    assert r.json()["stage"] == "password_change"
    log = await OperationLog.get(action="reset_password")
    assert otp not in str(log.changes)


async def test_reset_mfa_clears_secret_and_recovery_codes(admin_client, make_client, services, clock):
    user = await make_user(services, "phoneless")
    browser = make_client()
    await login(browser, "phoneless")
    enrol = (await browser.get("/api/v1/auth/mfa/enroll")).json()
    await browser.post("/api/v1/auth/mfa/enroll", json={"code": pyotp.TOTP(enrol["secret"]).at(clock.time())})
    assert (await admin_client.get(f"{API}/{user.id}")).json()["mfa_enabled"] is True
    r = await admin_client.post(f"{API}/{user.id}/reset-mfa")
    assert r.status_code == 204
    assert (await admin_client.get(f"{API}/{user.id}")).json()["mfa_enabled"] is False
    assert await RecoveryCode.filter(user_id=user.id).count() == 0
    r = await make_client().post("/api/v1/auth/login", json={"username": "phoneless", "password": PASSWORD})
    assert r.json()["stage"] == "done"


async def test_unlock_lifts_a_lockout(admin_client, make_client, services):
    user = await make_user(services, "clumsy")
    for _ in range(5):
        await record_failure(services, "clumsy", "192.0.2.1")
    assert (await admin_client.get(f"{API}/{user.id}")).json()["locked"] is True
    browser = make_client()
    r = await browser.post("/api/v1/auth/login", json={"username": "clumsy", "password": PASSWORD})
    assert r.status_code == 403 and r.json()["error"]["code"] == "locked"
    assert (await admin_client.post(f"{API}/{user.id}/unlock")).status_code == 204
    assert (await admin_client.get(f"{API}/{user.id}")).json()["locked"] is False
    await login(browser, "clumsy")


async def test_delete_removes_membership_and_user_without_other_orgs(admin_client, services, default_org):
    other = await make_org("Other")
    both = await make_user(services, "both")
    await add_membership(both, other)
    only = await make_user(services, "only")
    await ApiToken.create(org=default_org, name="t", token_hash="h" * 64, prefix="wg_x", user=both,
                          role=await Role.get(org_id=None, name="User"))
    assert (await admin_client.delete(f"{API}/{both.id}")).status_code == 204
    assert await User.filter(id=both.id).exists()
    assert not await Membership.filter(user_id=both.id, org_id=default_org.id).exists()
    assert (await ApiToken.get(user_id=both.id)).revoked_at is not None
    assert (await admin_client.get(f"{API}/{both.id}")).status_code == 404
    assert (await admin_client.delete(f"{API}/{only.id}")).status_code == 204
    assert not await User.filter(id=only.id).exists()


async def test_cannot_disable_or_remove_yourself(admin_client, admin):
    r = await admin_client.patch(f"{API}/{admin.id}", json={"is_active": False})
    assert r.status_code == 422 and "is_active" in r.json()["error"]["details"]["fields"]
    assert (await admin_client.delete(f"{API}/{admin.id}")).status_code == 422


async def test_role_downgrade_revokes_tokens_that_now_exceed_the_user(admin_client, services, default_org):
    user = await make_user(services, "automator", role="Auditor")
    auditor, plain = await Role.get(org_id=None, name="Auditor"), await Role.get(org_id=None, name="User")
    big = await ApiToken.create(org=default_org, name="big", token_hash="b" * 64, prefix="wg_b", user=user, role=auditor)
    small = await ApiToken.create(org=default_org, name="small", token_hash="c" * 64, prefix="wg_c", user=user, role=plain)
    r = await admin_client.patch(f"{API}/{user.id}", json={"role_ids": [str(plain.id)]})
    assert r.status_code == 200
    assert (await ApiToken.get(id=big.id)).revoked_at is not None
    assert (await ApiToken.get(id=small.id)).revoked_at is None


async def test_super_admin_global_view_lists_users_of_every_org(admin_client, services):
    await make_user(services, "faraway", org=await make_org("Far"))
    assert "faraway" not in [u["username"] for u in (await admin_client.get(API)).json()["items"]]
    await admin_client.post("/api/v1/auth/switch-org", json={"org_id": None})
    assert "faraway" in [u["username"] for u in (await admin_client.get(API)).json()["items"]]
    r = await admin_client.post(API, json={"username": "nowhere"})
    assert r.status_code == 422 and "org" in r.json()["error"]["details"]["fields"]
