"""The one rule for a missing real peer: it fails in CI and skips on a developer machine.

Its own module (``tests.conftest`` re-exports it) so that the peers, which the root
conftest imports for their fixtures, and the benchmarks can import it without a cycle.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_PEERS = os.environ.get("WEBGATE_REQUIRE_PEERS") == "1" or os.environ.get("CI") == "true"


def peer_missing(what: str) -> None:
    """A missing real peer fails in CI and skips on a developer machine."""
    if REQUIRE_PEERS:
        pytest.fail(f"required test peer missing: {what}")
    pytest.skip(f"test peer missing: {what}")
