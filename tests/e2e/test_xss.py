"""WEB in real Chromium: stored XSS payloads stay text, and ``?next=`` never leaves the site.

Every user-controlled field the SPA shows gets markup that would run a script
(``<img onerror>``, ``<svg onload>``, a ``javascript:`` URL, a Vue/Angular-style
``{{constructor.constructor(...)()}}``). The pages that show them are visited and the
test checks that no script ran (``window.__xss`` never set, no dialog), that the browser
reported no Content-Security-Policy violation (a violation means markup reached the DOM
and only the CSP stopped it), that no ``javascript:`` link exists, and that the payload is
on the page as text (so the field really was rendered).
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from websockets.sync.client import connect as ws_connect

from tests.e2e.conftest import ADMIN_PASSWORD, ARTIFACTS, LiveServer, free_port
from tests.e2e.test_foundation_flow import api_login, ui_password_step

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MALLORY_PASSWORD = "Mall-0ry-Pass!"  # noqa: S105 - a throwaway test user
WATCH = """
window.__xss = undefined;
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


SWITCH_ORG = """async (org) => {
  const me = await (await fetch('/api/v1/auth/me')).json();
  const r = await fetch('/api/v1/auth/switch-org', {method: 'POST', body: JSON.stringify({org_id: org}),
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token}});
  return r.status;
}"""


def payload(tag: str) -> str:
    """Markup that sets ``window.__xss`` if it is ever run (fits the 64-character name fields)."""
    return f"{tag}<img src=x onerror=__xss=1><svg onload=__xss=2>"


def template(tag: str) -> str:
    """Template injection (Vue/Angular expression) and a javascript: URL, for the longer fields."""
    return f"{tag}{{{{constructor.constructor('__xss=3')()}}}} javascript:__xss=4"


def _ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code in (200, 201), r.text
    return r.json()  # type: ignore[no-any-return]


def plant(server: LiveServer, admin: httpx.Client) -> dict[str, str]:
    """Store a payload in every field the SPA shows; returns page path → a payload shown there."""
    user_role = next(r for r in admin.get("/roles").json()["items"] if r["name"] == "User")
    _ok(admin.post("/orgs", json={"name": payload("org")}))
    user = _ok(admin.post("/users", json={"username": "mallory", "name": template("uname"), "password": MALLORY_PASSWORD,
                                          "role_ids": [user_role["id"]]}))
    _ok(admin.post("/groups", json={"name": payload("group"), "user_ids": [user["id"]]}))
    _ok(admin.post("/roles", json={"name": payload("role"), "permissions": ["assets.view"]}))
    node = _ok(admin.post("/nodes", json={"name": payload("node"), "parent_id": None}))
    port = free_port()  # nothing listens: the session below fails to connect, and is recorded anyway
    asset = _ok(admin.post("/assets", json={
        "name": payload("asset"), "address": "127.0.0.1", "platform": "linux", "comment": template("comment"),
        "labels": ["x:" + payload("label")], "protocols": [{"name": "ssh", "port": port}], "node_ids": [node["id"]]}))
    _ok(admin.post("/accounts", json={"asset_id": asset["id"], "name": payload("account"), "username": "root",
                                      "secret_type": "password", "secret": "not-used-1"}))
    _ok(admin.post("/permissions", json={"name": payload("perm"), "user_ids": [user["id"]], "node_ids": [node["id"]],
                                         "accounts": ["@ALL"], "protocols": ["ssh"], "actions": ["connect"]}))
    # A failed login whose username and user agent are payloads (the login log shows both).
    for username in ("mallory", payload("login")):
        httpx.post(f"{server.url}/api/v1/auth/login", json={"username": username, "password": "wrong-Pass-1"},
                   headers={"User-Agent": payload("loginua")})
    # A session (asset name, account and user agent are payloads; the sessions audit shows them).
    mallory = api_login(server.url, "mallory", MALLORY_PASSWORD)
    cookie = "; ".join(f"{k}={v}" for k, v in mallory.cookies.items())
    host = server.url.removeprefix("http://")
    with contextlib.suppress(Exception), ws_connect(
            f"ws://{host}/ws/terminal?asset={asset['id']}&account={quote(payload('account'))}",
            additional_headers={"Cookie": cookie, "Origin": server.url}, user_agent_header=payload("sessua"),
            open_timeout=10) as ws:
        for _ in range(10):
            if '"fatal": true' in str(ws.recv(timeout=10)):
                break
    return {"/admin/orgs": "org", "/admin/users": "uname", "/admin/groups": "group", "/admin/roles": "role",
            "/admin/assets": "asset", "/admin/accounts": "account", "/admin/permissions": "perm",
            "/audit/login-log": "loginua", "/audit/sessions": "asset", "/audit/operation-log": "asset",
            "/dashboard": ""}


def test_stored_xss_payloads_stay_text_on_every_page(terminal_server: LiveServer, browser: Any) -> None:
    base = terminal_server.url
    admin = api_login(base, "admin", ADMIN_PASSWORD)
    pages = plant(terminal_server, admin)
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.add_init_script(WATCH)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    ui_password_step(page, base, "admin", ADMIN_PASSWORD)
    page.wait_for_url(f"{base}/")
    # Creating the payload org made it the admin's current one: back to the org holding the rest.
    default_org = next(o["id"] for o in admin.get("/orgs").json()["items"] if o["is_default"])
    assert page.evaluate(SWITCH_ORG, default_org) == 200
    findings: list[str] = []
    for path, tag in pages.items():
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(ARTIFACTS / f"e2e-xss-{path.strip('/').replace('/', '-') or 'home'}.png"))
        if tag:
            shown = template(tag) if tag == "uname" else payload(tag)
            try:
                page.get_by_text(shown).first.wait_for(timeout=10_000)  # shown, as text
            except PlaywrightTimeout:
                findings.append(f"{path}: {tag!r} is not on the page as text (rendered as markup, or missing)")
        for cell in page.locator("td, .el-tag, .wg-node-label").all()[:60]:  # tooltips render on hover
            with contextlib.suppress(Exception):
                cell.hover(timeout=500)
        state = page.evaluate("() => ({xss: window.__xss, csp: window.__csp,"
                              " js: document.querySelectorAll('a[href^=\"javascript:\" i]').length})")
        if state["xss"] is not None or state["csp"] or state["js"]:
            findings.append(f"{path}: {state}")
    # The user's own view: My assets shows the asset's name and labels to the person it is granted to.
    user_page = browser.new_context(viewport={"width": 1600, "height": 1000})
    user_page.add_init_script(WATCH)
    mallory = user_page.new_page()
    mallory.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    ui_password_step(mallory, base, "mallory", MALLORY_PASSWORD)
    mallory.get_by_test_id("asset-row").first.wait_for()
    if not mallory.get_by_text(payload("asset")).count():
        findings.append("/ (as mallory): the asset name is not on the page as text")
    state = mallory.evaluate("() => ({xss: window.__xss, csp: window.__csp})")
    if state["xss"] is not None or state["csp"]:
        findings.append(f"/ (as mallory): {state}")
    mallory.screenshot(path=str(ARTIFACTS / "e2e-xss-my-assets.png"))
    assert findings == [] and dialogs == [], (findings, dialogs)


@pytest.mark.parametrize("next_", ["//evil.example", "/\\evil.example", "https:evil.example", "%2F%2Fevil.example",
                                   "javascript:alert(1)", "https://evil.example/", "/%5Cevil.example",
                                   "\t//evil.example", "/admin/users"])
def test_login_redirect_never_leaves_the_site(live_server: LiveServer, browser: Any, next_: str) -> None:
    base = live_server.url
    page = browser.new_context().new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{base}/login?next={next_}")
    page.get_by_test_id("login-username").fill("admin")
    page.get_by_test_id("login-password").fill(ADMIN_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expected = f"{base}/admin/users" if next_ == "/admin/users" else f"{base}/"
    page.wait_for_url(expected, timeout=15_000)
    page.wait_for_load_state("networkidle")
    assert page.url == expected and dialogs == []
