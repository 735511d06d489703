"""SSH terminals through /ws/terminal against a real sshd, driven as the browser does."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
from datetime import timedelta
from typing import Any

import httpx
import pyte
import pytest

from tests.integration.conftest import SshPeer, free_port
from tests.integration.terminal_client import (
    Term,
    admin_browser,
    grant,
    make_account,
    make_ssh_asset,
    user_and_cookie,
)
from webgate.db.models import Asset, OperationLog, Session
from webgate.services import Services

pytestmark = pytest.mark.slow


async def _setup(services: Services, gateway: str, sshd: SshPeer, *, actions: tuple[str, ...] = ("connect",),
                 password: str | None = None) -> tuple[str, str]:
    """A user allowed to use the password account on an SSH asset; returns (cookie, query)."""
    user, cookie = await user_and_cookie(services, gateway)
    asset = await make_ssh_asset(services, sshd.port)
    await make_account(services, asset, "ops", sshd.password_user, secret=password or sshd.password)
    await grant(user, asset, ["ops"], actions)
    return cookie, f"asset={asset.id}&protocol=ssh&account=ops"


async def _row() -> Session:
    rows = await Session.all()
    assert len(rows) == 1
    return rows[0]


async def _replay(services: Services, row: Session) -> pyte.Screen:
    raw = await services.storage.get_bytes(row.recording_key)
    assert hashlib.sha256(raw).hexdigest() == row.recording_sha256
    lines = gzip.decompress(raw).decode().splitlines()
    header = json.loads(lines[0])
    screen = pyte.Screen(header["width"], header["height"])
    stream = pyte.Stream(screen)
    for line in lines[1:]:
        _, code, data = json.loads(line)
        if code == "o":
            stream.feed(data)
        elif code == "r":
            cols, rows = map(int, data.split("x"))
            screen.resize(rows, cols)
    return screen


async def test_echo_resize_exit_and_recording_replays_to_same_screen(services: Services, gateway: str,
                                                                    sshd: SshPeer) -> None:
    cookie, query = await _setup(services, gateway, sshd)
    term = await Term.connect(gateway, cookie, query)
    opened = await term.opened()
    assert opened["username"] == sshd.password_user and opened["actions"] == ["connect"]
    watermark = await term.until_control("watermark")
    assert watermark["enabled"] is True and "alice" in watermark["text"] and "web01" in watermark["text"]
    await term.run("echo hel''lo", "hello")
    await term.send({"type": "resize", "cols": 100, "rows": 30})
    term.screen.resize(30, 100)
    await term.run("stty size", "30 100")
    await term.send(b"exit 7\n")
    exit_frame = await term.until_control("exit")
    assert exit_frame["reason"] == "target_exited" and exit_frame["code"] == 7
    assert "exit code 7" in exit_frame["message"]
    row = await _row()
    assert row.status == "ended" and row.end_reason == "target_exited"
    assert row.account_username == sshd.password_user and row.protocol == "ssh" and row.node_name == "test-node"
    assert row.bytes_in > 0 and row.bytes_out == len(term.raw)
    assert row.watermark["text"] == watermark["text"]
    replayed = await _replay(services, row)
    assert replayed.display == term.screen.display
    assert any("30 100" in line for line in replayed.display)
    actions = await OperationLog.filter(resource_type="session").values_list("action", flat=True)
    assert sorted(actions) == ["connect", "disconnect"]
    assert sshd.password not in json.dumps([r.changes for r in await OperationLog.all()])


async def test_key_account_with_passphrase_records_host_key_on_first_use(services: Services, gateway: str,
                                                                         sshd: SshPeer) -> None:
    user, cookie = await user_and_cookie(services, gateway)
    asset = await make_ssh_asset(services, sshd.port)
    await make_account(services, asset, "deploy", sshd.key_user, secret=sshd.private_key, secret_type="ssh_key",
                       passphrase=sshd.passphrase)
    await grant(user, asset, ["deploy"])
    term = await Term.connect(gateway, cookie, f"asset={asset.id}&account=deploy")
    await term.opened()
    await term.run("echo u=$(whoami)", f"u={sshd.key_user}")
    await term.close()
    stored = (await Asset.get(id=asset.id)).extra["ssh_host_key"]
    assert stored["key"].split()[:2] == sshd.host_key.split()[:2]
    assert stored["fingerprint"].startswith("SHA256:")
    await asyncio.sleep(0.2)
    row = await _row()
    assert row.end_reason == "client_closed" and row.status == "ended"


async def test_keyboard_interactive_only_user(services: Services, gateway: str, sshd: SshPeer) -> None:
    user, cookie = await user_and_cookie(services, gateway)
    asset = await make_ssh_asset(services, sshd.port)
    await make_account(services, asset, "kbd", sshd.kbd_user, secret=sshd.password)
    await grant(user, asset, ["kbd"])
    term = await Term.connect(gateway, cookie, f"asset={asset.id}&account=kbd")
    await term.opened()
    await term.run("echo u=$(whoami)", f"u={sshd.kbd_user}")
    await term.close()


async def test_wrong_password_gives_clear_error_and_ended_row(services: Services, gateway: str,
                                                              sshd: SshPeer) -> None:
    cookie, query = await _setup(services, gateway, sshd, password="not-the-password")
    term = await Term.connect(gateway, cookie, query)
    err = await term.until_control("error", timeout=30)
    assert err["code"] == "target_auth_failed" and err["fatal"] is True
    assert "wrong password" in err["message"] and sshd.password_user in err["message"]
    row = await _row()
    assert row.status == "ended" and row.end_reason == "target_auth_failed" and row.recording_key == ""


async def test_unreachable_host_gives_clear_error(services: Services, gateway: str, sshd: SshPeer) -> None:
    user, cookie = await user_and_cookie(services, gateway)
    asset = await make_ssh_asset(services, free_port())
    await make_account(services, asset, "ops", "x", secret="y")
    await grant(user, asset, ["ops"])
    term = await Term.connect(gateway, cookie, f"asset={asset.id}&account=ops")
    err = await term.until_control("error")
    assert err["code"] == "target_unreachable" and "Could not reach" in err["message"]
    assert (await _row()).end_reason == "target_unreachable"


async def test_manual_input_account_asks_for_credentials_and_never_stores_them(
        services: Services, gateway: str, sshd: SshPeer) -> None:
    user, cookie = await user_and_cookie(services, gateway)
    asset = await make_ssh_asset(services, sshd.port)
    await grant(user, asset, ["@INPUT"])
    term = await Term.connect(gateway, cookie, f"asset={asset.id}&account=@INPUT")
    await term.until_control("status", state="credentials_required")
    await term.send({"type": "credentials", "username": sshd.password_user, "password": sshd.password})
    await term.opened()
    await term.run("echo u=$(whoami)", f"u={sshd.password_user}")
    await term.close()
    await asyncio.sleep(0.2)
    row = await _row()
    assert row.account_username == sshd.password_user
    dumped = json.dumps([dict(r) for r in await Session.all().values()], default=str)
    dumped += json.dumps([dict(r) for r in await OperationLog.all().values()], default=str)
    assert sshd.password not in dumped


async def test_idle_timeout_ends_session_and_says_so(services: Services, gateway: str, sshd: SshPeer,
                                                     clock, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from webgate.sessions.lifecycle import LiveSession

    monkeypatch.setattr(LiveSession, "TICK", 0.05)
    cookie, query = await _setup(services, gateway, sshd)
    term = await Term.connect(gateway, cookie, query)
    await term.opened()
    await term.run("echo still-here", "still-here")
    clock.advance(29 * 60)
    await asyncio.sleep(0.3)
    assert term.control("exit") is None and (await _row()).status == "live"
    clock.advance(2 * 60)
    exit_frame = await term.until_control("exit")
    assert exit_frame["reason"] == "idle_timeout" and "30 minute(s) without input" in exit_frame["message"]
    row = await _row()
    assert row.end_reason == "idle_timeout" and row.status == "ended" and row.recording_key


async def test_max_duration_from_org_policy(services: Services, gateway: str, sshd: SshPeer,
                                            clock, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from webgate.db.models import Organization, SettingsRow
    from webgate.sessions.lifecycle import LiveSession

    monkeypatch.setattr(LiveSession, "TICK", 0.05)
    org = await Organization.get(is_default=True)
    await SettingsRow.create(org=org, data={"terminal": {"idle_minutes": 0, "max_hours": 1},
                                            "watermark": {"enabled": False}})
    cookie, query = await _setup(services, gateway, sshd)
    term = await Term.connect(gateway, cookie, query)
    await term.opened()
    assert (await term.until_control("watermark"))["enabled"] is False
    clock.advance(59 * 60)
    await asyncio.sleep(0.3)
    assert term.control("exit") is None
    clock.advance(61)
    exit_frame = await term.until_control("exit")
    assert exit_frame["reason"] == "max_duration" and "maximum length of 1 hour(s)" in exit_frame["message"]
    row = await _row()
    assert row.end_reason == "max_duration" and row.watermark["enabled"] is False


async def test_ten_megabyte_paste_arrives_intact(services: Services, gateway: str, sshd: SshPeer) -> None:
    cookie, query = await _setup(services, gateway, sshd, actions=("connect", "paste"))
    term = await Term.connect(gateway, cookie, query)
    await term.opened()
    size = 10 * 1000 * 1000
    payload = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    await term.run(f"stty raw -echo; head -c {size} | sha256sum; stty sane; echo done-$((6*7))", "")
    await asyncio.sleep(0.3)
    for i in range(0, size, 64 * 1024):
        await term.send(payload[i:i + 64 * 1024])
    await term.until_output(hashlib.sha256(payload).hexdigest(), timeout=60)
    await term.until_output("done-42")
    assert term.control("error") is None
    row = await Session.get(status="live")
    await term.close()
    await asyncio.sleep(0.3)
    row = await _row()
    assert row.bytes_in >= size


async def test_paste_refused_without_paste_action_and_session_continues(services: Services, gateway: str,
                                                                        sshd: SshPeer) -> None:
    cookie, query = await _setup(services, gateway, sshd)
    term = await Term.connect(gateway, cookie, query)
    await term.opened()
    await term.send(b"echo " + b"x" * 1000 + b"\n")
    err = await term.until_control("error")
    assert err["code"] == "paste_denied" and "Pasting is not allowed" in err["message"] and not err["fatal"]
    await term.send(b"\x1b[200~echo pasted\x1b[201~")
    await term.run("echo typed-ok", "typed-ok")
    assert b"pasted" not in term.raw


async def test_utf8_split_across_frames_is_intact_live_and_in_recording(services: Services, gateway: str,
                                                                        sshd: SshPeer) -> None:
    cookie, query = await _setup(services, gateway, sshd)
    term = await Term.connect(gateway, cookie, query)
    await term.opened()
    # The first two bytes of 你 go out, a pause, then the rest: the gateway must pass the split through.
    await term.run(r"printf 'A\xe4\xbd'; sleep 0.5; printf '\xa0\xe5\xa5\xbd, \xe4\xb8\x96\xe7\x95\x8c-end\n'",
                   "-end\r\n")
    assert "你好, 世界-end" in term.raw.decode()
    assert any(f.endswith(b"A\xe4\xbd") for f in term.frames)  # the split really crossed frames
    assert any("A你好, 世界-end" in line for line in term.screen.display)
    await term.send(b"exit\n")
    await term.until_control("exit")
    replayed = await _replay(services, await _row())
    assert replayed.display == term.screen.display


@pytest.mark.parametrize("revoke", ["logout", "permission", "disable_user", "permission_ends", "behind_the_api"])
async def test_revoked_access_ends_open_session(services: Services, gateway: str, sshd: SshPeer,
                                                monkeypatch: pytest.MonkeyPatch, revoke: str) -> None:
    """Every way access ends reaches a running session: an admin's change through the API (the
    access epoch moves), a permission's end date passing (no write at all), and — within the
    full re-check interval — a change written straight into the database."""
    from webgate.db.models import AssetPermission, User, WebSession
    from webgate.sessions.lifecycle import LiveSession

    monkeypatch.setattr(LiveSession, "TICK", 0.05)
    monkeypatch.setattr(LiveSession, "RECHECK", 0.05)
    if revoke == "behind_the_api":
        monkeypatch.setattr(LiveSession, "FULL_RECHECK", 1.0)
    cookie, query = await _setup(services, gateway, sshd)
    term = await Term.connect(gateway, cookie, query)
    await term.opened()
    await term.run("echo before", "before")
    await asyncio.sleep(1.5)  # full re-checks passed already: what follows must reach a later, skipping one
    perm = await AssetPermission.get(name="p")
    alice = await User.get(username="alice")
    async with admin_browser(services, gateway) as admin:
        if revoke == "logout":
            async with httpx.AsyncClient(base_url=f"http://{gateway}", headers={"Cookie": cookie}) as http:
                csrf = (await http.get("/api/v1/auth/me")).json()["csrf_token"]
                r = await http.post("/api/v1/auth/logout",
                                    headers={"X-CSRF-Token": csrf, "Origin": f"http://{gateway}"})
                assert r.status_code == 204, r.text
            assert await WebSession.filter(user_id=alice.id).count() == 0
        elif revoke == "permission":
            r = await admin.patch(f"/api/v1/permissions/{perm.id}", json={"is_active": False})
            assert r.status_code == 200, r.text
        elif revoke == "disable_user":
            r = await admin.patch(f"/api/v1/users/{alice.id}", json={"is_active": False})
            assert r.status_code == 200, r.text
        elif revoke == "permission_ends":
            ends = services.clock.now() + timedelta(minutes=5)
            r = await admin.patch(f"/api/v1/permissions/{perm.id}", json={"date_expired": ends.isoformat()})
            assert r.status_code == 200, r.text
            await asyncio.sleep(1.5)  # re-checks ran after the change, with the end date still ahead
            await term.run("echo still", "still")
            services.clock.advance(6 * 60)  # type: ignore[attr-defined] - the end date passes; nobody writes
        else:
            await AssetPermission.filter(id=perm.id).update(is_active=False)
    exit_frame = await term.until_control("exit")
    assert exit_frame["reason"] == "access_revoked" and "withdrawn" in exit_frame["message"]
    assert (await _row()).end_reason == "access_revoked"


async def test_a_recheck_with_nothing_changed_skips_the_permission_queries(
        services: Services, gateway: str, sshd: SshPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The periodic re-check runs the permission resolver again only after a write that may
    have withdrawn access: at 500 sessions the full check every 15 s was a third of the gateway."""
    from webgate.sessions import lifecycle
    from webgate.sessions.lifecycle import LiveSession

    monkeypatch.setattr(LiveSession, "TICK", 0.05)
    monkeypatch.setattr(LiveSession, "RECHECK", 0.05)
    full = []
    real = lifecycle._authorize

    async def counted(*args: Any, **kw: Any) -> Any:
        full.append(1)
        return await real(*args, **kw)

    monkeypatch.setattr(lifecycle, "_authorize", counted)
    cookie, query = await _setup(services, gateway, sshd)
    term = await Term.connect(gateway, cookie, query)
    await term.opened()
    opened = len(full)
    await asyncio.sleep(1.5)  # ~30 re-checks
    await term.run("echo idle", "idle")
    assert len(full) == opened == 1, "the opening check (a full one) stands: no re-check ran in full"
    async with admin_browser(services, gateway) as admin:
        asset_id = query.split("asset=")[1].split("&")[0]
        r = await admin.patch(f"/api/v1/assets/{asset_id}", json={"comment": "patched"})
        assert r.status_code == 200, r.text
        await asyncio.sleep(1.0)
    assert len(full) - opened == 1, "a write through the API makes the next re-check run in full"
    await term.run("echo after", "after")  # and the session, still permitted, goes on


async def test_permission_limits_tighten_the_org_policy(services: Services, gateway: str, sshd: SshPeer,
                                                       clock, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A permission with a 5-minute idle limit ends the session long before the org's 30 minutes."""
    from webgate.db.models import AssetPermission
    from webgate.sessions.lifecycle import LiveSession

    monkeypatch.setattr(LiveSession, "TICK", 0.05)
    cookie, query = await _setup(services, gateway, sshd)
    await AssetPermission.all().update(idle_minutes=5, max_minutes=90)
    term = await Term.connect(gateway, cookie, query)
    await term.opened()
    clock.advance(4 * 60)
    await asyncio.sleep(0.3)
    assert term.control("exit") is None
    clock.advance(61)
    exit_frame = await term.until_control("exit")
    assert exit_frame["reason"] == "idle_timeout" and "5 minute(s) without input" in exit_frame["message"]
