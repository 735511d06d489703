"""In real Chromium: an RDP desktop (xrdp) through the gateway and guacd 1.3.0.

What a person sees and does: the desktop follows the window (RDP display update), files
go up into the shared "webgate" drive with a progress row, and the drive can be browsed
and a file downloaded from it. (guacd pushes files the remote side writes into the
drive's Download folder too; that needs xrdp's FUSE drive mapping, not tested here.)
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

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
from tests.peers.xrdp import RdpPeer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCREEN_SIZE = """() => {
  const d = document.querySelector('[data-testid="desktop-display"] .wg-desk-screen > div')
  const v = document.querySelector('[data-testid="desktop-display"]')
  return {w: d.offsetWidth, h: d.offsetHeight, vw: v.clientWidth, vh: v.clientHeight}
}"""


@pytest.fixture
def rdp_server(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, guacd_port: int) -> LiveServer:
    return serve_desktops(monkeypatch, request, guacd_port)


def _setup(admin: httpx.Client, rdp: RdpPeer, actions: list[str]) -> str:
    asset_id = add_asset(admin, {"name": "win-e2e", "address": "127.0.0.1", "platform": "windows",
                                 "protocols": [{"name": "rdp", "port": rdp.port}],
                                 "extra": {"rdp_ignore_cert": True}},  # xrdp's certificate is self-signed
                         "rdp", rdp.user, rdp.password)
    grant_alice(admin, make_alice(admin), [asset_id], "rdp", "rdp", actions)
    return asset_id


def _wait_open(page) -> None:  # type: ignore[no-untyped-def]
    """The first frame, or the end banner's words as the failure."""
    try:
        page.locator(f'{PANEL}[data-state="open"], {PANEL}[data-state="ended"]').wait_for(timeout=30000)
    finally:
        page.screenshot(path=str(ARTIFACTS / "e2e-desktop-rdp-opening.png"))
    error = page.get_by_test_id("desktop-error").filter(visible=True)
    if error.count():
        page.screenshot(path=str(ARTIFACTS / "e2e-desktop-rdp-failed.png"))
        raise AssertionError(f"the desktop did not open: {error.get_attribute('data-reason')}: {error.inner_text()}")


def _desktop_page(browser, base: str, asset_id: str, **options: object):  # type: ignore[no-untyped-def]
    """alice, logged in, on the RDP desktop opened by a deep link, once its first picture is drawn."""
    page = browser.new_page(**options)
    ui_password_step(page, base, "alice", ALICE_PASSWORD)
    page.get_by_test_id("nav-assets").wait_for()  # logged in
    page.goto(f"{base}/connect?asset={asset_id}&protocol=rdp&account=rdp")
    _wait_open(page)
    wait_drawn(page, timeout=30)
    return page


def _until(what: str, test, timeout: float = 20):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = test()
        if value:
            return value
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_rdp_desktop_resizes_and_moves_files(rdp_server: LiveServer, browser, xrdp: RdpPeer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin = api_login(rdp_server.url, "admin", ADMIN_PASSWORD)
    page = _desktop_page(browser, rdp_server.url, _setup(admin, xrdp, ["connect", "upload", "download"]),
                         viewport={"width": 1300, "height": 860}, accept_downloads=True)

    # The remote desktop has the size of the box it is shown in (no scaling needed).
    first = page.evaluate(SCREEN_SIZE)
    assert abs(first["w"] - first["vw"]) <= 2 and abs(first["h"] - first["vh"]) <= 2, first
    page.set_viewport_size({"width": 1000, "height": 700})
    resized = _until("the desktop to follow the window", lambda: (
        s := page.evaluate(SCREEN_SIZE)) and s["w"] < first["w"] and abs(s["w"] - s["vw"]) <= 2 and s)
    assert resized["h"] < first["h"], resized
    page.screenshot(path=str(ARTIFACTS / "e2e-desktop-rdp.png"))

    # Upload into the shared drive, with a progress row that ends "done".
    session_id = _until("the session row", lambda: next(
        (s["id"] for s in admin.get("/sessions").json()["items"] if s["status"] == "live"), None))
    drive = tmp_path / "spool" / "drive" / session_id
    page.get_by_test_id("desktop-files").click()
    payload = tmp_path / "report.txt"
    payload.write_bytes(b"quarterly numbers\n" * 4000)  # ~72 KB: several acknowledged chunks
    page.get_by_test_id("desktop-files-input").set_input_files(str(payload))
    row = page.get_by_test_id("desktop-transfer").filter(has_text="report.txt")
    _until("the upload to finish", lambda: row.get_attribute("data-state") in ("done", "failed"))
    assert row.get_attribute("data-state") == "done"
    _until("the file on the drive", lambda: (drive / "report.txt").is_file()
           and (drive / "report.txt").read_bytes() == payload.read_bytes(), timeout=5)

    # The drive's listing shows it; clicking downloads it back.
    page.get_by_test_id("desktop-drive-refresh").click()
    entry = page.get_by_test_id("desktop-drive-entry").filter(has_text="report.txt")
    entry.wait_for(timeout=10000)
    with page.expect_download(timeout=20000) as got:
        entry.click()
    assert Path(got.value.path()).read_bytes() == payload.read_bytes()

    page.screenshot(path=str(ARTIFACTS / "e2e-desktop-rdp-files.png"))


def test_rdp_clipboard_both_ways(rdp_server: LiveServer, browser, xrdp: RdpPeer) -> None:  # type: ignore[no-untyped-def]
    admin = api_login(rdp_server.url, "admin", ADMIN_PASSWORD)
    page = _desktop_page(browser, rdp_server.url, _setup(admin, xrdp, ["connect", "copy", "paste"]),
                         viewport={"width": 1200, "height": 800}, has_touch=True)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=rdp_server.url)
    assert page.get_by_test_id("desktop-files").count() == 0  # neither upload nor download granted

    # Browser → desktop: two lines typed into the panel, pasted into the xterm with Shift+Insert.
    tag = str(int(time.time() * 1000))
    page.get_by_test_id("desktop-clipboard").click()
    page.get_by_test_id("desktop-clipboard-text").fill(f"touch ~/one-{tag}\ntouch ~/two-{tag}")
    page.get_by_test_id("desktop-clipboard-send").click()
    page.wait_for_timeout(700)  # xrdp announces the new clipboard to X first
    # No window manager on the test desktop: keys go to the X window under the pointer, the xterm.
    screen = page.locator('[data-testid="desktop-display"] .wg-desk-screen > div')
    screen.click(position={"x": 100, "y": 60})
    page.keyboard.press("Shift+Insert")
    page.wait_for_timeout(1000)  # X asks xrdp, xrdp asks guacd: the paste is asynchronous
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "e2e-desktop-rdp-pasted.png"))
    _until("both pasted lines to run", lambda: (xrdp.home / f"one-{tag}").exists() and (xrdp.home / f"two-{tag}").exists())

    # Desktop → browser: a double-click on the prompt's first word copies it (xterm selectToClipboard).
    page.get_by_test_id("desktop-clipboard-text").fill("")
    box = screen.bounding_box()
    assert box is not None
    page.mouse.dblclick(box["x"] + 20, box["y"] + 8)
    text = page.get_by_test_id("desktop-clipboard-text")
    _until("the desktop's copy in the panel", lambda: xrdp.user in text.input_value(), timeout=10)
    # In a secure context (here: loopback) the browser's own clipboard gets it too.
    _until("the copy in the browser's clipboard", lambda: page.evaluate("navigator.clipboard.readText()")
           == text.input_value(), timeout=5)

    # On a tablet: a double tap on the second line's first word ("touch") selects and copies it too.
    # Two taps make a double click only when they come close enough together; on a loaded
    # machine the browser may space them out, so a tablet user's second try is allowed too.
    for attempt in range(3):
        text.fill("")
        for _ in range(2):
            page.touchscreen.tap(box["x"] + 12, box["y"] + 21)
        try:
            _until("the tapped word in the panel", lambda: text.input_value() == "touch", timeout=6)
            break
        except AssertionError:
            if attempt == 2:
                raise
    page.screenshot(path=str(ARTIFACTS / "e2e-desktop-rdp-clipboard.png"))
