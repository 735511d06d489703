"""The local guacd that the run command starts (scripts/lib.sh ``start_guacd``)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.peers.desktop import stop_guacd
from tests.peers.required import peer_missing
from tests.peers.sshd import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_local_guacd_is_a_batch_task_that_answers(tmp_path: Path) -> None:
    """guacd encodes every desktop's images; started as a batch task (its connection processes
    inherit it) it does not preempt the gateway's relaying when it wakes up."""
    if shutil.which("guacd") is None:
        peer_missing("guacd")
    port = free_port()
    script = f'set -euo pipefail; . scripts/lib.sh; DATA_DIR="{tmp_path}"; WEBGATE_GUACD=127.0.0.1:{port}; start_guacd'
    started = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True,  # noqa: S603, S607
                             timeout=60)
    assert started.returncode == 0, started.stderr
    pid = int((tmp_path / "guacd.pid").read_text())
    try:
        assert Path(f"/proc/{pid}/comm").read_text().strip() == "guacd"  # $! is guacd itself, not a wrapper
        assert os.sched_getscheduler(pid) == os.SCHED_BATCH
        # It serves: the handshake's first step is answered with the protocol's arguments.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"6.select,3.vnc;")
            deadline, got = time.monotonic() + 10, b""
            while b";" not in got and time.monotonic() < deadline:
                got += sock.recv(4096)
        assert got.startswith(b"4.args,")
    finally:
        stop_guacd(pid)  # not this test's child (setsid in the script's background)

