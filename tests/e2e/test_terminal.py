"""In real Chromium: log in, connect to an SSH asset (a real sshd), type, read the screen, resize, end.

The gateway is ``webgate serve`` in a subprocess; the sshd listens on loopback, which
the target address policy refuses unless the operator allows it, so the server gets
``WEBGATE_ALLOW_TARGETS=127.0.0.0/8`` like a lab deployment would.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable

import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, ARTIFACTS, LiveServer
from tests.e2e.test_foundation_flow import api_login, ui_password_step
from tests.peers import sshd as sshd_peer
from tests.peers.sshd import SshPeer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
sshd = sshd_peer.sshd  # the fixture
ALICE_PASSWORD = "Wonder-Land-2026!"
ROWS = '[data-testid="terminal"] .xterm-rows'


def screen_lines(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The terminal's visible rows as text (xterm's DOM renderer; its spaces are no-break spaces)."""
    rows = page.eval_on_selector(ROWS, "el => Array.from(el.children, r => r.textContent)")
    return [r.replace("\xa0", " ").rstrip() for r in rows]


def wait_screen(page, test: Callable[[list[str]], bool], what: str, timeout: float = 15) -> list[str]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        lines = screen_lines(page)
        if test(lines):
            return lines
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not on screen:\n" + "\n".join(lines))
        page.wait_for_timeout(100)


def stty_size(page, marker: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Run ``stty size`` behind a marker and read the answer off the screen."""
    page.keyboard.type(f"echo {marker}-$(stty size | tr ' ' x)")
    page.keyboard.press("Enter")
    pattern = re.compile(rf"^{marker}-(\d+)x(\d+)$")
    lines = wait_screen(page, lambda ls: any(pattern.match(line) for line in ls), marker)
    match = next(m for m in map(pattern.match, lines) if m)
    return int(match.group(1)), int(match.group(2))


def test_ssh_terminal_in_the_browser(terminal_server: LiveServer, browser, sshd: SshPeer) -> None:  # type: ignore[no-untyped-def]
    base = terminal_server.url
    admin = api_login(base, "admin", ADMIN_PASSWORD)
    user_role = next(r for r in admin.get("/roles").json()["items"] if r["name"] == "User")
    r = admin.post("/users", json={"username": "alice", "name": "Alice", "password": ALICE_PASSWORD,
                                   "role_ids": [user_role["id"]]})
    assert r.status_code in (200, 201), r.text
    asset = admin.post("/assets", json={"name": "ssh-e2e", "address": "127.0.0.1", "platform": "linux",
                                        "protocols": [{"name": "ssh", "port": sshd.port}]}).json()
    admin.post("/accounts", json={"asset_id": asset["id"], "name": "ops", "username": sshd.password_user,
                                  "secret_type": "password", "secret": sshd.password}).raise_for_status()
    admin.post("/permissions", json={"name": "alice-ssh", "user_ids": [r.json()["id"]], "asset_ids": [asset["id"]],
                                     "accounts": ["ops"], "protocols": ["ssh"], "actions": ["connect"]}
               ).raise_for_status()

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    ui_password_step(page, base, "alice", ALICE_PASSWORD)
    page.get_by_test_id("asset-row").filter(has_text="ssh-e2e").get_by_test_id("connect-ssh").click()
    page.locator('.wg-term[data-state="open"]').wait_for(timeout=20000)
    page.get_by_test_id("terminal").click()

    page.keyboard.type("echo webgate-$((6*7))")
    page.keyboard.press("Enter")
    wait_screen(page, lambda ls: "webgate-42" in ls, "webgate-42")

    # What an input method produces: composed text arriving in one go, not as key presses.
    page.keyboard.insert_text("echo 你好")
    page.keyboard.press("Enter")
    wait_screen(page, lambda ls: "你好" in ls, "你好")

    rows_before, cols_before = stty_size(page, "size1")
    page.set_viewport_size({"width": 1000, "height": 650})
    rows_after, cols_after = rows_before, cols_before
    deadline = time.monotonic() + 10
    while (rows_after, cols_after) == (rows_before, cols_before) and time.monotonic() < deadline:
        page.wait_for_timeout(300)  # the fit addon follows the window; the gateway passes the new size on
        rows_after, cols_after = stty_size(page, f"size{int(time.monotonic() * 1000)}")
    assert cols_after < cols_before and rows_after < rows_before, (rows_before, cols_before, rows_after, cols_after)
    page.screenshot(path=str(ARTIFACTS / "e2e-terminal.png"))

    page.keyboard.type("exit 3")
    page.keyboard.press("Enter")
    banner = page.get_by_test_id("terminal-banner")
    banner.wait_for(timeout=15000)
    assert banner.get_attribute("data-reason") == "target_exited"
    assert banner.inner_text().strip()
    assert page.get_by_test_id("terminal-reconnect").is_visible()
    page.screenshot(path=str(ARTIFACTS / "e2e-terminal-ended.png"))

    rows = admin.get("/sessions").json()["items"]
    assert [(s["username"], s["end_reason"], s["has_recording"]) for s in rows] == [("alice", "target_exited", True)]

    page.get_by_test_id("terminal-reconnect").click()  # a new session on the same asset and account
    page.locator('.wg-term[data-state="open"]').wait_for(timeout=20000)
    page.get_by_test_id("terminal").click()
    page.keyboard.type("echo again-$((6*7))")
    page.keyboard.press("Enter")
    wait_screen(page, lambda ls: "again-42" in ls, "again-42")

    # A clean stop of the gateway (SIGTERM, as systemd or docker stop sends): the tab says why and offers Reconnect.
    assert terminal_server.proc is not None
    terminal_server.proc.send_signal(signal.SIGTERM)
    banner.wait_for(timeout=15000)
    assert banner.get_attribute("data-reason") == "gateway_shutdown"
    assert page.get_by_test_id("terminal-reconnect").is_visible()
    page.screenshot(path=str(ARTIFACTS / "e2e-terminal-gateway-restart.png"))
    assert terminal_server.proc.wait(20) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once done
