"""In real Chromium: MFA enrolment, login with a code, and seeing exactly the permitted assets."""

from __future__ import annotations

import time

import httpx
import pyotp
import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, ARTIFACTS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ALICE_PASSWORD = "Wonder-Land-2026!"


def api_login(base: str, username: str, password: str) -> httpx.Client:
    c = httpx.Client(base_url=base + "/api/v1", timeout=10)
    r = c.post("/auth/login", json={"username": username, "password": password})
    r.raise_for_status()
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


def ui_password_step(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/login")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()


def fresh_code(secret: str, after: str | None = None) -> str:
    """The current TOTP code, waiting for the next window if it equals one already used."""
    totp = pyotp.TOTP(secret)
    code = totp.now()
    while code == after:
        time.sleep(1)
        code = totp.now()
    return code


def test_mfa_enrolment_login_and_permitted_assets(live_server, browser):
    base = live_server.url
    admin = api_login(base, "admin", ADMIN_PASSWORD)
    me = admin.get("/auth/me").json()
    user_role = next(r for r in admin.get("/roles").json()["items"] if r["name"] == "User")
    r = admin.post("/users", json={"username": "alice", "name": "Alice", "password": ALICE_PASSWORD,
                                   "mfa_required": True, "role_ids": [user_role["id"]]})
    assert r.status_code in (200, 201), r.text
    alice_id = r.json()["id"]
    node = admin.post("/nodes", json={"name": "Web", "parent_id": None}).json()
    visible = admin.post("/assets", json={"name": "web-01", "address": "10.0.0.5", "platform": "linux",
                                          "protocols": [{"name": "ssh", "port": 22}], "node_ids": [node["id"]]}).json()
    admin.post("/assets", json={"name": "db-secret", "address": "10.0.0.9", "platform": "linux",
                                "protocols": [{"name": "ssh", "port": 22}]}).raise_for_status()
    admin.post("/accounts", json={"asset_id": visible["id"], "name": "root", "username": "root",
                                  "secret_type": "password", "secret": "s3cr3t-root"}).raise_for_status()
    r = admin.post("/permissions", json={"name": "alice-web", "user_ids": [alice_id], "node_ids": [node["id"]],
                                         "accounts": ["root"], "protocols": ["ssh"], "actions": ["connect"]})
    assert r.status_code in (200, 201), r.text
    assert me["user"]["is_superadmin"]

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    # First login: MFA is required, so the user enrols with the QR code's secret.
    ui_password_step(page, base, "alice", ALICE_PASSWORD)
    page.get_by_test_id("mfa-qr").wait_for()
    secret = page.get_by_test_id("mfa-secret").inner_text().replace(" ", "").strip()
    first = fresh_code(secret)
    page.get_by_test_id("mfa-code").fill(first)
    page.get_by_test_id("mfa-submit").click()
    page.get_by_test_id("recovery-codes").wait_for()
    assert page.get_by_test_id("recovery-codes").locator("li").count() == 10
    page.get_by_test_id("recovery-saved").click()
    page.get_by_test_id("recovery-continue").click()
    page.get_by_test_id("asset-list").wait_for()
    page.get_by_test_id("asset-row").filter(has_text="web-01").wait_for()
    assert page.get_by_test_id("asset-row").filter(has_text="db-secret").count() == 0
    page.screenshot(path=str(ARTIFACTS / "e2e-my-assets-after-enrolment.png"))

    # Second login in a new browser: password, then a (new) TOTP code.
    page2 = browser.new_context().new_page()
    ui_password_step(page2, base, "alice", ALICE_PASSWORD)
    page2.get_by_test_id("mfa-code").wait_for()
    page2.get_by_test_id("mfa-code").fill(fresh_code(secret, after=first))
    page2.get_by_test_id("mfa-submit").click()
    row = page2.get_by_test_id("asset-row").filter(has_text="web-01")
    row.wait_for()
    assert row.get_by_test_id("connect-ssh").is_visible()
    assert page2.get_by_test_id("nav-users").count() == 0, "a plain user sees no admin menu"

    # The admin grants one more asset in the same node: it appears without any other change.
    admin.post("/assets", json={"name": "web-02", "address": "10.0.0.6", "platform": "linux",
                                "protocols": [{"name": "ssh", "port": 22}], "node_ids": [node["id"]]}).raise_for_status()
    page2.get_by_test_id("assets-refresh").click()
    page2.get_by_test_id("asset-row").filter(has_text="web-02").wait_for()
    page2.screenshot(path=str(ARTIFACTS / "e2e-my-assets-second-login.png"))


def test_wrong_password_shows_a_sentence_not_a_code(live_server, browser):
    page = browser.new_page()
    ui_password_step(page, live_server.url, "admin", "wrong-password")
    error = page.get_by_test_id("login-error")
    error.wait_for()
    assert "Wrong username or password" in error.inner_text()
