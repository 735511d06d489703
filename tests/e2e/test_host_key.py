"""In real Chromium: a changed SSH host key refuses the terminal, an admin compares and
accepts the new key on the Assets page, and the next connection works.

The "old" key is planted in the database as if the server had been reinstalled since the
first connection; the real sshd then presents its own (different) key.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import asyncssh
import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, ARTIFACTS, LiveServer
from tests.e2e.test_foundation_flow import api_login, ui_password_step
from tests.e2e.test_terminal import wait_screen
from tests.peers import sshd as sshd_peer
from tests.peers.sshd import SshPeer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
sshd = sshd_peer.sshd  # the fixture


def _plant_old_key(server: LiveServer, asset_id: str) -> str:
    old = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    fingerprint = asyncssh.import_public_key(old).get_fingerprint("sha256")
    db = Path(server.env["WEBGATE_DATA_DIR"]) / "webgate.sqlite3"
    with sqlite3.connect(db) as conn:
        entry = {"key": old, "fingerprint": fingerprint, "recorded_at": "2026-01-01T00:00:00+00:00"}
        conn.execute("UPDATE assets SET extra = ? WHERE id = ?", (json.dumps({"ssh_host_key": entry}), asset_id))
    return fingerprint


def test_admin_accepts_a_changed_host_key_in_the_ui(terminal_server: LiveServer, browser,  # type: ignore[no-untyped-def]
                                                     sshd: SshPeer) -> None:
    base = terminal_server.url
    admin = api_login(base, "admin", ADMIN_PASSWORD)
    asset = admin.post("/assets", json={"name": "rebuilt-01", "address": "127.0.0.1", "platform": "linux",
                                        "protocols": [{"name": "ssh", "port": sshd.port}]}).json()
    admin.post("/accounts", json={"asset_id": asset["id"], "name": "ops", "username": sshd.password_user,
                                  "secret_type": "password", "secret": sshd.password}).raise_for_status()
    me = admin.get("/auth/me").json()
    admin.post("/permissions", json={"name": "admin-ssh", "user_ids": [me["user"]["id"]],
                                     "asset_ids": [asset["id"]], "accounts": ["ops"], "protocols": ["ssh"],
                                     "actions": ["connect"]}).raise_for_status()
    old_fp = _plant_old_key(terminal_server, asset["id"])
    new_fp = asyncssh.import_public_key(sshd.host_key).get_fingerprint("sha256")

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    ui_password_step(page, base, "admin", ADMIN_PASSWORD)
    page.get_by_test_id("asset-row").filter(has_text="rebuilt-01").get_by_test_id("connect-ssh").click()
    banner = page.get_by_test_id("terminal-banner")
    banner.wait_for(timeout=20000)
    assert banner.get_attribute("data-reason") == "host_key_changed"

    page.goto(base + "/admin/assets")
    page.locator("tr", has_text="rebuilt-01").get_by_test_id("asset-host-key").click()
    dialog = page.get_by_test_id("host-key-dialog")
    dialog.get_by_test_id("host-key-presented").wait_for(timeout=10000)
    assert dialog.get_by_test_id("host-key-recorded").inner_text() == old_fp
    assert dialog.get_by_test_id("host-key-presented").inner_text() == new_fp
    assert dialog.get_by_test_id("host-key-accept").is_disabled()  # not before the admin says they checked it
    dialog.get_by_test_id("host-key-checked").click()
    dialog.get_by_test_id("host-key-accept").click()
    page.wait_for_function("() => !document.querySelector('[data-testid=host-key-presented]')", timeout=10000)
    assert dialog.get_by_test_id("host-key-recorded").inner_text() == new_fp
    page.screenshot(path=str(ARTIFACTS / "e2e-host-key-accepted.png"))

    page.goto(base + "/")
    page.get_by_test_id("asset-row").filter(has_text="rebuilt-01").get_by_test_id("connect-ssh").click()
    page.locator('.wg-term[data-state="open"]').wait_for(timeout=20000)
    page.get_by_test_id("terminal").click()
    page.keyboard.type("echo trusted-$((6*7))")
    page.keyboard.press("Enter")
    wait_screen(page, lambda ls: "trusted-42" in ls, "trusted-42")
    log = admin.get("/audit/operation-logs", params={"action": "accept_host_key"}).json()["items"]
    assert log and log[0]["changes"]["previous_fingerprint"] == old_fp
