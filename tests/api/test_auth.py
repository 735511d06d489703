"""Login, MFA, lockout, CSRF and logout, as the SPA experiences them."""

from __future__ import annotations

import pyotp

from tests.helpers import PASSWORD, login, make_user
from webgate.db.models import LoginLog, User, WebSession


async def test_login_sets_httponly_session_and_me_shows_user(client, services):
    await make_user(services, "alice")
    r = await client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 200
    assert r.json()["stage"] == "done"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("webgate_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    me = (await client.get("/api/v1/auth/me")).json()
    assert me["user"]["username"] == "alice"
    assert me["org"]["name"] == "Default"
    assert await LoginLog.filter(username="alice", result="success").count() == 1


async def test_unknown_user_and_wrong_password_look_the_same(client, services):
    await make_user(services, "bob")
    wrong = await client.post("/api/v1/auth/login", json={"username": "bob", "password": "nope"})
    unknown = await client.post("/api/v1/auth/login", json={"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"


async def test_disabled_user_cannot_log_in_and_gets_the_same_message(client, services):
    user = await make_user(services, "carol")
    user.is_active = False
    await user.save()
    r = await client.post("/api/v1/auth/login", json={"username": "carol", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"


async def test_lockout_blocks_right_password_until_it_expires(client, services, clock):
    await make_user(services, "dave")
    for _ in range(5):
        r = await client.post("/api/v1/auth/login", json={"username": "dave", "password": "bad"})
    assert r.status_code == 403
    body = r.json()["error"]
    assert body["code"] == "locked" and body["details"]["retry_after"] > 0
    assert "minute" in body["message"]
    r = await client.post("/api/v1/auth/login", json={"username": "dave", "password": PASSWORD})
    assert r.status_code == 403 and r.json()["error"]["code"] == "locked"
    clock.advance(15 * 60 + 1)
    r = await client.post("/api/v1/auth/login", json={"username": "dave", "password": PASSWORD})
    assert r.status_code == 200


async def test_mfa_enrolment_then_login_needs_code_and_code_is_single_use(client, make_client, services, clock):
    await make_user(services, "erin")
    await login(client, "erin")
    enrol = (await client.get("/api/v1/auth/mfa/enroll")).json()
    assert enrol["qr_svg"].startswith("<svg") and enrol["otpauth_uri"].startswith("otpauth://")
    totp = pyotp.TOTP(enrol["secret"])
    r = await client.post("/api/v1/auth/mfa/enroll", json={"code": totp.at(clock.time())})
    assert r.status_code == 200, r.text
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10

    browser = make_client()
    r = await browser.post("/api/v1/auth/login", json={"username": "erin", "password": PASSWORD})
    assert r.json()["stage"] == "mfa"
    browser.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    # Between steps nothing but the MFA endpoints answers.
    r = await browser.post("/api/v1/auth/switch-org", json={"org_id": None})
    assert r.status_code == 401 and r.json()["error"]["code"] == "mfa_required"
    clock.advance(30)
    code = totp.at(clock.time())
    assert (await browser.post("/api/v1/auth/mfa/verify", json={"code": code})).json()["stage"] == "done"

    replay = make_client()
    r = await replay.post("/api/v1/auth/login", json={"username": "erin", "password": PASSWORD})
    replay.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    r = await replay.post("/api/v1/auth/mfa/verify", json={"code": code})
    assert r.status_code == 401, "a TOTP code must not be accepted twice"
    r = await replay.post("/api/v1/auth/mfa/verify", json={"code": codes[0]})
    assert r.json()["stage"] == "done"
    again = make_client()
    r = await again.post("/api/v1/auth/login", json={"username": "erin", "password": PASSWORD})
    again.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    assert (await again.post("/api/v1/auth/mfa/verify", json={"code": codes[0]})).status_code == 401


async def test_forced_mfa_sends_new_user_to_enrolment(client, services, clock):
    await make_user(services, "frank", mfa_required=True)
    r = await client.post("/api/v1/auth/login", json={"username": "frank", "password": PASSWORD})
    assert r.json()["stage"] == "mfa_enroll"
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    assert (await client.get("/api/v1/auth/me")).json()["permissions"] == []
    enrol = (await client.get("/api/v1/auth/mfa/enroll")).json()
    r = await client.post("/api/v1/auth/mfa/enroll", json={"code": pyotp.TOTP(enrol["secret"]).at(clock.time())})
    assert r.json()["stage"] == "done"
    me = (await client.get("/api/v1/auth/me")).json()
    r = await client.post("/api/v1/auth/switch-org", json={"org_id": me["org"]["id"]})
    assert r.status_code == 200


async def test_state_change_without_csrf_token_is_refused(client, services):
    await make_user(services, "gina")
    await login(client, "gina")
    del client.headers["X-CSRF-Token"]
    r = await client.post("/api/v1/auth/logout")
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"


async def test_foreign_origin_is_refused_even_with_token(client, services):
    await make_user(services, "hank")
    await login(client, "hank")
    r = await client.post("/api/v1/auth/logout", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


async def test_login_rotates_session_and_logout_kills_it_on_server(client, services):
    await make_user(services, "ivy")
    await login(client, "ivy")
    first = client.cookies.get("webgate_session")
    await login(client, "ivy")
    second = client.cookies.get("webgate_session")
    assert first != second
    assert await WebSession.all().count() == 1
    r = await client.post("/api/v1/auth/logout")
    assert r.status_code == 204
    assert await WebSession.all().count() == 0
    client.cookies.set("webgate_session", second)
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_idle_session_expires(client, services, clock):
    await make_user(services, "jack")
    await login(client, "jack")
    clock.advance(31 * 60)
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_password_change_policy_and_history(client, services, make_client):
    await make_user(services, "kate")
    await login(client, "kate")
    r = await client.post("/api/v1/auth/password", json={"old_password": PASSWORD, "new_password": "short"})
    assert r.status_code == 422 and "new_password" in r.json()["error"]["details"]["fields"]
    r = await client.post("/api/v1/auth/password", json={"old_password": PASSWORD, "new_password": PASSWORD})
    assert r.status_code == 422 and "not used" in r.json()["error"]["details"]["fields"]["new_password"]
    other = make_client()
    await login(other, "kate")
    r = await client.post("/api/v1/auth/password", json={"old_password": PASSWORD, "new_password": "Brand-New-Pass-42"})
    assert r.status_code == 204
    assert (await client.get("/api/v1/auth/me")).status_code == 200, "the changing session stays"
    assert (await other.get("/api/v1/auth/me")).status_code == 401, "other sessions are revoked"
    user = await User.get(username="kate")
    assert user.password_hash != "" and "Brand" not in user.password_hash


async def test_unknown_api_paths_answer_in_the_error_shape(client):
    r = await client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await client.put("/api/v1/auth/login", json={})
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


async def test_logins_and_password_changes_never_wait_for_busy_worker_threads(client, services):
    """Argon2 runs on its own threads: when many sessions end at once their recordings are
    converted in the default thread pool, and a login must not queue behind them (nor may a
    password change stall the event loop, which would freeze every live session)."""
    import asyncio
    import threading

    await make_user(services, "alice")
    release = threading.Event()
    loop = asyncio.get_running_loop()
    busy = [loop.run_in_executor(None, release.wait, 10) for _ in range(64)]  # every default worker taken
    try:
        async with asyncio.timeout(5):
            await login(client, "alice")
            r = await client.post("/api/v1/auth/password",
                                  json={"old_password": PASSWORD, "new_password": "Another-Horse-7"})
        assert r.status_code in (200, 204), r.text
    finally:
        release.set()
        await asyncio.gather(*busy)
