"""WEB: security headers on every kind of answer, and errors that reveal nothing of the server."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import ORIGIN
from tests.security._routes import API

# What a leaked stack trace or server path looks like in a response body.
LEAKS = re.compile(r"Traceback|File \"|\.py\b|/work/|/home/|/usr/|site-packages|RuntimeError|Exception:")


def directives(csp: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


async def test_csp_and_browser_hardening_headers(client):
    for path in ("/", "/login", f"{API}/auth/me", "/healthz"):
        r = await client.get(path)
        csp = directives(r.headers["content-security-policy"])
        assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"], path
        assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"], path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY", path
        assert r.headers["referrer-policy"] == "same-origin", path
        assert "strict-transport-security" not in r.headers, path  # plain http: HSTS would be ignored


async def test_api_answers_are_never_cached(admin_client):
    for path in (f"{API}/auth/me", f"{API}/dashboard", f"{API}/no-such-thing"):
        assert "no-store" in (await admin_client.get(path)).headers["cache-control"], path
    r = await admin_client.post(f"{API}/auth/login", json={"username": "x", "password": "y"})
    assert "no-store" in r.headers["cache-control"]


class TestBehindHttps:
    @pytest.fixture
    def settings(self, settings):
        return settings.with_(public_url="https://gate.example.test")

    async def test_hsts_is_sent(self, client):
        for path in ("/", f"{API}/auth/me"):
            hsts = (await client.get(path)).headers["strict-transport-security"]
            assert "max-age=31536000" in hsts and "includeSubDomains" in hsts


async def test_an_unexpected_error_in_a_handler_reveals_nothing(admin_client, monkeypatch, caplog):
    import webgate.api.auth as auth_api

    async def broken(principal):
        raise RuntimeError("boom in /work/main/webgate/secret_module.py with password=hunter2")

    monkeypatch.setattr(auth_api, "describe", broken)
    r = await admin_client.get(f"{API}/auth/me")
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal_error"
    assert not LEAKS.search(r.text) and "hunter2" not in r.text and "boom" not in r.text
    assert "no-store" in r.headers["cache-control"]
    assert "boom" in caplog.text  # the admin still finds it in the server log


async def test_an_error_outside_any_handler_reveals_nothing(app, monkeypatch):
    import webgate.middleware as middleware

    async def broken(scope, services):
        raise RuntimeError("boom in /work/main/webgate/auth/principal.py")

    monkeypatch.setattr(middleware, "resolve", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as browser:
        r = await browser.get(f"{API}/auth/me")
    assert r.status_code == 500
    assert not LEAKS.search(r.text) and "boom" not in r.text


async def test_ordinary_errors_reveal_nothing(admin_client):
    answers = [
        await admin_client.post(f"{API}/auth/switch-org", content=b"{not json", headers={"Content-Type": "application/json"}),
        await admin_client.post(f"{API}/auth/switch-org", content=b"\xff\xfe\x00", headers={"Content-Type": "application/json"}),
        await admin_client.post(f"{API}/auth/switch-org", json={"org_id": "../../etc/passwd"}),
        await admin_client.post(f"{API}/auth/switch-org", json=["a list"]),
        await admin_client.post(f"{API}/auth/switch-org", content=b"[" * 100_000, headers={"Content-Type": "application/json"}),
        await admin_client.post(f"{API}/auth/switch-org", content=b"x" * (2 << 20)),
        await admin_client.get(f"{API}/no-such-thing"),
        await admin_client.delete(f"{API}/auth/me"),
    ]
    for r in answers:
        assert 400 <= r.status_code < 500, (r.request.url, r.status_code)
        assert not LEAKS.search(r.text), r.text[:300]
