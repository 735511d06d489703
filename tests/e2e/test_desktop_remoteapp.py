"""In real Chromium: "Open with Chromium" on a website asset runs that one program on the
app host (its own Xvnc) and shows its window in a desktop tab, through guacd 1.3.0.

The person clicks Connect on the website, the dialog offers the applet, one click opens
the tab, and the window shows the site (a page on loopback painted one known colour).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import peer_missing
from tests.e2e.conftest import ADMIN_PASSWORD, ARTIFACTS, LiveServer
from tests.e2e.test_desktop import (
    ALICE_PASSWORD,
    PANEL,
    add_asset,
    grant_alice,
    make_alice,
    serve_desktops,
    wait_drawn,
)
from tests.e2e.test_foundation_flow import api_login, ui_password_step

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PAGE = b"""<!doctype html><html><body style="margin:0;background:rgb(255,0,170)">
<h1 style="font-size:64px;color:#fff">webgate applet page</h1></body></html>"""

HAS_PAGE_COLOUR = """() => {
  for (const c of document.querySelectorAll('[data-testid="desktop-display"] canvas')) {
    if (c.width < 100 || c.height < 100) continue
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
    let hits = 0
    for (let i = 0; i < d.length; i += 4 * 13) if (d[i] > 240 && d[i + 1] < 20 && d[i + 2] > 150 && d[i + 2] < 190) hits++
    if (hits > 500) return true
  }
  return false
}"""


@pytest.fixture
def site_port() -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture
def app_server(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, guacd_port: int) -> LiveServer:
    for binary in ("Xvnc", "chromium"):
        if shutil.which(binary) is None:
            peer_missing(binary)
    return serve_desktops(monkeypatch, request, guacd_port)


def test_open_a_website_with_an_applet(app_server: LiveServer, browser, site_port: int) -> None:  # type: ignore[no-untyped-def]
    base = app_server.url
    admin = api_login(base, "admin", ADMIN_PASSWORD)
    alice = make_alice(admin)
    asset_id = add_asset(admin, {"name": "intranet", "address": f"http://127.0.0.1:{site_port}/", "platform": "website",
                                 "protocols": [{"name": "http", "port": site_port}]}, "web", "alice-web", "Web-Pass-1")
    applet = admin.post("/applets", json={"name": "Chromium", "asset_platforms": ["website"], "protocol": "http",
                                          "kind": "linux", "program": "chromium", "icon": "chromium"})
    assert applet.status_code in (200, 201), applet.text
    grant_alice(admin, alice, [asset_id], "web", "http", ["connect"])

    page = browser.new_page(viewport={"width": 1300, "height": 860})
    ui_password_step(page, base, "alice", ALICE_PASSWORD)
    page.get_by_test_id("asset-row").filter(has_text="intranet").get_by_test_id("connect-http").click()
    dialog = page.get_by_test_id("connect-dialog")
    dialog.wait_for()
    open_with = page.get_by_test_id(f"connect-applet-{applet.json()['id']}")
    assert "Open with Chromium" in open_with.inner_text()
    open_with.click()

    panel = page.locator(PANEL)
    panel.wait_for(timeout=10000)
    assert page.get_by_test_id("workspace-tab-remoteapp").inner_text().strip() == "intranet · Chromium"
    page.locator(f'{PANEL}[data-state="open"]').wait_for(timeout=40000)
    wait_drawn(page, timeout=40)
    deadline_ms = 40000
    while not page.evaluate(HAS_PAGE_COLOUR):
        assert deadline_ms > 0, "the site's page is not in the window"
        page.wait_for_timeout(250)
        deadline_ms -= 250
    page.screenshot(path=str(ARTIFACTS / "e2e-desktop-remoteapp.png"))

    rows = admin.get("/sessions").json()["items"]
    assert [(s["protocol"], s["status"]) for s in rows] == [("remoteapp", "live")]

    # A link straight to the applet (a reload: the first tab's session ends, a new one opens).
    page.goto(f"{base}/connect?asset={asset_id}&protocol=remoteapp&applet={applet.json()['id']}&account=web")
    page.locator(f'{PANEL}[data-state="open"]').wait_for(timeout=40000)
    assert page.get_by_test_id("workspace-tab-remoteapp").inner_text().strip() == "intranet · Chromium"
    page.goto(f"{base}/connect?asset={asset_id}&protocol=remoteapp&applet=00000000-0000-0000-0000-000000000000")
    assert "not offered" in page.get_by_test_id("connect-error").inner_text()
