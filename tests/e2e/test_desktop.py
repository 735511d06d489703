"""In real Chromium: a VNC desktop through the gateway, guacd 1.3.0 and Xvnc, drawn by guacamole-common-js.

The gateway is ``webgate serve`` in a subprocess pointed at the test's guacd; Xvnc
listens on loopback (allowed like a lab deployment would: ``WEBGATE_ALLOW_TARGETS``).
What is asserted is what a person sees: the remote xterm's pixels on the canvas, the
status line, the buttons the permission allows (and only those), the key bar reaching
the remote side without breaking the session, and a wrong VNC password in words.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, ARTIFACTS, LiveServer
from tests.e2e.test_foundation_flow import api_login, ui_password_step
from tests.peers.desktop import VNC_PASSWORD, Desktop

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ALICE_PASSWORD = "Wonder-Land-2026!"  # noqa: S105 - a throwaway test user
PANEL = '[data-testid="desktop-panel"]:visible'

# Distinct colours and the share of non-background pixels over every layer canvas of the display.
CANVAS_STATS = """() => {
  const canvases = [...document.querySelectorAll('[data-testid="desktop-display"] canvas')]
  let best = {colors: 0, busy: 0, width: 0, height: 0}
  for (const c of canvases) {
    if (c.width < 100 || c.height < 100) continue
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
    const seen = new Set()
    let busy = 0
    const bg = d[0] + ',' + d[1] + ',' + d[2]
    for (let i = 0; i < d.length; i += 4 * 7) {
      const px = d[i] + ',' + d[i + 1] + ',' + d[i + 2]
      seen.add(px)
      if (px !== bg) busy++
    }
    if (seen.size > best.colors) best = {colors: seen.size, busy, width: c.width, height: c.height}
  }
  return best
}"""


def serve_desktops(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, guacd: int) -> LiveServer:
    """``webgate serve`` on the test's guacd, loopback targets allowed (as a lab deployment would)."""
    monkeypatch.setenv("WEBGATE_ALLOW_TARGETS", "127.0.0.0/8")
    monkeypatch.setenv("WEBGATE_GUACD", f"127.0.0.1:{guacd}")
    return request.getfixturevalue("live_server")  # type: ignore[no-any-return]


def make_alice(admin: httpx.Client) -> str:
    """The person in the browser: a plain user; returns her id."""
    user_role = next(r for r in admin.get("/roles").json()["items"] if r["name"] == "User")
    r = admin.post("/users", json={"username": "alice", "name": "Alice", "password": ALICE_PASSWORD,
                                   "role_ids": [user_role["id"]]})
    assert r.status_code in (200, 201), r.text
    return str(r.json()["id"])


def add_asset(admin: httpx.Client, asset: dict[str, object], account: str, username: str, secret: str) -> str:
    r = admin.post("/assets", json=asset)
    assert r.status_code in (200, 201), r.text
    admin.post("/accounts", json={"asset_id": r.json()["id"], "name": account, "username": username,
                                  "secret_type": "password", "secret": secret}).raise_for_status()
    return str(r.json()["id"])


def grant_alice(admin: httpx.Client, alice: str, asset_ids: list[str], account: str, protocol: str,
                actions: list[str]) -> None:
    admin.post("/permissions", json={"name": f"alice-{protocol}", "user_ids": [alice], "asset_ids": asset_ids,
                                     "accounts": [account], "protocols": [protocol], "actions": actions}
               ).raise_for_status()


@pytest.fixture
def desktop_server(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, desktop: Desktop) -> LiveServer:
    return serve_desktops(monkeypatch, request, desktop.guacd_port)


def _setup(admin: httpx.Client, desktop: Desktop, actions: list[str]) -> None:
    """alice; desk-ok (right VNC password) and desk-bad (wrong one), both granted with ``actions``."""
    alice = make_alice(admin)
    asset_ids = [add_asset(admin, {"name": name, "address": "127.0.0.1", "platform": "linux",
                                   "protocols": [{"name": "vnc", "port": desktop.vnc_port}]}, "vnc", "vnc", secret)
                 for name, secret in (("desk-ok", VNC_PASSWORD), ("desk-bad", "not-the-password"))]
    grant_alice(admin, alice, asset_ids, "vnc", "vnc", actions)


def wait_drawn(page, timeout: float = 20) -> dict[str, int]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        stats: dict[str, int] = page.evaluate(CANVAS_STATS)
        # xterm's bitmap font on Xvnc: two colours (its background and text), lots of text pixels
        if stats["colors"] >= 2 and stats["busy"] > 1000:
            return stats
        if time.monotonic() > deadline:
            sizes = page.evaluate("""() => [...document.querySelectorAll(
                '[data-testid="desktop-display"] canvas')].map(c => c.width + 'x' + c.height)""")
            raise AssertionError(f"the remote desktop was not drawn: {stats}, canvases {sizes}")
        page.wait_for_timeout(200)


def _open(page, asset: str) -> None:  # type: ignore[no-untyped-def]
    if "/workspace" in page.url:
        page.get_by_test_id("nav-assets").click()  # in-app: a reload would close the open tabs
    page.get_by_test_id("asset-row").filter(has_text=asset).get_by_test_id("connect-vnc").click()


def test_vnc_desktop_in_the_browser(desktop_server: LiveServer, browser, desktop: Desktop) -> None:  # type: ignore[no-untyped-def]
    base = desktop_server.url
    admin = api_login(base, "admin", ADMIN_PASSWORD)
    _setup(admin, desktop, ["connect"])
    admin.patch("/settings", json={"watermark": {"enabled": True, "content": "{username} @ {asset}"}}
                ).raise_for_status()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.extend([m.text] if "Content Security Policy" in m.text else []))
    ui_password_step(page, base, "alice", ALICE_PASSWORD)

    _open(page, "desk-ok")
    page.locator(f'{PANEL}[data-state="open"]').wait_for(timeout=20000)
    stats = wait_drawn(page)
    # The gateway names the session and its watermark: the tiled text covers the display, clicks pass through.
    live = next(s for s in admin.get("/sessions").json()["items"] if s["status"] == "live")
    assert page.locator(PANEL).get_attribute("data-session-id") == live["id"]
    assert live["watermark"]["text"] == "alice @ desk-ok"
    mark = page.get_by_test_id("desktop-display").filter(visible=True).get_by_test_id("watermark")
    assert mark.evaluate("el => getComputedStyle(el).backgroundImage").startswith('url("data:image/png')
    assert mark.evaluate("el => getComputedStyle(el).pointerEvents") == "none"
    assert stats["width"] >= 800 and stats["height"] >= 600, stats  # Xvnc's geometry (layers grow in 64 px steps)
    status = page.get_by_test_id("desktop-status").filter(visible=True)
    assert status.get_attribute("data-state") == "open"
    assert "Connected" in status.inner_text()
    page.screenshot(path=str(ARTIFACTS / "e2e-desktop-vnc.png"))

    # Only what the permission grants: no clipboard, no files (VNC has no drive anyway).
    assert page.get_by_test_id("desktop-clipboard").count() == 0
    assert page.get_by_test_id("desktop-files").count() == 0
    # The keyboard belongs to the desktop only while it has focus.
    display = page.get_by_test_id("desktop-display").filter(visible=True)
    display.click()
    assert display.get_attribute("data-focused") == "true"
    page.keyboard.type("echo hi")
    # Keys the browser cannot send itself go through buttons; the gateway's allow-list passes them.
    cad = page.get_by_test_id("desktop-ctrl-alt-del").filter(visible=True)
    assert cad.is_enabled()
    cad.click()
    page.get_by_test_id("desktop-keys").filter(visible=True).click()
    page.get_by_test_id("desktop-key-f5").filter(visible=True).click()
    page.get_by_test_id("desktop-key-alt").filter(visible=True).click()
    assert page.get_by_test_id("desktop-key-alt").filter(visible=True).get_attribute("aria-pressed") == "true"
    page.get_by_test_id("desktop-key-alt").filter(visible=True).click()
    page.wait_for_timeout(1500)
    assert page.locator(f'{PANEL}[data-state="open"]').count() == 1, "the session ended after the key bar"
    assert page.get_by_test_id("desktop-error").count() == 0

    # Full screen is the whole panel (toolbar, key bar and display), and leaves the same way.
    page.get_by_test_id("desktop-fullscreen").filter(visible=True).click()
    page.wait_for_function("() => document.fullscreenElement?.dataset.testid === 'desktop-panel'")
    page.get_by_test_id("desktop-fullscreen").filter(visible=True).click()
    page.wait_for_function("() => !document.fullscreenElement")

    # A smaller window: the 800x600 screen is scaled down to fit.
    page.set_viewport_size({"width": 760, "height": 560})
    deadline = time.monotonic() + 10
    while True:
        shown = page.evaluate("""() => {
          const v = document.querySelector('[data-testid="desktop-display"]').getBoundingClientRect()
          const d = document.querySelector('[data-testid="desktop-display"] .wg-desk-screen > div').getBoundingClientRect()
          return {vw: v.width, vh: v.height, dw: d.width, dh: d.height}
        }""")
        if 0 < shown["dw"] <= shown["vw"] + 1 and 0 < shown["dh"] <= shown["vh"] + 1 and shown["dw"] < 800:
            break
        assert time.monotonic() < deadline, shown
        page.wait_for_timeout(200)
    page.screenshot(path=str(ARTIFACTS / "e2e-desktop-vnc-scaled.png"))
    page.set_viewport_size({"width": 1400, "height": 900})

    # A wrong VNC password, in words.
    _open(page, "desk-bad")
    error = page.get_by_test_id("desktop-error").filter(visible=True)
    error.wait_for(timeout=20000)
    assert error.get_attribute("data-reason") == "wrong_password"
    assert "wrong password" in error.inner_text()
    assert page.get_by_test_id("desktop-reconnect").filter(visible=True).is_visible()
    assert "Ended" in page.get_by_test_id("desktop-status").filter(visible=True).inner_text()
    page.screenshot(path=str(ARTIFACTS / "e2e-desktop-wrong-password.png"))
    # The same words in Chinese once the person switches language (the gateway's own sentence stays English).
    page.get_by_test_id("lang-switch").filter(visible=True).first.click()
    page.get_by_test_id("lang-zh-CN").click()
    page.wait_for_function("() => document.querySelector('[data-testid=\"desktop-error\"]:not([hidden])')"
                           "?.innerText.includes('密码错误')")
    page.screenshot(path=str(ARTIFACTS / "e2e-desktop-wrong-password-zh.png"))
    page.get_by_test_id("lang-switch").filter(visible=True).first.click()
    page.get_by_test_id("lang-en").click()

    rows = {s["asset_name"]: s for s in admin.get("/sessions").json()["items"]}
    assert rows["desk-bad"]["status"] == "ended" and rows["desk-bad"]["end_reason"] == "login_failed", rows["desk-bad"]
    assert rows["desk-ok"]["status"] == "live", rows["desk-ok"]

    # An admin ends the live one: its tab says so in words, and Reconnect opens a new session.
    page.get_by_test_id("workspace-tab-vnc").filter(has_text="desk-ok").click()
    admin.post(f"/sessions/{rows['desk-ok']['id']}/terminate").raise_for_status()
    error.wait_for(timeout=15000)
    assert error.get_attribute("data-reason") == "ended_by_admin"
    assert "ended by" in page.get_by_test_id("desktop-error-detail").filter(visible=True).inner_text()
    page.get_by_test_id("desktop-reconnect").filter(visible=True).click()
    page.locator(f'{PANEL}[data-state="open"]').wait_for(timeout=20000)
    wait_drawn(page)
    live = [s for s in admin.get("/sessions").json()["items"] if s["status"] == "live"]
    assert [s["asset_name"] for s in live] == ["desk-ok"] and live[0]["id"] != rows["desk-ok"]["id"]
    assert errors == [], errors  # no script error and nothing the CSP refused along the way


def test_clipboard_panel_when_permitted(desktop_server: LiveServer, browser, desktop: Desktop) -> None:  # type: ignore[no-untyped-def]
    base = desktop_server.url
    admin = api_login(base, "admin", ADMIN_PASSWORD)
    _setup(admin, desktop, ["connect", "copy", "paste"])
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    ui_password_step(page, base, "alice", ALICE_PASSWORD)
    page.get_by_test_id("nav-assets").wait_for()  # logged in
    page.goto(base + "/connect?asset=" + _asset_id(admin, "desk-ok") + "&protocol=vnc&account=vnc")  # deep link
    page.locator(f'{PANEL}[data-state="open"]').wait_for(timeout=20000)
    wait_drawn(page)

    page.get_by_test_id("desktop-clipboard").click()
    panel = page.get_by_test_id("desktop-clipboard-panel")
    assert panel.is_visible()
    page.get_by_test_id("desktop-clipboard-text").fill("first line\nsecond line 你好")
    page.get_by_test_id("desktop-clipboard-send").click()
    page.wait_for_timeout(1500)
    # The clipboard stream passed the gateway's allow-list: the session is still up.
    assert page.locator(f'{PANEL}[data-state="open"]').count() == 1
    assert page.get_by_test_id("desktop-error").count() == 0
    assert page.get_by_test_id("desktop-files").count() == 0  # no upload/download granted, and VNC has no drive
    page.screenshot(path=str(ARTIFACTS / "e2e-desktop-clipboard.png"))


def _asset_id(admin: httpx.Client, name: str) -> str:
    items = admin.get("/assets", params={"search": name}).json()["items"]
    return str(next(a["id"] for a in items if a["name"] == name))
