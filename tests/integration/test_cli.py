"""The ``webgate`` command as an operator uses it: migrate, create-admin, check."""

from __future__ import annotations

import os
import subprocess
import sys


def run(args, env):
    return subprocess.run([sys.executable, "-m", "webgate", *args], env=env, capture_output=True, text=True, timeout=120)


def test_migrate_create_admin_and_check(tmp_path):
    env = {**os.environ, "WEBGATE_DATA_DIR": str(tmp_path), "WEBGATE_STORAGE_URL": f"file://{tmp_path}/rec",
           "WEBGATE_GUACD": "127.0.0.1:1", "WEBGATE_ARGON2_TIME_COST": "1", "WEBGATE_ARGON2_MEMORY_KIB": "8192"}
    env.pop("WEBGATE_DATABASE_URL", None)
    first = run(["migrate"], env)
    assert first.returncode == 0 and "applied: 0001_initial" in first.stdout
    assert "up to date" in run(["migrate"], env).stdout
    created = run(["create-admin", "--username", "boss"], env)
    assert created.returncode == 0 and "one-time password:" in created.stdout
    again = run(["create-admin", "--username", "boss"], env)
    assert again.returncode == 0 and "already exists" in again.stdout
    assert oct((tmp_path / "secret.key").stat().st_mode & 0o777) == "0o600"
    check = run(["check"], env)
    # guacd on port 1 is unreachable: check must say so and fail, while the rest is ok.
    assert check.returncode == 1
    assert "ok   database   sqlite 3." in check.stdout and "FAIL guacd" in check.stdout and "start guacd" in check.stdout


def test_check_reports_unreachable_database(tmp_path):
    env = {**os.environ, "WEBGATE_DATA_DIR": str(tmp_path), "WEBGATE_DATABASE_URL": "mysql://nobody:x@127.0.0.1:1/none",
           "WEBGATE_GUACD": "127.0.0.1:1"}
    check = run(["check"], env)
    assert check.returncode == 1 and "FAIL database" in check.stdout


def test_migrate_alone_creates_the_key_file_for_the_nodes(tmp_path):
    env = {**os.environ, "WEBGATE_DATA_DIR": str(tmp_path), "WEBGATE_SECRET_KEY_FILE": str(tmp_path / "keys" / "secret.key")}
    env.pop("WEBGATE_DATABASE_URL", None)
    assert run(["migrate"], env).returncode == 0
    assert oct((tmp_path / "keys" / "secret.key").stat().st_mode & 0o777) == "0o600"
