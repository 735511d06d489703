"""In real Chromium: an admin defines a RemoteApp applet on the Applets page, a mistake is explained."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, ARTIFACTS
from tests.e2e.test_foundation_flow import api_login, ui_password_step

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_admin_defines_a_chromium_applet_with_login_autofill(live_server, browser):
    base = live_server.url
    page = browser.new_page()
    ui_password_step(page, base, "admin", ADMIN_PASSWORD)
    page.get_by_test_id("nav-applets").click()
    page.wait_for_url("**/admin/applets")
    page.get_by_test_id("crud-create").click()
    help_text = page.get_by_test_id("field-arguments").inner_text()
    assert "{url}" in help_text and "{password_file}" in help_text, help_text  # placeholders shown literally
    page.get_by_test_id("form-name").fill("Intranet browser")
    page.get_by_test_id("form-submit").click()
    # No program yet: the server's sentence appears under the field.
    error = page.get_by_test_id("field-program").locator(".el-form-item__error")
    error.wait_for()
    assert "program" in error.inner_text().lower()
    page.get_by_test_id("form-program").fill("chromium")
    page.get_by_test_id("form-autofill_username").fill("#user")
    page.get_by_test_id("form-autofill_password").fill("input[type=password]")
    page.get_by_test_id("form-submit").click()
    page.get_by_test_id("applets-table").get_by_text("Intranet browser").wait_for()
    page.get_by_test_id("crud-dialog").wait_for(state="hidden")
    page.screenshot(path=str(ARTIFACTS / "applets-page.png"))
    admin = api_login(base, "admin", ADMIN_PASSWORD)
    [applet] = admin.get("/applets").json()["items"]
    assert applet["program"] == "chromium" and applet["asset_platforms"] == ["website"]
    assert applet["protocol"] == "https" and applet["kind"] == "linux"
    assert applet["autofill"] == {"username": "#user", "password": "input[type=password]"}
