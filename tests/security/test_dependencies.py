"""Dependencies with known advisories: the installed versions and pyproject's floors are past them,
and SECURITY.md names the advisories of the guacd this machine runs.

Add a row when an advisory lands for something webgate runs; pip-audit on a release
candidate finds the rest (SECURITY.md, "Dependencies").
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.conftest import peer_missing

ROOT = Path(__file__).resolve().parents[2]

# distribution → (first safe version, the advisories below it)
ADVISORIES: dict[str, tuple[str, str]] = {
    "asyncssh": ("2.14.2", "CVE-2023-48795 (Terrapin prefix truncation), CVE-2023-46445, CVE-2023-46446"),
    "starlette": ("0.49.1", "CVE-2024-47874 (multipart fields DoS), CVE-2025-54121 (multipart rollover blocks "
                            "the loop), CVE-2025-62727 (Range header O(n^2) DoS)"),
    "python-multipart": ("0.0.18", "CVE-2024-24762 (Content-Type ReDoS), CVE-2024-53981 (boundary DoS)"),
    "cryptography": ("44.0.1", "CVE-2023-50782 (RSA decryption oracle), CVE-2024-26130 (PKCS#12 NULL "
                               "dereference), CVE-2024-12797 (the OpenSSL in its wheels)"),
    "h11": ("0.16.0", "CVE-2025-43859 (chunked-encoding request smuggling; uvicorn's fallback HTTP parser)"),
    "PyYAML": ("5.4", "CVE-2020-14343 (full_load code execution)"),
    "uvicorn": ("0.11.7", "CVE-2020-7694 (log injection)"),
}
# guacd (apache/guacamole-server) advisories that affect a version: fixed in, CVE
GUACD_ADVISORIES = [("1.5.2", "CVE-2023-30576"), ("1.5.4", "CVE-2023-43826"), ("1.6.0", "CVE-2024-35164")]


def _pins() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    return {r.name.lower(): r for r in requirements}


@pytest.mark.parametrize("dist", sorted(ADVISORIES))
def test_installed_version_is_past_its_advisories(dist: str) -> None:
    floor, why = ADVISORIES[dist]
    try:
        installed = version(dist)
    except PackageNotFoundError:
        pytest.fail(f"{dist} is not installed; drop it from ADVISORIES if webgate no longer uses it")
    assert Version(installed) >= Version(floor), f"{dist} {installed} is affected by {why}; need >= {floor}"


@pytest.mark.parametrize("dist", sorted(ADVISORIES))
def test_pyproject_refuses_versions_with_advisories(dist: str) -> None:
    """A fresh install can never pick an affected version: the floor is in pyproject.toml."""
    floor, why = ADVISORIES[dist]
    pins = _pins()
    assert dist.lower() in pins, f"pin {dist}>={floor} in pyproject.toml ({why})"
    spec = pins[dist.lower()].specifier
    lows = [Version(s.version) for s in spec if s.operator in (">=", ">", "==", "~=")]
    assert lows and max(lows) >= Version(floor), f"{dist}{spec} does not exclude versions before {floor}: {why}"


def test_security_md_names_the_advisories_of_the_local_guacd() -> None:
    if shutil.which("guacd") is None:
        peer_missing("guacd")  # the compose image is 1.6+: nothing local to document
    out = subprocess.run(["guacd", "-v"], capture_output=True, text=True, timeout=10, check=False)  # noqa: S607
    found = re.search(r"version (\d+\.\d+\.\d+)", out.stdout + out.stderr)
    assert found, out
    local = Version(found.group(1))
    text = (ROOT / "SECURITY.md").read_text()
    missing = [cve for fixed, cve in GUACD_ADVISORIES if local < Version(fixed) and cve not in text]
    assert missing == [], f"guacd {local} is affected by {missing}: say so in SECURITY.md"
    if local < Version("1.6.0"):
        assert re.search(r"guacd.{0,80}1\.6", text, re.S), "SECURITY.md must recommend guacd 1.6 or newer"
