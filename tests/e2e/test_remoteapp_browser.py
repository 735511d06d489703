"""In real Chromium: a person opens a website asset "with Chromium" and lands on it signed in.

``webgate serve`` (a subprocess) is the app host: for the session it starts Xvnc and a kiosk
Chromium at the test's login page, which its DevTools pipe fills in; guacd 1.3.0 shows the
display in the person's browser. Asserted: the "Open with" choice in the connect dialog, the
tab connected, the site receiving the account's login (never typed or
seen by the person), and what the person types in the tab reaching the site.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, ARTIFACTS, LiveServer
from tests.e2e.test_desktop import PANEL
from tests.e2e.test_foundation_flow import api_login, ui_password_step
from tests.integration.test_remoteapp import WEB_SECRET_TEXT, LoginSite

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ALICE_PASSWORD = "Wonder-Land-2026!"  # noqa: S105 - a throwaway test user


@pytest.fixture
def app_server(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, guacd_port: int) -> LiveServer:
    monkeypatch.setenv("WEBGATE_ALLOW_TARGETS", "127.0.0.0/8")
    monkeypatch.setenv("WEBGATE_GUACD", f"127.0.0.1:{guacd_port}")
    monkeypatch.setenv("WEBGATE_APP_HOSTS", "local")
    return request.getfixturevalue("live_server")  # type: ignore[no-any-return]


def _wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_open_a_website_with_chromium_signed_in_by_the_gateway(app_server: LiveServer, browser) -> None:  # type: ignore[no-untyped-def]
    site = LoginSite()
    try:
        admin = api_login(app_server.url, "admin", ADMIN_PASSWORD)
        user_role = next(r for r in admin.get("/roles").json()["items"] if r["name"] == "User")
        alice = admin.post("/users", json={"username": "alice", "name": "Alice", "password": ALICE_PASSWORD,
                                           "role_ids": [user_role["id"]]}).json()
        asset = admin.post("/assets", json={"name": "intranet", "address": f"http://127.0.0.1:{site.port}/login",
                                            "platform": "website",
                                            "protocols": [{"name": "http", "port": site.port}]}).json()
        admin.post("/accounts", json={"asset_id": asset["id"], "name": "web", "username": "alice-web",
                                      "secret_type": "password", "secret": WEB_SECRET_TEXT}).raise_for_status()
        applet = admin.post("/applets", json={"name": "Chromium", "icon": "chromium", "asset_platforms": ["website"],
                                              "protocol": "http", "program": "chromium",
                                              "autofill": {"username": "#user", "password": "#pass",
                                                           "submit": "#go"}}).json()
        admin.post("/permissions", json={"name": "alice-web", "user_ids": [alice["id"]], "asset_ids": [asset["id"]],
                                         "accounts": ["web"], "protocols": ["http"], "actions": ["connect"]}
                   ).raise_for_status()

        page = browser.new_page(viewport={"width": 1400, "height": 900})
        ui_password_step(page, app_server.url, "alice", ALICE_PASSWORD)
        page.get_by_test_id("asset-row").filter(has_text="intranet").get_by_test_id("connect-http").click()
        page.get_by_test_id(f"connect-applet-{applet['id']}").click()
        page.locator(f'{PANEL}[data-state="open"]').wait_for(timeout=30000)
        _wait_for(lambda: bool(site.received), 40, "the gateway to sign in to the site")
        assert site.received[0] == {"user": ["alice-web"], "pass": [WEB_SECRET_TEXT]}
        status = page.get_by_test_id("desktop-status").filter(visible=True)
        assert "Connected" in status.inner_text()
        assert WEB_SECRET_TEXT not in page.content()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(ARTIFACTS / "e2e-remoteapp-signed-in.png"))

        display = page.get_by_test_id("desktop-display").filter(visible=True)
        display.click()
        page.keyboard.type("hi")
        page.keyboard.press("Enter")
        _wait_for(lambda: "/typed?q=hi" in site.paths, 20, "the typed text to reach the site")
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "e2e-remoteapp-typed.png"))
    finally:
        site.server.shutdown()
