"""Settings come from WEBGATE_* (and an optional file) and refuse nonsense at start-up."""

from __future__ import annotations

import ipaddress

import pytest

from webgate.errors import ConfigError
from webgate.settings import Settings


def test_embedded_defaults_need_no_server(tmp_path):
    s = Settings.from_env({"WEBGATE_DATA_DIR": str(tmp_path)})
    assert s.db_url == f"sqlite://{(tmp_path / 'webgate.sqlite3').resolve()}"
    assert s.redis_url == "" and s.recordings_url.startswith("file://")
    assert s.key_file == tmp_path / "secret.key"
    assert s.guacd == (("127.0.0.1", 4822),)


def test_env_file_is_read_and_environment_wins(tmp_path):
    env_file = tmp_path / "webgate.env"
    env_file.write_text("WEBGATE_PORT=9000\nWEBGATE_NODE_NAME=from-file\n# comment\n")
    s = Settings.from_env({"WEBGATE_ENV_FILE": str(env_file), "WEBGATE_NODE_NAME": "from-env"})
    assert s.port == 9000 and s.node_name == "from-env"


def test_mysql_redis_s3_and_several_guacds():
    s = Settings.from_env({"WEBGATE_DATABASE_URL": "mysql://wg:pw@db:3306/webgate", "WEBGATE_REDIS_URL": "redis://r:6379/0",
                           "WEBGATE_STORAGE_URL": "s3://recs/prod", "WEBGATE_GUACD": "g1:4822, g2:4823",
                           "WEBGATE_TRUSTED_PROXIES": "10.0.0.0/8,::1"})
    assert s.dialect == "mysql" and s.guacd == (("g1", 4822), ("g2", 4823))
    assert ipaddress.ip_address("10.2.3.4") in s.trusted_proxies[0]
    assert "pw" not in s.public_dict()["database_url"]


@pytest.mark.parametrize("env, word", [
    ({"WEBGATE_DATABASE_URL": "postgres://x/y"}, "unsupported"),
    ({"WEBGATE_PORT": "eighty"}, "number"),
    ({"WEBGATE_GUACD": "nohostport"}, "host:port"),
    ({"WEBGATE_TRUSTED_PROXIES": "not-a-net"}, "TRUSTED_PROXIES"),
    ({"WEBGATE_STORAGE_URL": "ftp://x"}, "STORAGE"),
])
def test_bad_settings_fail_at_start_with_the_variable_named(env, word):
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env)
    assert word in str(err.value)
