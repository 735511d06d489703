"""RemoteApp's pure parts: argv templates, Windows RemoteApp parameters, the browser's switches, settings."""

# ruff: noqa: S105, S106 - test credentials

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from webgate.db.models import Applet, Asset
from webgate.errors import ConfigError
from webgate.protocols.guacamole.handshake import Display
from webgate.protocols.guacamole.target import DesktopTarget
from webgate.protocols.remoteapp import app_spec, connection_values, remote_app_parameters
from webgate.remoteapp.browser import chromium_args
from webgate.remoteapp.local import vnc_password_file
from webgate.remoteapp.templates import env_name_error, render, template_error
from webgate.settings import AppHostRef, Settings

HOSTILE = 'x"; rm -rf / #$(id) `id` \' a b'


def test_each_template_stays_one_argument_whatever_the_value_holds() -> None:
    argv = render(["-h", "{host}", "--user={username}", "{database}", "{{literal}}"],
                  {"host": "10.0.0.5", "username": HOSTILE, "database": "a b"})
    assert argv == ["-h", "10.0.0.5", f"--user={HOSTILE}", "a b", "{literal}"]


@pytest.mark.parametrize("template", ["{password}", "--pw={password}", "{passwd}", "{0}", "{host.__class__}",
                                      "{host[0]}", "{host!r}", "{port:>5}", "{unbalanced", "nul\x00"])
def test_templates_that_could_leak_or_run_something_are_refused(template: str) -> None:
    assert template_error(template) is not None
    with pytest.raises(ValueError):
        render([template], {"host": "h"})


def test_password_placeholder_is_refused_with_a_reason() -> None:
    assert "visible to every local user" in (template_error("{password}") or "")


@pytest.mark.parametrize(("name", "ok"), [("MYSQL_PWD", True), ("PGPASSWORD", True), ("", True),
                                          ("LD_PRELOAD", False), ("PATH", False), ("lower", False),
                                          ("WEBGATE_X", False), ("BASH_ENV", False)])
def test_password_environment_names(name: str, ok: bool) -> None:
    assert (env_name_error(name) is None) is ok


def _applet(**kw: object) -> Applet:
    return Applet(id=uuid.uuid4(), org_id=uuid.uuid4(), name="a", protocol="https",
                  **{"program": "chromium", "arguments": [], "autofill": {}, "password_env": "", **kw})


def _target(**kw: object) -> DesktopTarget:
    values: dict[str, object] = dict(session_id=uuid.uuid4(), protocol="remoteapp", address="203.0.113.7", port=443,
                                     username="alice", password="S3cret pw", actions=frozenset({"connect", "copy"}),
                                     options={"database": "sales"}, display=Display(1280, 800, 96),
                                     settings=Settings())
    values.update(kw)
    return DesktopTarget(**values)  # type: ignore[arg-type]


def test_a_website_program_gets_the_url_and_its_host_pinned_to_the_checked_address() -> None:
    asset = Asset(address="https://intranet.example.com:8443/login", platform="website")
    values, pin = connection_values(asset, _target(port=8443))
    assert values["url"] == "https://intranet.example.com:8443/login" and values["host"] == "intranet.example.com"
    assert pin == {"intranet.example.com": "203.0.113.7"}
    assert connection_values(Asset(address="http://198.51.100.4/", platform="website"), _target())[1] == {}


def test_a_database_program_dials_the_checked_address_and_never_sees_the_password_in_values() -> None:
    asset = Asset(address="db1.example.com", platform="mysql")
    spec = app_spec(_applet(program="dbeaver", password_env="MYSQL_PWD"), asset, _target(port=3306))
    assert spec.values == {"url": "", "host": "203.0.113.7", "port": "3306", "username": "alice",
                           "database": "sales"}
    assert "S3cret pw" not in repr(spec) and spec.password == "S3cret pw"
    assert spec.width == 1280 and spec.height == 800 and not spec.is_browser


def test_windows_remote_app_parameters() -> None:
    applet = _applet(kind="windows", remote_app="||chrome", remote_app_dir="C:\\Apps",
                     arguments=["--app={url}", "--user={username}", "{database}"])
    values = {"url": "https://intranet/x y", "host": "intranet", "port": "443", "username": "al ice",
              "database": "d"}
    params = remote_app_parameters(applet, values, address="10.0.0.9", port=3389, username="apphost\\runner",
                                   password="Host-pw", actions=frozenset({"connect", "paste"}),
                                   options={"security": "nla", "ignore_cert": True, "domain": "CORP"})
    assert params["remote-app"] == "||chrome" and params["remote-app-dir"] == "C:\\Apps"
    assert params["remote-app-args"] == '"--app=https://intranet/x y" "--user=al ice" d'
    assert (params["hostname"], params["port"], params["username"]) == ("10.0.0.9", "3389", "apphost\\runner")
    assert params["security"] == "nla" and params["ignore-cert"] == "true" and params["domain"] == "CORP"
    assert params["disable-copy"] == "true" and params["disable-paste"] == ""


def test_chromium_gets_a_pipe_not_a_port_and_no_secret_on_its_command_line(tmp_path: Path) -> None:
    asset = Asset(address="https://intranet.example.com/", platform="website")
    spec = app_spec(_applet(autofill={"password": "#p"}), asset, _target())
    args = chromium_args(spec, tmp_path)
    assert "--remote-debugging-pipe" in args and not any(a.startswith("--remote-debugging-port") for a in args)
    assert "--app=https://intranet.example.com/" in args and "--kiosk" in args
    assert "--host-resolver-rules=MAP intranet.example.com 203.0.113.7" in args
    assert f"--user-data-dir={tmp_path / 'profile'}" in args
    assert not any("S3cret" in a for a in args)


def test_vnc_password_file_is_what_vncpasswd_writes() -> None:
    assert vnc_password_file("vnc-pass1").hex() == "aa6cb55b3421597c"  # `echo vnc-pass1 | vncpasswd -f`


def test_app_host_settings() -> None:
    settings = Settings.from_env({"WEBGATE_APP_HOSTS": "local, apps1=https://10.0.0.5:4830/",
                                  "WEBGATE_APP_HOST_TOKEN": "t" * 20, "WEBGATE_APP_PROGRAMS": "chromium, dbeaver"})
    assert settings.app_hosts == (AppHostRef("local"), AppHostRef("apps1", "https://10.0.0.5:4830"))
    assert settings.app_programs == ("chromium", "dbeaver")
    assert settings.public_dict()["app_host_token"] == "***"
    assert Settings().app_hosts == (AppHostRef("local"),)
    with pytest.raises(ConfigError, match="TOKEN"):
        Settings.from_env({"WEBGATE_APP_HOSTS": "apps1=http://10.0.0.5:4830"})
    with pytest.raises(ConfigError):
        Settings.from_env({"WEBGATE_APP_HOSTS": "apps1=ftp://10.0.0.5"})
    with pytest.raises(ConfigError):
        Settings.from_env({"WEBGATE_APP_HOSTS": "local,local"})


async def test_a_windows_applet_plans_rdp_to_its_app_host_with_the_host_account(services) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.terminal_client import make_account
    from webgate.db.models import Organization, Session
    from webgate.protocols.remoteapp import plan
    from webgate.terminal.channel import ConnectFailed

    org = await Organization.get(is_default=True)
    site = await Asset.create(org=org, name="intranet", address="https://intranet.example.com/", platform="website",
                              protocols=[{"name": "https", "port": 443}])
    host = await Asset.create(org=org, name="apphost", address="10.0.0.9", platform="remoteapp_host",
                              protocols=[{"name": "rdp", "port": 3390}], extra={"security": "tls"})
    runner = await make_account(services, host, "runner", "runner", secret="Host-pw")
    applet = await Applet.create(org=org, name="Chrome", asset_platforms=["website"], protocol="https",
                                 kind="windows", host_asset=host, host_account=runner, remote_app="||chrome",
                                 arguments=["--app={url}"])
    row = await Session.create(org=org, username="alice", asset=site, asset_name=site.name, protocol="remoteapp")
    target = _target(session_id=row.id, options={"applet": str(applet.id)}, settings=services.settings)
    made = await plan(target)
    assert made.protocol == "rdp" and made.release is None
    assert made.params["hostname"] == "10.0.0.9" and made.params["port"] == "3390"
    assert made.params["username"] == "runner" and made.params["password"] == "Host-pw"
    assert made.params["remote-app"] == "||chrome" and made.params["remote-app-args"] == "--app=https://intranet.example.com/"
    assert made.params["security"] == "tls" and "S3cret pw" not in made.params.values()
    applet.host_account = None
    await applet.save()
    with pytest.raises(ConnectFailed, match="Windows app host"):
        await plan(target)
