"""A real gateway (``webgate serve`` in a subprocess) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import peer_missing

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
STATIC_INDEX = Path(__file__).resolve().parents[2] / "webgate" / "static" / "index.html"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
ADMIN_PASSWORD = "E2e-Boss-Pass-1x"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.url = url
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None  # the `webgate serve` process, once started

    def cli(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "webgate", *args], env=self.env, capture_output=True,
                             text=True, timeout=60, check=True)
        return out.stdout


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    if not STATIC_INDEX.is_file():
        peer_missing("built SPA (run npm ci && npm run build)")
    port = free_port()
    env = {**os.environ, "WEBGATE_DATA_DIR": str(tmp_path), "WEBGATE_STORAGE_URL": f"file://{tmp_path}/recordings",
           "WEBGATE_PORT": str(port), "WEBGATE_ARGON2_TIME_COST": "1", "WEBGATE_ARGON2_MEMORY_KIB": "8192"}
    for key in ("WEBGATE_DATABASE_URL", "WEBGATE_REDIS_URL"):
        env.pop(key, None)
    server = LiveServer(f"http://127.0.0.1:{port}", env)
    server.cli("migrate")
    server.cli("create-admin", "--username", "admin", "--password", ADMIN_PASSWORD, "--no-mfa")
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "webgate", "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    server.proc = proc
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("webgate serve did not start: " + (tmp_path / "server.log").read_text()[-2000:])
    yield server
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def terminal_server(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> LiveServer:
    """``live_server`` allowed to dial loopback: the test peers (sshd, guacd's targets) listen there,
    which the target address policy refuses unless the operator allows it, as a lab would."""
    monkeypatch.setenv("WEBGATE_ALLOW_TARGETS", "127.0.0.0/8")
    return request.getfixturevalue("live_server")  # type: ignore[no-any-return]


@pytest.fixture
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM):
        peer_missing("chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        peer_missing("playwright (pip install playwright)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
