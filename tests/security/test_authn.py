"""AUTH: lockout, the client address behind proxies, MFA as a server-side state machine, sessions.

(JumpServer CVE-2023-46123: X-Forwarded-For; Warpgate CVE-2023-48712: MFA bound to
the wrong user; RFC 6238 §5.2: a code is accepted once.)
"""

from __future__ import annotations

import ipaddress
import secrets

import pyotp
import pytest

from tests.helpers import PASSWORD, login, make_user
from tests.security._db import diff, snapshot
from tests.security._routes import API, PARTIAL, PUBLIC, api_routes, refusals
from webgate.auth.principal import SESSION_COOKIE, TOKEN_PREFIX, token_hash
from webgate.db.crypto import context_for
from webgate.db.models import ApiToken, LoginLog, Membership, Role, User, WebSession

LOGIN = f"{API}/auth/login"
ME = f"{API}/auth/me"


async def with_mfa(services, user: User) -> str:
    secret = pyotp.random_base32()
    enc = services.box.encrypt(secret, context_for("users", "mfa_secret", user.id))
    await User.filter(id=user.id).update(mfa_secret_enc=enc)
    return secret


WRONG = "not-the-password"


async def attempt(browser, username: str, password: str = WRONG, **headers: str):
    return await browser.post(LOGIN, json={"username": username, "password": password}, headers=headers)


def plant(browser, value: str) -> None:
    """Put a session cookie into a browser as the server's domain would hold it."""
    browser.cookies.set(SESSION_COOKIE, value, domain="testserver.local")


def session_cookie(response) -> str:
    return next(h for h in response.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}="))


# --- lockout -------------------------------------------------------------------------------

async def test_user_lockout_holds_across_source_addresses(make_client, services):
    await make_user(services, "target")
    for n in range(5):
        r = await attempt(make_client(f"198.51.100.{n + 1}"), "target")
    assert r.status_code == 403 and r.json()["error"]["code"] == "locked"
    r = await attempt(make_client("198.51.100.99"), "target", PASSWORD)
    assert r.status_code == 403 and r.json()["error"]["code"] == "locked"


async def test_many_usernames_from_one_address_lock_the_address(make_client, services):
    await make_user(services, "innocent")
    sprayer = make_client("203.0.113.7")
    codes = [(await attempt(sprayer, f"guess{n}")).status_code for n in range(30)]
    assert codes[-1] == 403 and set(codes[:-1]) == {401}
    r = await attempt(sprayer, "innocent", PASSWORD)
    assert r.status_code == 403 and r.json()["error"]["code"] == "locked"
    assert (await attempt(make_client("203.0.113.8"), "innocent", PASSWORD)).status_code == 200


async def test_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing(make_client, services):
    await make_user(services, "innocent")
    sprayer = make_client("203.0.113.7")
    for n in range(30):
        r = await attempt(sprayer, f"guess{n}", **{"X-Forwarded-For": f"192.0.2.{n + 1}", "X-Real-IP": "192.0.2.1"})
    assert r.status_code == 403
    ips = set(await LoginLog.filter(username__startswith="guess").values_list("ip", flat=True))
    assert ips == {"203.0.113.7"}
    r = await attempt(sprayer, "innocent", PASSWORD, **{"X-Forwarded-For": "192.0.2.200"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "locked"


class TestBehindATrustedProxy:
    @pytest.fixture
    def settings(self, settings):
        return settings.with_(trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),))

    async def test_the_proxy_supplied_address_is_logged_and_locked(self, make_client, services):
        await make_user(services, "innocent")
        proxy = make_client("10.0.0.2")
        # The leftmost hop is whatever the client wrote; the proxy appended the real one.
        for n in range(30):
            r = await attempt(proxy, f"guess{n}", **{"X-Forwarded-For": f"6.6.6.{n}, 198.51.100.7"})
        assert r.status_code == 403
        ips = set(await LoginLog.filter(username__startswith="guess").values_list("ip", flat=True))
        assert ips == {"198.51.100.7"}
        r = await attempt(proxy, "innocent", PASSWORD, **{"X-Forwarded-For": "198.51.100.7"})
        assert r.status_code == 403
        # Another client behind the same proxy is not punished for the first one.
        r = await attempt(proxy, "innocent", PASSWORD, **{"X-Forwarded-For": "198.51.100.8"})
        assert r.status_code == 200

    async def test_a_peer_outside_the_trusted_range_is_still_not_believed(self, make_client, services):
        await attempt(make_client("203.0.113.9"), "nobody", **{"X-Forwarded-For": "10.0.0.5"})
        assert await LoginLog.filter(username="nobody").values_list("ip", flat=True) == ["203.0.113.9"]


# --- MFA -----------------------------------------------------------------------------------

async def test_between_password_and_mfa_no_api_route_answers(app, make_client, services):
    user = await make_user(services, "halfway", role="OrgAdmin", superadmin=True)
    await with_mfa(services, user)
    browser = make_client()
    data = (await attempt(browser, "halfway", PASSWORD)).json()
    assert data["stage"] == "mfa"
    browser.headers["X-CSRF-Token"] = data["csrf_token"]
    before = await snapshot()
    logged_in_only = [r for r in api_routes(app) if r.perm not in (None, PUBLIC, PARTIAL)]
    assert await refusals(browser, logged_in_only, 401, "mfa_required") == []
    assert diff(before, await snapshot()) == []
    # The in-between steps cannot be used to replace the MFA secret or the password either.
    assert (await browser.get(f"{API}/auth/mfa/enroll")).status_code == 403
    r = await browser.post(f"{API}/auth/password", json={"old_password": PASSWORD, "new_password": "New-Horse-77x"})
    assert r.status_code == 403
    assert (await browser.get(ME)).json()["permissions"] == []


async def test_a_totp_code_is_accepted_once_even_in_two_browsers(make_client, services, clock):
    user = await make_user(services, "once")
    secret = await with_mfa(services, user)
    code = pyotp.TOTP(secret).at(clock.time())
    first, second = make_client(), make_client()
    for browser in (first, second):
        browser.headers["X-CSRF-Token"] = (await attempt(browser, "once", PASSWORD)).json()["csrf_token"]
    assert (await first.post(f"{API}/auth/mfa/verify", json={"code": code})).status_code == 200
    r = await second.post(f"{API}/auth/mfa/verify", json={"code": code})
    assert r.status_code == 401
    assert (await second.get(f"{API}/dashboard")).json()["error"]["code"] == "mfa_required"


async def test_switching_user_mid_login_does_not_inherit_the_first_login(make_client, services, clock):
    victim = await make_user(services, "victim", role="OrgAdmin")
    await with_mfa(services, victim)
    attacker = await make_user(services, "attacker")
    attacker_secret = await with_mfa(services, attacker)
    browser = make_client()
    first = await attempt(browser, "victim", PASSWORD)  # the attacker knows the victim's password only
    victim_cookie = browser.cookies[SESSION_COOKIE]
    assert first.json()["stage"] == "mfa"
    second = await attempt(browser, "attacker", PASSWORD)
    browser.headers["X-CSRF-Token"] = second.json()["csrf_token"]
    assert browser.cookies[SESSION_COOKIE] != victim_cookie
    r = await browser.post(f"{API}/auth/mfa/verify", json={"code": pyotp.TOTP(attacker_secret).at(clock.time())})
    assert r.status_code == 200
    me = (await browser.get(ME)).json()
    assert me["user"]["username"] == "attacker" and me["permissions"] == []
    # The victim's half-finished session is gone, and the attacker's code never finishes it.
    replay = make_client()
    plant(replay, victim_cookie)
    assert (await replay.get(ME)).status_code == 401
    assert not await WebSession.filter(user_id=victim.id).exists()


async def test_a_code_for_another_user_does_not_finish_this_login(make_client, services, clock):
    victim = await make_user(services, "victim")
    await with_mfa(services, victim)
    attacker = await make_user(services, "attacker")
    attacker_secret = await with_mfa(services, attacker)
    browser = make_client()
    browser.headers["X-CSRF-Token"] = (await attempt(browser, "victim", PASSWORD)).json()["csrf_token"]
    r = await browser.post(f"{API}/auth/mfa/verify", json={"code": pyotp.TOTP(attacker_secret).at(clock.time())})
    assert r.status_code == 401
    assert (await browser.get(ME)).json()["stage"] == "mfa"


# --- sessions ------------------------------------------------------------------------------

async def test_a_session_id_set_before_login_is_replaced(make_client, services):
    await make_user(services, "fixed")
    await make_user(services, "planter")
    planter = make_client()
    await login(planter, "planter")
    planted = planter.cookies[SESSION_COOKIE]
    victim = make_client()
    plant(victim, planted)  # the attacker's own valid session, planted
    r = await attempt(victim, "fixed", PASSWORD)
    assert r.status_code == 200
    assert victim.cookies[SESSION_COOKIE] != planted
    assert (await victim.get(ME)).json()["user"]["username"] == "fixed"
    assert (await planter.get(ME)).status_code == 401  # the planted id no longer exists
    forged = make_client()
    plant(forged, "attacker-chosen-value")
    await attempt(forged, "fixed", PASSWORD)
    assert forged.cookies[SESSION_COOKIE] != "attacker-chosen-value"


async def test_cookie_flags_over_plain_http(client, services):
    await make_user(services, "flags")
    r = await attempt(client, "flags", PASSWORD)
    cookies = r.headers.get_list("set-cookie")
    session = session_cookie(r)
    assert "HttpOnly" in session and "SameSite=lax" in session and "Path=/" in session
    csrf = next(c for c in cookies if c.startswith("webgate_csrf="))
    assert "SameSite=strict" in csrf and "HttpOnly" not in csrf  # the SPA reads it; SameSite keeps it home


class TestBehindHttps:
    @pytest.fixture
    def settings(self, settings):
        return settings.with_(public_url="https://gate.example.test")

    async def test_cookies_are_secure(self, client, services):
        await make_user(services, "flags")
        r = await attempt(client, "flags", PASSWORD)
        for cookie in r.headers.get_list("set-cookie"):
            assert "Secure" in cookie, cookie


async def test_logout_revokes_the_session_on_the_server(make_client, services):
    await make_user(services, "leaver")
    browser = make_client()
    await login(browser, "leaver")
    stolen = browser.cookies[SESSION_COOKIE]
    assert (await browser.post(f"{API}/auth/logout")).status_code == 204
    thief = make_client()
    plant(thief, stolen)
    assert (await thief.get(ME)).status_code == 401


async def test_password_change_revokes_every_other_session(make_client, services):
    await make_user(services, "changer")
    here, elsewhere = make_client(), make_client()
    await login(here, "changer")
    await login(elsewhere, "changer")
    r = await here.post(f"{API}/auth/password", json={"old_password": PASSWORD, "new_password": "Brand-New-Horse-5"})
    assert r.status_code == 204
    assert (await here.get(ME)).status_code == 200
    assert (await elsewhere.get(ME)).status_code == 401
    assert (await attempt(make_client(), "changer", PASSWORD)).status_code == 401


async def _token_for(user: User, org, role: str = "OrgAdmin") -> str:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(24)
    await ApiToken.create(org=org, name=f"{user.username}-token", token_hash=token_hash(raw), prefix=raw[:8],
                          user=user, role=await Role.get(org_id=None, name=role))
    return raw


async def test_password_change_revokes_the_users_api_tokens(make_client, services, default_org):
    user = await make_user(services, "integrator", role="OrgAdmin")
    raw = await _token_for(user, default_org)
    bearer = {"Authorization": f"Bearer {raw}"}
    browser = make_client()
    assert (await browser.get(ME, headers=bearer)).status_code == 200
    await login(browser, "integrator")
    r = await browser.post(f"{API}/auth/password", json={"old_password": PASSWORD, "new_password": "Brand-New-Horse-5"})
    assert r.status_code == 204
    assert (await make_client().get(ME, headers=bearer)).status_code == 401


async def test_a_token_never_outlives_its_owners_role_or_membership(make_client, services, default_org):
    user = await make_user(services, "demoted", role="OrgAdmin")
    raw = await _token_for(user, default_org)
    bearer = {"Authorization": f"Bearer {raw}"}
    browser = make_client()
    assert (await browser.get(f"{API}/dashboard", headers=bearer)).status_code == 200
    await Membership.filter(user_id=user.id).update(role_id=(await Role.get(org_id=None, name="User")).id)
    r = await browser.get(f"{API}/dashboard", headers=bearer)
    assert r.status_code == 403, "the token kept OrgAdmin powers after its owner was demoted"
    await Membership.filter(user_id=user.id).delete()
    assert (await browser.get(ME, headers=bearer)).status_code == 401
