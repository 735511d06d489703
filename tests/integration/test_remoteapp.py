"""RemoteApp through /ws/guacamole: real guacd 1.3.0, a real Xvnc per session on the app host,
real Chromium logging in to a local web page, and a stand-in SQL tool connecting to MariaDB.

What a person would notice: the window draws; the site shows them logged in (the page got
the account's username and password, typed by the host side) while the password reached
neither the browser, a log line, a process's command line nor a non-secret column; when the
tab closes, the app host's processes and files are gone and the recording is complete.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import html
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from tests.conftest import peer_missing
from tests.integration.terminal_client import admin_browser, grant, make_account, user_and_cookie
from tests.peers.desktop import GuacClient
from webgate.db.models import Applet, Asset, LoginLog, OperationLog, Organization, Session
from webgate.protocols.guacamole.instruction import Parser, encode
from webgate.remoteapp.host import AppSpec
from webgate.remoteapp.local import LocalAppHost
from webgate.services import Services
from webgate.settings import Settings

pytestmark = pytest.mark.slow

WEB_SECRET_TEXT = "Inj3cted-Web;pw \"q\" 中"  # noqa: S105 - a test account
DB_SECRET_TEXT = "Inj3cted-Db;pw x"  # noqa: S105 - a test account
DB_USER = "webgate_ra"
LOGIN_PAGE = b"""<!doctype html><html><body style="background:#fff">
<h1>Intranet login</h1>
<form method="post" action="/login"><input id="user" name="user"><input id="pass" name="pass" type="password">
<button id="go" type="submit">Sign in</button></form></body></html>"""
TYPING_FORM = """<form action="/typed"><input name="q" autofocus
style="position:fixed;inset:60px 0 0 0;font-size:40px"></form>"""  # a click anywhere below the title focuses it
WELCOME = f"<!doctype html><html><body><h1>Welcome back</h1>{TYPING_FORM}</body></html>".encode()
STANDIN = """#!/usr/bin/env python3
# A stand-in SQL desktop tool: reports how it was started, then opens mysql in an xterm.
import json, os, sys
report, host, port, user, database, password_file = sys.argv[1:7]
with open(password_file) as f:
    from_file = f.read()
with open(report, "w") as out:
    json.dump({"argv": sys.argv[2:], "file": from_file, "env": os.environ.get("MYSQL_PWD", ""),
               "file_mode": oct(os.stat(password_file).st_mode & 0o777)}, out)
os.execvp("xterm", ["xterm", "-e", "mysql", "-h", host, "-P", port, "-u", user, database])
"""


class LoginSite:
    """A login form on loopback that records every username/password posted to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, list[str]]] = []
        self.paths: list[str] = []  # every GET
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                site.paths.append(self.path)
                typed = parse_qs(self.path.partition("?")[2]).get("q", [""])[0]
                page = f"<h1>You typed: {html.escape(typed)}</h1>{TYPING_FORM}".encode()
                self._send(page if self.path.startswith("/typed") else LOGIN_PAGE)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", "0"))
                site.received.append(parse_qs(self.rfile.read(length).decode()))
                self._send(WELCOME)

            def _send(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def site() -> Iterator[LoginSite]:
    s = LoginSite()
    yield s
    s.server.shutdown()


@pytest.fixture
def settings(settings: Settings, guacd_port: int, tmp_path: Path) -> Settings:
    for binary in ("Xvnc", "chromium", "xterm"):
        if shutil.which(binary) is None:
            peer_missing(binary)
    standin = tmp_path / "sqltool"
    standin.write_text(STANDIN)
    standin.chmod(0o755)
    return settings.with_(guacd=(("127.0.0.1", guacd_port),), app_programs=("chromium", str(standin)),
                          allow_targets=(*settings.allow_targets, "127.0.0.1:3306"))


def _processes() -> dict[int, tuple[int, str, str]]:
    """pid → (process group, state, command line) of every live process."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(entry.name)] = (int(fields[2]), fields[0], cmdline)
    return out


def _work_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("webgate-app-*"))


def _app_groups(work: Path) -> set[int]:
    """Process groups of what the app host started (Xvnc and the program name files in ``work``)."""
    return {pgid for pgid, state, cmd in _processes().values() if str(work) in cmd and state != "Z"}


def _new_display(before: set[Path]) -> Path:
    made = _work_dirs() - before
    assert len(made) == 1, made
    return made.pop()


async def _wait(predicate, within: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = await predicate() if asyncio.iscoroutinefunction(predicate) else predicate()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def _ended_row() -> Session:
    async def done() -> Session | None:
        row = await Session.first()
        if row and row.status == "ended" and await OperationLog.filter(action="disconnect").exists():
            return row
        return None
    return await _wait(done, 20, "the session row to be finalised")


async def _open(services: Services, gateway: str, asset: Asset, account: str, applet: Applet,
                protocol: str) -> GuacClient:
    user, cookie = await user_and_cookie(services, gateway, username=f"user-{uuid.uuid4().hex[:8]}")
    perm = await grant(user, asset, [account], name=str(uuid.uuid4()))
    perm.protocols = [protocol]
    await perm.save()
    return await GuacClient.connect(gateway, cookie, f"asset={asset.id}&account={account}&protocol=remoteapp"
                                                     f"&applet={applet.id}&width=800&height=600")


async def _assert_recording_complete(services: Services, row: Session) -> None:
    assert row.recording_key.endswith(".guac.gz")
    packed = await services.storage.get_bytes(row.recording_key)
    assert hashlib.sha256(packed).hexdigest() == row.recording_sha256
    text = gzip.decompress(packed).decode()
    parser = Parser(max_chars=1 << 24, max_elements=4096)
    recorded = parser.feed(text)
    assert parser.pending == 0 and text.endswith(";")
    assert {"size", "img", "sync"} <= {i[0] for i in recorded}


async def _assert_nowhere(password: str, client: GuacClient, caplog: pytest.LogCaptureFixture) -> None:
    assert not any(password in m for m in client.messages), "the password reached the browser"
    assert not any(password in r.getMessage() for r in caplog.records), "the password was logged"
    for model in (Session, OperationLog, LoginLog, Applet, Asset):
        for row in await model.all().values():
            assert password not in json.dumps(row, default=str, ensure_ascii=False), f"in {model.__name__}"


async def test_chromium_app_logs_in_on_the_host_side_and_leaves_nothing_behind(
        services: Services, gateway: str, site: LoginSite, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    org = await Organization.get(is_default=True)
    asset = await Asset.create(org=org, name="intranet", address=f"http://127.0.0.1:{site.port}/login",
                               platform="website", protocols=[{"name": "http", "port": site.port}])
    await make_account(services, asset, "webacct", "alice-web", secret=WEB_SECRET_TEXT)
    applet = await Applet.create(org=org, name="Chromium", asset_platforms=["website"], protocol="http",
                                 program="chromium",
                                 autofill={"username": "#user", "password": "#pass", "submit": "#go"})
    before = _work_dirs()
    client = await _open(services, gateway, asset, "webacct", applet, "http")
    await client.until("img", timeout=30)
    work = _new_display(before)
    groups = _app_groups(work)
    assert len(groups) >= 2, "Xvnc and Chromium run in their own process groups"
    await _wait(lambda: site.received, 40, "the site to receive the login")
    assert site.received[0] == {"user": ["alice-web"], "pass": [WEB_SECRET_TEXT]}
    assert not any(WEB_SECRET_TEXT in cmd for _, _, cmd in _processes().values()), "the password is in a command line"
    # The person works in the window: what they type through the tunnel reaches the site. The
    # page after the login may still be drawing when the first keys arrive (a loaded machine), so
    # the person clicks into the field and types again until the site sees it, as one would.
    async def typed() -> bool:
        await client.send(encode("mouse", "400", "300", "1") + encode("mouse", "400", "300", "0"))
        for keysym in ("104", "105", "65293"):  # h, i, Return
            await client.send(encode("key", keysym, "1") + encode("key", keysym, "0"))
            await asyncio.sleep(0.1)
        for _ in range(20):
            if "/typed?q=hi" in site.paths:
                return True
            await asyncio.sleep(0.25)
        return False
    await _wait(typed, 40, "the typed text to reach the site")
    await client.ws.close()
    row = await _ended_row()
    assert row.protocol == "remoteapp" and row.end_reason == "client_closed"
    await _wait(lambda: not any(pgid in groups and state != "Z" for pgid, state, _ in _processes().values()), 10,
                "the app host's processes to exit")
    assert not work.exists(), "the display's temp dir (profile, X cookie, VNC password) is removed"
    await _assert_recording_complete(services, row)
    await _assert_nowhere(WEB_SECRET_TEXT, client, caplog)


def _mysql(sql: str) -> str:
    return subprocess.run(["mysql", "-uroot", "-h127.0.0.1", "-N", "-e", sql], capture_output=True, text=True,  # noqa: S603,S607
                          check=True, timeout=20).stdout


@pytest.fixture
def db_user() -> Iterator[str]:
    if shutil.which("mysql") is None:
        peer_missing("mysql")
    try:
        _mysql(f"DROP USER IF EXISTS '{DB_USER}'@'%'; CREATE USER '{DB_USER}'@'%' IDENTIFIED BY '{DB_SECRET_TEXT}';"
               f"CREATE DATABASE IF NOT EXISTS webgate_ra; GRANT ALL ON webgate_ra.* TO '{DB_USER}'@'%';")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        peer_missing("MariaDB on 127.0.0.1:3306")
    yield DB_USER
    _mysql(f"DROP USER IF EXISTS '{DB_USER}'@'%'")


async def _db_session(services: Services, gateway: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                      app_host: str = "") -> None:
    org = await Organization.get(is_default=True)
    asset = await Asset.create(org=org, name="db1", address="127.0.0.1", platform="mysql",
                               protocols=[{"name": "mysql", "port": 3306}], extra={"database": "webgate_ra"})
    await make_account(services, asset, "dbacct", DB_USER, secret=DB_SECRET_TEXT)
    report = tmp_path / f"report-{uuid.uuid4()}.json"
    applet = await Applet.create(org=org, name="SQL client", asset_platforms=["mysql"], protocol="mysql",
                                 program=str(tmp_path / "sqltool"), password_env="MYSQL_PWD", app_host=app_host,  # noqa: S106
                                 arguments=[str(report), "{host}", "{port}", "{username}", "{database}",
                                            "{password_file}"])
    before = _work_dirs()
    client = await _open(services, gateway, asset, "dbacct", applet, "mysql")
    await client.until("img", timeout=30)
    work = _new_display(before)
    await _wait(report.exists, 20, "the SQL tool to start")
    started = json.loads(report.read_text())
    assert started["argv"] == ["127.0.0.1", "3306", DB_USER, "webgate_ra", started["argv"][-1]]
    assert started["file"] == DB_SECRET_TEXT and started["env"] == DB_SECRET_TEXT and started["file_mode"] == "0o600"
    # The connection is pre-filled: mysql in the window is logged in as the account, on its database.
    await _wait(lambda: DB_USER in _mysql("SELECT user, db FROM information_schema.processlist"), 20,
                "the SQL tool's connection to MariaDB")
    assert "webgate_ra" in _mysql(f"SELECT db FROM information_schema.processlist WHERE user='{DB_USER}'")  # noqa: S608
    assert not any(DB_SECRET_TEXT in cmd for _, _, cmd in _processes().values())
    await client.ws.close()
    row = await _ended_row()
    assert row.end_reason == "client_closed"
    await _wait(lambda: DB_USER not in _mysql("SELECT user FROM information_schema.processlist"), 10,
                "the SQL tool to be gone")
    assert started["argv"][-1] == str(work / "password") and not work.exists(), "removed with the display"
    await _assert_recording_complete(services, row)
    await _assert_nowhere(DB_SECRET_TEXT, client, caplog)


async def test_sql_tool_opens_with_the_connection_pre_filled(services: Services, gateway: str, db_user: str,
                                                           tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await _db_session(services, gateway, tmp_path, caplog)


async def _refused(services: Services, gateway: str, asset: Asset, applet: Applet, protocol: str) -> list[str]:
    before = _work_dirs()
    client = await _open(services, gateway, asset, "webacct", applet, protocol)
    error = await client.until("error", timeout=20)
    assert _work_dirs() == before, "nothing was started on the app host"
    return error


async def test_applets_from_elsewhere_switched_off_or_for_other_assets_start_nothing(
        services: Services, gateway: str, site: LoginSite) -> None:
    org = await Organization.get(is_default=True)
    other = await Organization.create(name="Other")
    asset = await Asset.create(org=org, name="intranet", address=f"http://127.0.0.1:{site.port}/",
                               platform="website", protocols=[{"name": "http", "port": site.port}])
    await make_account(services, asset, "webacct", "alice-web", secret=WEB_SECRET_TEXT)
    foreign = await Applet.create(org=other, name="Chromium", asset_platforms=["website"], protocol="http",
                                  program="chromium")
    off = await Applet.create(org=org, name="Off", asset_platforms=["website"], protocol="http",
                              program="chromium", is_active=False)
    for_db = await Applet.create(org=org, name="SQL", asset_platforms=["mysql"], protocol="http", program="chromium")
    for applet in (foreign, off, for_db):
        error = await _refused(services, gateway, asset, applet, "http")
        assert error[2] == "768" and "applet" in error[1], error
        await Session.all().delete()
    # The permission allows only ssh on this asset: the applet's protocol (http) is not granted.
    https_only = await Applet.create(org=org, name="Chromium", asset_platforms=["website"], protocol="https",
                                     program="chromium")
    error = await _refused(services, gateway, asset, https_only, "http")
    assert error[2] == "771" and "https" in error[1], error
    assert not site.received


async def test_the_address_policy_applies_to_the_site_the_program_opens(services: Services, gateway: str) -> None:
    org = await Organization.get(is_default=True)
    asset = await Asset.create(org=org, name="metadata", address="http://169.254.169.254/latest/",
                               platform="website", protocols=[{"name": "http", "port": 80}])
    await make_account(services, asset, "webacct", "alice-web", secret=WEB_SECRET_TEXT)
    applet = await Applet.create(org=org, name="Chromium", asset_platforms=["website"], protocol="http",
                                 program="chromium")
    error = await _refused(services, gateway, asset, applet, "http")
    assert "metadata" in error[1].lower() or "not allowed" in error[1].lower(), error
    row = await _ended_row()
    assert row.end_reason == "target_forbidden"


async def test_closing_the_program_ends_the_session(services: Services, gateway: str, tmp_path: Path) -> None:
    quitter = tmp_path / "sqltool"  # allowed by the settings fixture: draws for a moment, then exits
    quitter.write_text("#!/bin/sh\nexec xterm -e sleep 2\n")
    org = await Organization.get(is_default=True)
    asset = await Asset.create(org=org, name="db1", address="127.0.0.1", platform="mysql",
                               protocols=[{"name": "mysql", "port": 3306}])
    await make_account(services, asset, "webacct", "u", secret=DB_SECRET_TEXT)
    applet = await Applet.create(org=org, name="Quitter", asset_platforms=["mysql"], protocol="mysql",
                                 program=str(quitter))
    before = _work_dirs()
    client = await _open(services, gateway, asset, "webacct", applet, "mysql")
    await client.until("img", timeout=30)
    work = _new_display(before)
    row = await _ended_row()
    assert row.end_reason in ("target_exited", "target_error"), row.end_reason
    assert not work.exists()


async def test_the_kiosk_browser_reaches_only_the_site_it_was_opened_for(site: LoginSite) -> None:
    """Other ports on the app host (the gateway's own services when it is local), other sites and
    local files are out of reach: the proxy switches confine the network, the guard brings pages back."""
    other = LoginSite()
    host = LocalAppHost()
    url = f"http://127.0.0.1:{site.port}/login"
    display = await host.start(AppSpec(session_id="s", program="chromium", arguments=[], values={"url": url},
                                       width=800, height=600))
    try:
        browser = host.running[display.id].browser
        assert browser is not None

        async def page_session() -> str:
            targets = (await browser.call("Target.getTargets"))["targetInfos"]
            page = next(t for t in targets if t["type"] == "page" and t["url"].startswith(url))
            return str((await browser.call("Target.attachToTarget", {"targetId": page["targetId"],
                                                                     "flatten": True}))["sessionId"])

        session = await _wait(page_session, 20, "the site's page")

        async def loaded() -> bool:
            answer = await browser.call("Runtime.evaluate", {"expression": "document.readyState",
                                                             "returnByValue": True}, session=session)
            return answer["result"].get("value") == "complete"
        await _wait(loaded, 20, "the site's page to load")

        async def fetch(target: str) -> str:
            expression = f"fetch({json.dumps(target)}, {{mode: 'no-cors'}}).then(() => 'reached', () => 'blocked')"
            answer = await browser.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                             "returnByValue": True}, session=session)
            return str(answer["result"]["value"])

        async def site_reached() -> bool:  # a loaded machine may fail one request: the site is reachable
            return await fetch(f"http://127.0.0.1:{site.port}/again") == "reached"
        await _wait(site_reached, 20, "the page to reach its own site")
        for elsewhere in (f"http://127.0.0.1:{other.port}/", f"http://localhost:{other.port}/",
                          "http://169.254.169.254/latest/meta-data/"):
            assert await fetch(elsewhere) == "blocked", elsewhere
        assert other.paths == [], "nothing reached the other service"
        await browser.call("Page.navigate", {"url": "file:///etc/hostname"}, session=session)

        async def back_on_the_site() -> bool:
            try:
                answer = await browser.call("Runtime.evaluate", {"expression": "location.href",
                                                                 "returnByValue": True}, session=session)
            except ConnectionError as exc:  # asked while the guard's navigation was under way: not yet
                assert "navigated" in str(exc), exc
                return False
            return str(answer["result"]["value"]).startswith(url)
        await _wait(back_on_the_site, 10, "the guard to bring the page back to the site")
    finally:
        await host.stop(display.id)
        other.server.shutdown()


CRASHING_GATEWAY = """
import asyncio, sys
from webgate.remoteapp.host import AppSpec
from webgate.remoteapp.local import LocalAppHost

async def main():
    host = LocalAppHost(programs=("xterm",))
    await host.start(AppSpec(session_id="s", program="xterm", arguments=[], values={}, password="pw-in-a-file"))
    print("started", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_a_crashed_gateway_leaves_no_display_running_and_the_next_start_removes_its_files(
        tmp_path: Path) -> None:
    before = _work_dirs()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", CRASHING_GATEWAY,
                                                stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    assert await asyncio.wait_for(proc.stdout.readline(), 20) == b"started\n"
    work = _new_display(before)
    groups = _app_groups(work)
    assert groups and (work / "password").read_text() == "pw-in-a-file"
    proc.kill()  # SIGKILL: no cleanup code runs in the "gateway"
    await proc.wait()
    await _wait(lambda: not any(pgid in groups and state != "Z" for pgid, state, _ in _processes().values()), 10,
                "Xvnc and the program to die with the process that started them")
    assert work.exists(), "a crash leaves the files"
    host = LocalAppHost(programs=("xterm",))
    display = await host.start(AppSpec(session_id="t", program="xterm", arguments=[], values={}))
    await host.stop(display.id)
    assert not work.exists(), "the next start swept the dead process's display files"


async def test_switching_an_applet_off_ends_its_running_sessions(services: Services, gateway: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from webgate.sessions.graphical import GraphicalSession

    monkeypatch.setattr(GraphicalSession, "RECHECK", 1.0)  # the permission re-check, every second here
    tool = tmp_path / "sqltool"  # allowed by the settings fixture
    tool.write_text("#!/bin/sh\nexec xterm -e sleep 60\n")
    org = await Organization.get(is_default=True)
    asset = await Asset.create(org=org, name="db1", address="127.0.0.1", platform="mysql",
                               protocols=[{"name": "mysql", "port": 3306}])
    await make_account(services, asset, "webacct", "u", secret=DB_SECRET_TEXT)
    applet = await Applet.create(org=org, name="Tool", asset_platforms=["mysql"], protocol="mysql", program=str(tool))
    before = _work_dirs()
    client = await _open(services, gateway, asset, "webacct", applet, "mysql")
    await client.until("img", timeout=30)
    work = _new_display(before)
    async with admin_browser(services, gateway) as admin:
        r = await admin.patch(f"/api/v1/applets/{applet.id}", json={"is_active": False})
        assert r.status_code == 200, r.text
    error = await client.until("error", timeout=20)
    assert "withdrawn" in error[1], error
    row = await _ended_row()
    assert row.end_reason == "access_revoked"
    await _wait(lambda: not work.exists(), 10, "the display to be torn down")
