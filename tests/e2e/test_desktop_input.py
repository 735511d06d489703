"""In real Chromium: a VNC desktop with a typed (@INPUT) password, through the gateway, guacd and Xvnc.

The Connect dialog takes the login first and the desktop tab sends it when the gateway
asks; a refused one is reported in words, and Reconnect shows the tab's own login form
(VNC: a password only) instead of sending the refused password again.
"""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, ARTIFACTS, LiveServer
from tests.e2e.test_desktop import ALICE_PASSWORD, PANEL, make_alice, serve_desktops, wait_drawn
from tests.e2e.test_foundation_flow import api_login, ui_password_step
from tests.peers.desktop import VNC_PASSWORD, Desktop

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def desktop_server(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, desktop: Desktop) -> LiveServer:
    return serve_desktops(monkeypatch, request, desktop.guacd_port)


def _setup(admin: httpx.Client, desktop: Desktop) -> None:
    alice = make_alice(admin)
    r = admin.post("/assets", json={"name": "desk-typed", "address": "127.0.0.1", "platform": "linux",
                                    "protocols": [{"name": "vnc", "port": desktop.vnc_port}]})
    assert r.status_code in (200, 201), r.text
    admin.post("/permissions", json={"name": "alice-typed", "user_ids": [alice], "asset_ids": [r.json()["id"]],
                                     "accounts": ["@INPUT"], "protocols": ["vnc"], "actions": ["connect"]}
               ).raise_for_status()


def test_a_typed_vnc_password_wrong_then_right(desktop_server: LiveServer, browser, desktop: Desktop) -> None:  # type: ignore[no-untyped-def]
    base = desktop_server.url
    admin = api_login(base, "admin", ADMIN_PASSWORD)
    _setup(admin, desktop)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    ui_password_step(page, base, "alice", ALICE_PASSWORD)

    page.get_by_test_id("asset-row").filter(has_text="desk-typed").get_by_test_id("connect-vnc").click()
    page.get_by_test_id("manual-username").fill("alice")
    page.get_by_test_id("manual-password").fill("not-the-password")
    page.get_by_test_id("connect-confirm").click()
    error = page.get_by_test_id("desktop-error").filter(visible=True)
    error.wait_for(timeout=20000)
    assert error.get_attribute("data-reason") == "wrong_password"
    assert "wrong password" in error.inner_text()

    # Reconnect: the tab asks again, in its own form, for the password only (VNC has no user name).
    page.get_by_test_id("desktop-reconnect").filter(visible=True).click()
    form = page.get_by_test_id("desktop-login").filter(visible=True)
    form.wait_for(timeout=15000)
    assert page.locator(f'{PANEL}[data-state="credentials"]').count() == 1
    assert form.get_by_test_id("desktop-login-username").count() == 0
    assert "Waiting for your login" in page.get_by_test_id("desktop-status").filter(visible=True).inner_text()
    assert "does not keep it" in form.inner_text()
    submit = form.get_by_test_id("desktop-login-submit")
    assert submit.is_disabled()
    form.get_by_test_id("desktop-login-password").fill(VNC_PASSWORD)
    page.screenshot(path=str(ARTIFACTS / "e2e-desktop-typed-login.png"))
    submit.click()
    page.locator(f'{PANEL}[data-state="open"]').wait_for(timeout=20000)
    wait_drawn(page)
    assert page.get_by_test_id("desktop-login").count() == 0

    rows = admin.get("/sessions").json()["items"]
    assert sorted((s["status"], s["end_reason"] or "") for s in rows) == [("ended", "login_failed"), ("live", "")]
    assert VNC_PASSWORD not in str(rows) and "not-the-password" not in str(rows)
    assert errors == [], errors
