"""Real peers for integration tests: OpenSSH's sshd (tests/peers/sshd.py), guacd and Xvnc
(tests/peers/desktop.py) and the gateway served by uvicorn.

The peers listen on loopback, which the target address policy refuses by default, so
these tests allow 127.0.0.0/8 explicitly.
"""

from __future__ import annotations

import pytest

from tests.peers.gateway import gateway  # noqa: F401 - fixture
from tests.peers.sshd import (  # noqa: F401 - fixture and names the test modules import from here
    KEY_PASSPHRASE,
    PASSWORD,
    SshPeer,
    _ensure_user,
    _wait_listening,
    free_port,
    sshd,
)
from webgate.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test peers listen on loopback, which the target address policy refuses by default."""
    return settings.with_(allow_targets=("127.0.0.0/8",))
