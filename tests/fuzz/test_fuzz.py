"""Run each atheris fuzz target for a bounded time; any crash, hang or memory blow-up fails.

Each target runs in its own process (libFuzzer owns the process and exits on the first
finding) with the seed corpus in tests/fuzz/corpus/<target> (read only: new inputs go
to a temporary directory). ``WEBGATE_FUZZ_SECONDS`` (default 15) sets the time per target;
run longer by hand with ``python -m tests.fuzz.run <target> -max_total_time=600 <dir> <seeds>``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import peer_missing
from tests.fuzz.targets import TARGETS

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SECONDS = int(os.environ.get("WEBGATE_FUZZ_SECONDS", "15"))


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzz_target(target: str, tmp_path: Path) -> None:
    if importlib.util.find_spec("atheris") is None:
        peer_missing("atheris (the test extra: pip install -e '.[test]')")
    found = tmp_path / "found"
    found.mkdir()
    flags = [f"-max_total_time={SECONDS}", "-timeout=5", "-rss_limit_mb=1024", "-max_len=12000",
             f"-artifact_prefix={tmp_path}/", "-print_final_stats=1"]
    words = HERE / "dicts" / f"{target}.dict"
    if words.exists():
        flags.append(f"-dict={words}")
    proc = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "tests.fuzz.run", target, *flags, str(found), str(HERE / "corpus" / target)],
        cwd=ROOT, capture_output=True, text=True, timeout=SECONDS + 120, check=False)
    log = proc.stderr + proc.stdout
    crashes = [p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-"))]
    tail = "\n".join(line for line in log.splitlines() if not line.startswith("INFO: Instrumenting"))[-4000:]
    assert proc.returncode == 0 and not crashes, f"{target}: exit {proc.returncode}, {crashes}\n{tail}"
    assert "Done " in log and "stat::number_of_executed_units" in log, tail
