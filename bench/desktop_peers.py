"""The processes the desktop benchmark drives: guacd 1.3.0, Xvnc + xterm painters, guacamole-lite, webgate.

Everything listens on 127.0.0.1 on free ports. guacd and Xvnc are started as the tests
start them (tests/peers/desktop.py). guacamole-lite comes from npm into a cache folder
outside the repository (``NODE_CACHE``) and is run by a small server script written at
run time; its connection token is what its README describes: AES-256-CBC over the JSON
connection settings, ``base64(JSON {iv, value})``. webgate is the real
``python -m webgate serve`` (SQLite in the temp dir, bench/terminal_peers.py), provisioned
with a VNC asset through the REST API, and the same with its recording switched off
(bench/desktop_norec.py).
"""

# ruff: noqa: S603, S607 - a launcher of local benchmark peers: fixed programs and arguments
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bench.terminal_peers import (
    ADMIN_PASSWORD,
    PERSON,
    PERSON_PASSWORD,
    ROOT,
    Gateway,
    free_port,
    gateway_env,
    login_cookie,
    wait_port,
)
from tests.peers.desktop import guacd_children, stop_guacd  # noqa: F401 - bench/desktop.py uses both

VNC_PASSWORD = "bench-vnc1"  # noqa: S105 - a throwaway local Xvnc
NODE_CACHE = Path("/var/cache/webgate/bench-node")
LITE_VERSION = "1.2.0"
LITE_KEY = os.urandom(32)
SIZE = (1024, 768)
# What every client says it decodes: guacamole-lite's default and the measurement. With
# WebP offered too (bench --webp), guacd spends most of its time encoding WebP and carries ~4× less.
IMAGE = ["image/png", "image/jpeg"]


def _log(work: Path, name: str) -> BinaryIO:
    return open(work / name, "wb")  # noqa: SIM115 - owned by the child process


def start_guacd(work: Path, procs: list[subprocess.Popen[bytes]]) -> int:
    if shutil.which("guacd") is None:
        raise SystemExit("guacd is not installed (TESTBED.md: guacd 1.3.0 from bullseye)")
    port = free_port()
    # As scripts/lib.sh starts the local guacd: a batch task, which does not preempt the relays when it wakes.
    proc = subprocess.Popen(["chrt", "--batch", "0", "guacd", "-b", "127.0.0.1", "-l", str(port), "-f", "-L", "info"],
                            stdout=subprocess.DEVNULL, stderr=_log(work, "guacd.log"))
    procs.append(proc)
    wait_port(port, proc, "guacd")
    return port


def free_display() -> int:
    for n in range(200, 900):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():  # noqa: S108
            return n
    raise SystemExit("no free X display number")


def start_desktop(work: Path, procs: list[subprocess.Popen[bytes]], painter: list[str]) -> int:
    """Xvnc (VncAuth) 1024×768 with one full-screen xterm running the painter; returns the RFB port."""
    for binary in ("Xvnc", "vncpasswd", "xterm"):
        if shutil.which(binary) is None:
            raise SystemExit(f"{binary} is not installed (TESTBED.md)")
    port, display = free_port(), free_display()
    pw = work / f"vncpasswd-{display}.bin"
    pw.write_bytes(subprocess.run(["vncpasswd", "-f"], input=f"{VNC_PASSWORD}\n".encode(), capture_output=True,
                                  check=True).stdout)
    pw.chmod(0o600)
    xvnc = subprocess.Popen(["Xvnc", f":{display}", "-rfbport", str(port), "-localhost", "-nolisten", "tcp",
                             "-SecurityTypes", "VncAuth", "-PasswordFile", str(pw), "-geometry", "x".join(map(str, SIZE)),
                             "-depth", "24", "-AlwaysShared",
                             "-BlacklistThreshold", "100000"],  # 50 logins at once are not an attack here
                            stdout=subprocess.DEVNULL, stderr=_log(work, f"xvnc-{display}.log"))
    procs.append(xvnc)
    wait_port(port, xvnc, "Xvnc")
    # 6×13 "fixed" font: 170×59 cells fill 1020×767 pixels, i.e. the whole 1024×768 screen.
    cmd = [sys.executable, str(ROOT / "bench" / "desktop_painter.py"), *painter]
    procs.append(subprocess.Popen(["xterm", "-geometry", "170x59+0+0", "-fn", "fixed", "-e", *cmd],
                                  env={**os.environ, "DISPLAY": f":{display}"},
                                  stdout=subprocess.DEVNULL, stderr=_log(work, f"xterm-{display}.log")))
    time.sleep(1.0)
    return port


# -- guacamole-lite -------------------------------------------------------------------------

SERVER_JS = """
const GuacamoleLite = require('guacamole-lite');
const [port, guacdPort, key] = process.argv.slice(2);
new GuacamoleLite({port: Number(port), host: '127.0.0.1'}, {host: '127.0.0.1', port: Number(guacdPort)},
                  {crypt: {cypher: 'AES-256-CBC', key: Buffer.from(key, 'hex')}, log: {level: 'ERRORS'},
                   maxInactivityTime: 0});
"""


def ensure_guacamole_lite() -> Path | None:
    """guacamole-lite from npm into NODE_CACHE (outside the repository); None when npm cannot get it."""
    module = NODE_CACHE / "node_modules" / "guacamole-lite"
    if not module.exists():
        if shutil.which("npm") is None:
            print("npm is not installed: guacamole-lite is not measured", file=sys.stderr)
            return None
        NODE_CACHE.mkdir(parents=True, exist_ok=True)
        if not (NODE_CACHE / "package.json").exists():
            (NODE_CACHE / "package.json").write_text('{"name": "wg-bench-node", "private": true}\n')
        try:
            subprocess.run(["npm", "install", "--no-audit", "--no-fund", f"guacamole-lite@{LITE_VERSION}"],
                           cwd=NODE_CACHE, check=True, timeout=300, capture_output=True)
        except (subprocess.SubprocessError, OSError) as exc:
            print(f"guacamole-lite could not be installed: {exc}", file=sys.stderr)
            return None
    return module if module.exists() else None


def start_guacamole_lite(work: Path, guacd_port: int) -> Gateway:
    script = NODE_CACHE / "wg-bench-server.js"
    script.write_text(SERVER_JS)
    port = free_port()
    proc = subprocess.Popen(["node", str(script), str(port), str(guacd_port), LITE_KEY.hex()], cwd=NODE_CACHE,
                            stdout=_log(work, "guacamole-lite.log"), stderr=subprocess.STDOUT)
    wait_port(port, proc, "guacamole-lite")
    return Gateway(port=port, proc=proc, label="guacamole-lite")


def lite_token(vnc_port: int, image: list[str]) -> str:
    """guacamole-lite's token: base64(JSON {iv, value}) with value = AES-256-CBC(JSON settings)."""
    settings = {"connection": {"type": "vnc", "settings": {
        "hostname": "127.0.0.1", "port": str(vnc_port), "password": VNC_PASSWORD, "width": SIZE[0],
        "height": SIZE[1], "dpi": 96, "audio": [], "image": image, "disable-copy": "true",
        "disable-paste": "true"}}}
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    plain = padder.update(json.dumps(settings).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(LITE_KEY), modes.CBC(iv)).encryptor()
    value = encryptor.update(plain) + encryptor.finalize()
    outer = {"iv": base64.b64encode(iv).decode(), "value": base64.b64encode(value).decode()}
    return base64.b64encode(json.dumps(outer).encode()).decode()


# -- webgate ---------------------------------------------------------------------------------

@dataclass
class Provisioned:
    cookie: str
    assets: dict[int, str]  # VNC port → asset id


def start_webgate(data: Path, guacd_port: int, vnc_ports: list[int], *, recording: bool = True) -> Gateway:
    env = {**gateway_env(data, ",".join(f"127.0.0.1:{p}" for p in vnc_ports)),
           "WEBGATE_GUACD": f"127.0.0.1:{guacd_port}"}
    port = free_port()
    entry = ["-m", "webgate"] if recording else [str(ROOT / "bench" / "desktop_norec.py")]
    proc = subprocess.Popen([sys.executable, *entry, "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=_log(data, f"gateway-{port}.log"), stderr=subprocess.STDOUT)
    wait_port(port, proc, "webgate", timeout=60)
    return Gateway(port=port, proc=proc, label="webgate" if recording else "webgate (recording off)")


def create_admin(data: Path) -> None:
    subprocess.run([sys.executable, "-m", "webgate", "create-admin", "--username", "admin", "--password",
                    ADMIN_PASSWORD, "--no-mfa"], cwd=ROOT, env=gateway_env(data), check=True,
                   stdout=subprocess.DEVNULL)


def provision(gw: Gateway, vnc_ports: list[int]) -> Provisioned:
    """One VNC asset per desktop with a stored password account, a plain user permitted them."""
    with httpx.Client(base_url=f"http://{gw.addr}/api/v1", timeout=60) as http:
        r = http.post("/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        r.raise_for_status()
        http.headers["X-CSRF-Token"] = r.json()["csrf_token"]

        def post(path: str, body: dict[str, object]) -> dict[str, object]:
            resp = http.post(path, json=body)
            if resp.status_code >= 300:
                raise SystemExit(f"POST {path}: {resp.status_code} {resp.text}")
            return resp.json()  # type: ignore[no-any-return]

        assets: dict[int, str] = {}
        for port in vnc_ports:
            asset = post("/assets", {"name": f"bench-desk-{port}", "address": "127.0.0.1", "platform": "linux",
                                     "protocols": [{"name": "vnc", "port": port}]})
            post("/accounts", {"asset_id": asset["id"], "name": "vnc", "username": "vnc", "secret_type": "password",
                               "secret": VNC_PASSWORD})
            assets[port] = str(asset["id"])
        person = post("/users", {"username": PERSON, "password": PERSON_PASSWORD})
        post("/permissions", {"name": "bench", "user_ids": [person["id"]], "asset_ids": list(assets.values()),
                              "accounts": ["vnc"], "protocols": ["vnc"], "actions": ["connect"]})
    return Provisioned(cookie=login_cookie(gw), assets=assets)
