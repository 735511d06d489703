"""The processes the terminal benchmark drives: sshd, the webgate gateway, WebSSH, ttyd.

Everything listens on 127.0.0.1 only, on free ports, with state in one temporary
directory. sshd is started the way tests/integration/conftest.py starts it (generated
host key, a local test user) with limits raised so that 500 sessions can open at once.
The gateway is the real ``python -m webgate serve`` (SQLite in the temp dir), provisioned
through its REST API like an admin would. WebSSH comes from PyPI into its own venv under
/tmp so it never touches the project's environment. ttyd (a C gateway: libwebsockets +
libuv, one ``ssh`` process per browser) is not a bookworm binary package: it is built once
from Debian's own source package (sid's ``ttyd_1.7.7.orig.tar.xz``, checked against the
SHA-256 in Debian's Sources index) with bookworm's libraries, into a cache outside the repo.
"""

# ruff: noqa: S603, S607 - a launcher of local benchmark peers: fixed programs and arguments
from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SSHD = "/usr/sbin/sshd"
USER = "wgbench"
USER_PASSWORD = "Bench-Term-Pass-7"  # noqa: S105 - throwaway local test account
ADMIN_PASSWORD = "Gate-Keeper-Pass-2026!"  # noqa: S105
PERSON = "termbench"
PERSON_PASSWORD = "Typing-Speed-Pass-2026!"  # noqa: S105
PEER_VENV = Path("/tmp/wg-bench-peers")  # noqa: S108 - a reusable cache of PyPI peers, outside the repo
TTYD_CACHE = Path(os.environ.get("WEBGATE_CACHE", "/var/cache/webgate")) / "ttyd-1.7.7"
TTYD_ORIG = "pool/main/t/ttyd/ttyd_1.7.7.orig.tar.xz"  # under the Debian archive apt is configured with
TTYD_SHA256 = "48eba3f76af237f4c09cceb5ddbe0f845832557819f7e5c60c88285f8822af88"  # Debian sid, ttyd 1.7.7-8
TTYD_BUILD_DEPS = ("cmake", "make", "gcc", "libwebsockets-dev", "libjson-c-dev", "libuv1-dev", "zlib1g-dev",
                   "libssl-dev")
# The ssh behind ttyd offers the gateway's ciphers (AES-GCM first), as the direct asyncssh client does.
SSH_CIPHERS = "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{what} did not listen on {port} within {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@dataclass
class Sshd:
    port: int
    key_path: Path  # unencrypted ed25519 private key of USER
    proc: subprocess.Popen[bytes]

    @property
    def private_key(self) -> str:
        return self.key_path.read_text()


def start_sshd(work: Path) -> Sshd:
    if not os.path.exists(SSHD):
        raise SystemExit("sshd is not installed (apt-get install openssh-server)")
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o755)  # noqa: S103 - sshd (and its user) must traverse it
    for name in ("host_key", "user_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / name)], check=True)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    if subprocess.run(["id", USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", USER], check=True)
    subprocess.run(["chpasswd"], input=f"{USER}:{USER_PASSWORD}\n", text=True, check=True)
    ssh_dir = Path(os.path.expanduser(f"~{USER}")) / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text((work / "user_key.pub").read_text())
    for p in (ssh_dir, ssh_dir / "authorized_keys"):
        shutil.chown(p, USER, USER)
    port = free_port()
    config = work / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {work / 'host_key'}\nPidFile {work / 'sshd.pid'}\n"
        "PasswordAuthentication yes\nPubkeyAuthentication yes\nUsePAM yes\n"
        f"AllowUsers {USER}\nAcceptEnv LANG LC_*\nPrintMotd no\nPrintLastLog no\n"
        "MaxStartups 2000\nMaxAuthTries 6\nLoginGraceTime 120\n")
    subprocess.run([SSHD, "-t", "-f", str(config)], check=True)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL,
                            stderr=open(work / "sshd.log", "wb"))  # noqa: SIM115 - closed with the process
    # The target as if on a host of its own: SCHED_BATCH (inherited by every session's sshd and shell)
    # keeps a keystroke's wake-up of sshd from preempting whichever gateway is relaying, as guacd's
    # does for the desktop relay (guacd/README.md). Every path talks to this sshd alike.
    os.sched_setscheduler(proc.pid, os.SCHED_BATCH, os.sched_param(0))
    wait_port(port, proc, "sshd")
    return Sshd(port=port, key_path=work / "user_key", proc=proc)


def payload_file(work: Path, megabytes: int) -> Path:
    """Terminal-like text (base64 lines of random bytes): what `cat` of a log looks like to a compressor."""
    path = work / f"payload-{megabytes}mb.txt"
    if not path.exists():
        with open("/dev/urandom", "rb") as src, path.open("wb") as out:
            written, target = 0, megabytes * 1_000_000
            while written < target:
                chunk = base64.encodebytes(src.read(57 * 1024))  # 76-char lines
                out.write(chunk[: target - written])
                written += min(len(chunk), target - written)
        os.chmod(path, 0o644)
        os.chmod(work, 0o755)  # noqa: S103 - the sshd user reads the payload
    return path


# -- the gateway ---------------------------------------------------------------------------

@dataclass
class Gateway:
    port: int
    proc: subprocess.Popen[bytes]
    label: str
    pid: int = 0  # the server process (differs from proc.pid when started under a profiler)

    def __post_init__(self) -> None:
        self.pid = self.pid or self.proc.pid

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"


def gateway_env(data: Path, allow: str = "") -> dict[str, str]:
    """The gateway's configuration; ``allow`` lifts the loopback refusal for exactly the bench's sshd."""
    return {**os.environ, "WEBGATE_DATA_DIR": str(data), "WEBGATE_DATABASE_URL": f"sqlite://{data / 'wg.sqlite3'}",
            "WEBGATE_STORAGE_URL": f"file://{data / 'recordings'}", "WEBGATE_LOG_LEVEL": "warning",
            "WEBGATE_NODE_NAME": "bench", "WEBGATE_ALLOW_TARGETS": allow}


def start_gateway(data: Path, sshd: Sshd, *, recording: bool = True, prefix: tuple[str, ...] = ()) -> Gateway:
    """`python -m webgate serve`, or the same with recording switched off (bench/terminal_norec.py).

    ``prefix`` runs it under another program (py-spy record … --); the server is then its child.
    """
    env = gateway_env(data, f"127.0.0.1:{sshd.port}")
    port = free_port()
    entry = ["-m", "webgate"] if recording else [str(ROOT / "bench" / "terminal_norec.py")]
    log = open(data / f"gateway-{port}.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([*prefix, sys.executable, *entry, "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_port(port, proc, "webgate", timeout=60)
    pid = proc.pid
    if prefix:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        pid = int(children[0])
    return Gateway(port=port, proc=proc, label="webgate" if recording else "webgate (recording off)", pid=pid)


def create_admin(data: Path) -> None:
    subprocess.run([sys.executable, "-m", "webgate", "create-admin", "--username", "admin", "--password",
                    ADMIN_PASSWORD, "--no-mfa"], cwd=ROOT, env=gateway_env(data), check=True,
                   stdout=subprocess.DEVNULL)


def provision(gw: Gateway, sshd: Sshd) -> tuple[str, str]:
    """Asset, key account, a plain user and a permission, through the REST API; returns (asset id, cookie)."""
    base = f"http://{gw.addr}/api/v1"
    with httpx.Client(base_url=base, timeout=60) as http:
        r = http.post("/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        r.raise_for_status()
        assert r.json()["stage"] == "done", r.json()
        http.headers["X-CSRF-Token"] = r.json()["csrf_token"]

        def post(path: str, body: dict[str, object]) -> dict[str, object]:
            resp = http.post(path, json=body)
            if resp.status_code >= 300:
                raise SystemExit(f"POST {path}: {resp.status_code} {resp.text}")
            return resp.json()  # type: ignore[no-any-return]

        asset = post("/assets", {"name": "bench-ssh", "address": "127.0.0.1", "platform": "linux",
                                 "protocols": [{"name": "ssh", "port": sshd.port}]})
        post("/accounts", {"asset_id": asset["id"], "name": "bench", "username": USER, "secret_type": "ssh_key",
                           "secret": sshd.private_key})
        person = post("/users", {"username": PERSON, "password": PERSON_PASSWORD})
        post("/permissions", {"name": "bench", "user_ids": [person["id"]], "asset_ids": [asset["id"]],
                              "accounts": ["bench"], "protocols": ["ssh"], "actions": ["connect", "paste"]})
    return str(asset["id"]), login_cookie(gw)


def login_cookie(gw: Gateway) -> str:
    with httpx.Client(base_url=f"http://{gw.addr}/api/v1", timeout=60) as http:
        r = http.post("/auth/login", json={"username": PERSON, "password": PERSON_PASSWORD})
        r.raise_for_status()
        return f"webgate_session={http.cookies['webgate_session']}"


# -- WebSSH --------------------------------------------------------------------------------

def ensure_webssh() -> Path | None:
    """WebSSH (tornado + paramiko) from PyPI into PEER_VENV; None when it cannot be installed."""
    wssh = PEER_VENV / "bin" / "wssh"
    if wssh.exists():
        return wssh
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True, timeout=120)
        subprocess.run([str(PEER_VENV / "bin" / "pip"), "install", "-q", "webssh"], check=True, timeout=300)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"WebSSH could not be installed: {exc}", file=sys.stderr)
        return None
    return wssh if wssh.exists() else None


def start_webssh(wssh: Path, work: Path) -> Gateway:
    # --encoding skips WebSSH's extra `locale charmap` exec per session; --maxconn lifts its 20-per-IP cap;
    # --timeout/--delay give 500 simultaneous paramiko handshakes room on 2 cores.
    port = free_port()
    log = open(work / f"webssh-{port}.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([str(wssh), "--address=127.0.0.1", f"--port={port}", "--policy=autoadd",
                             "--xsrf=False", "--encoding=utf-8", "--maxconn=100000", "--timeout=60",
                             "--delay=60", "--logging=warning"], cwd=work, stdout=log, stderr=subprocess.STDOUT)
    wait_port(port, proc, "wssh")
    return Gateway(port=port, proc=proc, label="WebSSH")


# -- ttyd ------------------------------------------------------------------------------------

def debian_archive() -> str:
    """The Debian archive this machine's apt uses (its pool holds every suite's sources), e.g. ``http://…/debian/``."""
    uris = subprocess.run(["apt-get", "indextargets", "--format", "$(REPO_URI)"], capture_output=True, text=True,
                          check=True).stdout.split()
    found = next((u for u in uris if u.rstrip("/").endswith("/debian")), None)
    if found is None:
        raise RuntimeError("apt has no Debian archive configured (apt-get indextargets)")
    return found if found.endswith("/") else found + "/"


def ensure_ttyd() -> Path | None:
    """ttyd built from Debian's source package (cached); None, with the reason printed, when it cannot be."""
    binary = TTYD_CACHE / "ttyd"
    if binary.exists():
        return binary
    try:
        missing = [p for p in TTYD_BUILD_DEPS
                   if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
        if missing:
            subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], check=True,
                           stdout=subprocess.DEVNULL, timeout=600)
        lws = Path("/usr/include/lws_config.h").read_text()
        if "#define LWS_WITH_LIBUV" not in lws:
            raise RuntimeError("Debian's libwebsockets is built without libuv, which ttyd needs")
        TTYD_CACHE.mkdir(parents=True, exist_ok=True)
        tarball = TTYD_CACHE / "ttyd_1.7.7.orig.tar.xz"
        if not tarball.exists():
            with urllib.request.urlopen(debian_archive() + TTYD_ORIG, timeout=120) as r:  # noqa: S310
                data = r.read()
            if hashlib.sha256(data).hexdigest() != TTYD_SHA256:
                raise RuntimeError("the downloaded source does not match Debian's checksum")
            tarball.write_bytes(data)
        subprocess.run(["tar", "xf", str(tarball), "-C", str(TTYD_CACHE)], check=True)
        src, build = TTYD_CACHE / "ttyd-1.7.7", TTYD_CACHE / "build"
        for step in (["cmake", "-S", str(src), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release"],
                     ["make", "-C", str(build), f"-j{os.cpu_count() or 2}"]):
            done = subprocess.run(step, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                raise RuntimeError(f"{step[0]} failed: {done.stderr[-2000:]}")
        shutil.copy2(build / "ttyd", binary)
    except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
        print(f"ttyd could not be built: {exc}", file=sys.stderr)
        return None
    return binary


def start_ttyd(ttyd: Path, work: Path, sshd: Sshd) -> Gateway:
    """ttyd running ``ssh`` to the bench's sshd for each browser (``ttyd→ssh``), writable, as its docs show."""
    port = free_port()
    log = open(work / f"ttyd-{port}.log", "wb")  # noqa: SIM115 - closed with the process
    ssh = ["ssh", "-tt", "-i", str(sshd.key_path), "-p", str(sshd.port), "-c", SSH_CIPHERS, "-F", "/dev/null",
           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
           "-o", "BatchMode=yes", f"{USER}@127.0.0.1"]
    proc = subprocess.Popen([str(ttyd), "--port", str(port), "--interface", "127.0.0.1", "--writable",
                             "--debug", "1", *ssh], cwd=work, stdout=log, stderr=subprocess.STDOUT)
    wait_port(port, proc, "ttyd")
    return Gateway(port=port, proc=proc, label="ttyd")


# -- process accounting ----------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for kid in kids:
            out += [kid, *_descendants(kid)]
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, its reaped children and its live descendants (ttyd's ssh) from /proc."""
    total = 0
    for one in (pid, *_descendants(pid)):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended between the listing and now: counted in its parent's reaped children (or lost)
        total += sum(int(x) for x in fields[11:15])
    return total / _TICK


def rss_kib(pid: int) -> int:
    """Memory of a process and its live descendants (ttyd's ssh per session): the sum of their
    proportional shares (Pss), so that the libraries they all map count once. For one process the
    difference between two readings is its resident growth, as with VmRSS."""
    total = 0
    for one in (pid, *_descendants(pid)):
        try:
            rollup = Path(f"/proc/{one}/smaps_rollup").read_text()
        except OSError:
            continue
        found = next((ln for ln in rollup.splitlines() if ln.startswith("Pss:")), None)
        total += int(found.split()[1]) if found else 0
    return total


def children(pid: int) -> int:
    """Direct children of a process (sshd: one per connection still being served or torn down)."""
    try:
        return len(Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
    except OSError:
        return 0


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat: other load shows up here."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return (total - idle) / _TICK, total / _TICK
