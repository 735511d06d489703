"""RDP parameters: what guacd is told, from the asset options, the account, the permission and the browser.

The integration tests (tests/integration/test_rdp.py) run these against a real xrdp through
guacd 1.3.0; what xrdp cannot do (NLA) is checked only here.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from webgate.errors import ValidationFailed
from webgate.protocols import DESKTOP_CONNECTORS, desktop_connector
from webgate.protocols.guacamole.handshake import Display
from webgate.protocols.guacamole.target import DesktopTarget
from webgate.protocols.rdp import KEYBOARD_LAYOUTS, asset_options_error, drive_dir, plan, rdp_parameters
from webgate.settings import Settings

# guacd 1.3.0's reply to `select rdp` (its `args`), read from the installed guacd: every name we
# send must be one guacd asks for, or guacd would silently ignore it.
GUACD_130_RDP_ARGS = frozenset("""hostname port domain username password width height dpi initial-program
color-depth disable-audio enable-printing printer-name enable-drive drive-name drive-path create-drive-path
disable-download disable-upload console console-audio server-layout security ignore-cert disable-auth remote-app
remote-app-dir remote-app-args static-channels client-name enable-wallpaper enable-theming enable-font-smoothing
enable-full-window-drag enable-desktop-composition enable-menu-animations disable-bitmap-caching
disable-offscreen-caching disable-glyph-caching preconnection-id preconnection-blob timezone enable-sftp
sftp-hostname sftp-host-key sftp-port sftp-username sftp-password sftp-private-key sftp-passphrase sftp-directory
sftp-root-directory sftp-server-alive-interval sftp-disable-download sftp-disable-upload recording-path
recording-name recording-exclude-output recording-exclude-mouse recording-include-keys create-recording-path
resize-method enable-audio-input read-only gateway-hostname gateway-port gateway-domain gateway-username
gateway-password load-balance-info disable-copy disable-paste wol-send-packet wol-mac-addr wol-broadcast-addr
wol-wait-time""".split())


SECRET = "s3cret"  # noqa: S105 - a test value


def _target(settings: Settings, *, actions: tuple[str, ...] = ("connect",), options: dict[str, Any] | None = None,
            username: str = "alice", read_only: bool = False) -> DesktopTarget:
    return DesktopTarget(session_id=uuid.uuid4(), protocol="rdp", address="10.0.0.7", port=3390, username=username,
                         password=SECRET, actions=frozenset(actions), options=options or {},
                         display=Display(width=1280, height=720, dpi=120), settings=settings, read_only=read_only)


def test_defaults_dial_the_checked_address_with_the_browser_display_and_nothing_optional(settings: Settings) -> None:
    params = rdp_parameters(_target(settings))
    assert params["hostname"] == "10.0.0.7" and params["port"] == "3390"
    assert params["username"] == "alice" and params["password"] == SECRET and params["domain"] == ""
    assert (params["width"], params["height"], params["dpi"]) == ("1280", "720", "120")
    assert params["security"] == "any" and params["ignore-cert"] == ""
    assert params["resize-method"] == "display-update"
    assert params["disable-copy"] == params["disable-paste"] == params["disable-audio"] == "true"
    assert "enable-drive" not in params and "server-layout" not in params and "initial-program" not in params
    assert set(params) <= GUACD_130_RDP_ARGS


def test_clipboard_directions_follow_copy_and_paste(settings: Settings) -> None:
    copy = rdp_parameters(_target(settings, actions=("connect", "copy")))
    assert copy["disable-copy"] == "" and copy["disable-paste"] == "true"
    paste = rdp_parameters(_target(settings, actions=("connect", "paste")))
    assert paste["disable-copy"] == "true" and paste["disable-paste"] == ""


def test_every_option_reaches_guacd_under_its_guacd_130_name(settings: Settings) -> None:
    params = rdp_parameters(_target(settings, options={
        "rdp_security": "TLS", "rdp_ignore_cert": "true", "rdp_domain": "CORP", "rdp_audio": True,
        "rdp_keyboard": "de-de-qwertz", "rdp_console": "yes", "rdp_initial_program": "/usr/bin/xterm",
        "color_depth": 16}))
    assert params["security"] == "tls" and params["ignore-cert"] == "true" and params["domain"] == "CORP"
    assert params["disable-audio"] == "" and params["server-layout"] == "de-de-qwertz"
    assert params["console"] == "true" and params["initial-program"] == "/usr/bin/xterm"
    assert params["color-depth"] == "16"
    assert set(params) <= GUACD_130_RDP_ARGS


def test_nla_is_passed_as_guacd_expects(settings: Settings) -> None:
    """NLA can only be checked here: xrdp (the RDP server the integration tests use) has no NLA
    server, so guacd 1.3.0 ends an NLA connection to it with 769 before any login. Against
    Windows, `security=nla` with the account's username, password and domain is what guacd needs."""
    params = rdp_parameters(_target(settings, username="CORP\\bob", options={"rdp_security": "nla"}))
    assert params["security"] == "nla" and params["username"] == "bob" and params["domain"] == "CORP"
    assert params["password"] == SECRET


def test_the_asset_domain_wins_over_a_domain_in_the_username(settings: Settings) -> None:
    params = rdp_parameters(_target(settings, username="OLD\\bob", options={"rdp_domain": "NEW"}))
    assert params["username"] == "OLD\\bob" and params["domain"] == "NEW"


@pytest.mark.parametrize(("options", "field", "words"), [
    ({"rdp_security": "kerberos"}, "rdp_security", "any, nla, tls, rdp"),
    ({"rdp_keyboard": "xx-yy-qwerty"}, "rdp_keyboard", "en-us-qwerty"),
    ({"rdp_audio": "maybe"}, "rdp_audio", "true or false"),
    ({"rdp_ignore_certs": True}, "rdp_ignore_certs", "unknown RDP option"),
    ({"color_depth": 12}, "color_depth", "8, 16, 24, 32"),
    ({"rdp_initial_program": "a\nb"}, "rdp_initial_program", "control characters"),
    ({"rdp_domain": "d" * 300}, "rdp_domain", "at most 255"),
])
async def test_a_wrong_option_is_refused_in_words_naming_it(settings: Settings, options: dict[str, Any],
                                                            field: str, words: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await plan(_target(settings, options=options))
    assert words in caught.value.details["fields"][field]
    assert field in caught.value.message and "Ask your admin" in caught.value.message
    assert not (settings.data_dir / "spool" / "drive").exists()  # refused before anything was created


def test_the_keyboard_layouts_are_guacd_130s() -> None:
    assert "en-us-qwerty" in KEYBOARD_LAYOUTS and "failsafe" in KEYBOARD_LAYOUTS and len(KEYBOARD_LAYOUTS) == 17


async def test_no_drive_without_upload_or_download(settings: Settings) -> None:
    result = await plan(_target(settings, actions=("connect", "copy", "paste")))
    assert result.protocol == "rdp" and result.release is None and "enable-drive" not in result.params


@pytest.mark.parametrize(("actions", "upload_off", "download_off"), [
    (("connect", "upload"), "", "true"),
    (("connect", "download"), "true", ""),
    (("connect", "upload", "download"), "", ""),
])
async def test_the_drive_is_a_per_session_spool_open_only_in_the_granted_directions(
        settings: Settings, actions: tuple[str, ...], upload_off: str, download_off: str) -> None:
    target = _target(settings, actions=actions)
    result = await plan(target)
    folder = drive_dir(settings.data_dir, target.session_id)
    assert folder == settings.data_dir / "spool" / "drive" / str(target.session_id) and folder.is_dir()
    assert result.params["enable-drive"] == "true" and result.params["drive-path"] == str(folder)
    assert result.params["create-drive-path"] == "true"
    assert result.params["disable-upload"] == upload_off and result.params["disable-download"] == download_off
    assert set(result.params) <= GUACD_130_RDP_ARGS
    (folder / "left-behind.txt").write_text("x")
    assert result.release is not None
    await result.release()
    assert not folder.exists(), "nothing a user moved stays on the gateway after the session"


async def test_a_read_only_viewer_gets_no_drive(settings: Settings) -> None:
    result = await plan(_target(settings, actions=("connect", "upload", "download"), read_only=True))
    assert result.params["read-only"] == "true" and "enable-drive" not in result.params


def test_rdp_is_a_registered_desktop_protocol(tmp_path: Path) -> None:
    assert "rdp" in DESKTOP_CONNECTORS and desktop_connector("rdp") is plan


def test_the_asset_form_refuses_bad_rdp_options_on_save() -> None:
    assert asset_options_error({"rdp_security": "tls", "rdp_ignore_cert": True}) is None
    assert asset_options_error({"color_depth": 12, "namespaces": "a b"}) is None  # no RDP option: not RDP's to judge
    message = asset_options_error({"rdp_security": "ssl", "rdp_keyboard": "us"})
    assert message is not None and "rdp_security must be one of any, nla, tls, rdp" in message
    assert "rdp_keyboard" in message and "Ask your admin" not in message


def test_the_browser_declares_the_sound_it_plays_and_only_guacds_raw_pcm_passes() -> None:
    from webgate.ws.guacamole import audio_types

    assert audio_types([]) == ()
    assert audio_types(["audio/ogg", "audio/L16", "audio/L8;rate=44100", "audio/L8"]) == ("audio/L8", "audio/L16")
