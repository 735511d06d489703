"""OpenSSH's sshd on a loopback port with test users, as a session-scoped pytest fixture.

sshd runs once per test session with a generated host key; the users are local
accounts created with useradd (password, key with passphrase, keyboard-interactive
only). A machine without /usr/sbin/sshd skips these tests locally and fails in CI.
Shared by the integration, security and end-to-end tests (import the fixture into
a conftest or test module).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.peers.required import peer_missing

SSHD = "/usr/sbin/sshd"
PASSWORD = "Sshd-Test-Pass-7"
KEY_PASSPHRASE = "key-passphrase-3"


@dataclass(frozen=True)
class SshPeer:
    host: str
    port: int
    password_user: str
    key_user: str
    kbd_user: str
    password: str
    private_key: str  # OpenSSH format, encrypted with KEY_PASSPHRASE
    passphrase: str
    host_key: str  # the server's public host key, OpenSSH one-line form


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ensure_user(name: str, password: str) -> Path:
    if subprocess.run(["id", name], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True)
    subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
    return Path(os.path.expanduser(f"~{name}"))


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sshd did not start listening")


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshPeer]:
    if not os.path.exists(SSHD) or shutil.which("ssh-keygen") is None:
        peer_missing("sshd")
    work = tmp_path_factory.mktemp("sshd")
    os.chmod(work, 0o755)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / "host_key")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", KEY_PASSPHRASE, "-f", str(work / "user_key")],
                   check=True)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    users = ("wgpass", "wgkey", "wgkbd")
    for name in users:
        _ensure_user(name, PASSWORD)
    ssh_dir = Path(os.path.expanduser("~wgkey")) / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text((work / "user_key.pub").read_text())
    shutil.chown(ssh_dir, "wgkey", "wgkey")
    shutil.chown(ssh_dir / "authorized_keys", "wgkey", "wgkey")
    port = free_port()
    config = work / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {work / 'host_key'}\nPidFile {work / 'sshd.pid'}\n"
        "PasswordAuthentication yes\nKbdInteractiveAuthentication yes\nUsePAM yes\nPubkeyAuthentication yes\n"
        f"AllowUsers {' '.join(users)}\nAcceptEnv LANG LC_*\nSubsystem sftp internal-sftp\n"
        "PrintMotd no\nPrintLastLog no\n"
        "Match User wgkbd\n    PasswordAuthentication no\n")
    subprocess.run([SSHD, "-t", "-f", str(config)], check=True)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL,
                            stderr=open(work / "sshd.log", "wb"))  # noqa: SIM115 - closed with the process
    try:
        _wait_listening(port, proc)
        yield SshPeer(host="127.0.0.1", port=port, password_user="wgpass", key_user="wgkey", kbd_user="wgkbd",
                      password=PASSWORD, private_key=(work / "user_key").read_text(), passphrase=KEY_PASSPHRASE,
                      host_key=(work / "host_key.pub").read_text().strip())
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
