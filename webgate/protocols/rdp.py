"""guacd parameters for an RDP connection, built from the asset, the account and the permission.

Only the gateway chooses them; the browser never does. The dialled address is the one the
target address policy checked, the password is the account's decrypted secret, clipboard
directions follow the permission (``copy``: remote → browser, ``paste``: browser → remote)
and the shared drive exists only when the permission grants ``upload`` or ``download`` —
guacd enforces the missing direction itself (``disable-upload``/``disable-download``) on top
of the gateway's own filter. Recording parameters are added by the session lifecycle.

Asset options (the asset's ``extra``), all optional; a wrong value stops the connection with
a sentence naming the option, so a typo never silently weakens a setting:

=====================  ===============================================================
``rdp_security``       any (default) | nla | tls | rdp — the RDP security mode
``rdp_ignore_cert``    true to accept a certificate the gateway cannot verify (self-signed)
``rdp_domain``         the Windows domain (or write the account as ``DOMAIN\\user``)
``rdp_audio``          true to play the desktop's sound in the browser (off by default)
``rdp_keyboard``       the server's keyboard layout, one of ``KEYBOARD_LAYOUTS``
``rdp_console``        true to attach to the console session (Windows ``/admin``)
``rdp_initial_program`` the program to run instead of a desktop (one-application mode)
``color_depth``        8 | 16 | 24 | 32 (shared with VNC)
=====================  ===============================================================

guacd 1.3.0's parameter names were read from its ``args`` reply to ``select rdp``.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from webgate.errors import ValidationFailed
from webgate.protocols.guacamole.target import DesktopPlan, DesktopTarget

SECURITY_MODES = ("any", "nla", "tls", "rdp")
COLOR_DEPTHS = ("8", "16", "24", "32")
# The keymaps built into guacd 1.3.0's RDP plugin (libguac-client-rdp); anything else is refused.
KEYBOARD_LAYOUTS = (
    "da-dk-qwerty", "de-ch-qwertz", "de-de-qwertz", "en-gb-qwerty", "en-us-qwerty", "es-es-qwerty",
    "es-latam-qwerty", "failsafe", "fr-be-azerty", "fr-ch-qwertz", "fr-fr-azerty", "hu-hu-qwertz",
    "it-it-qwerty", "ja-jp-qwerty", "pt-br-qwerty", "sv-se-qwerty", "tr-tr-qwerty",
)
BOOLEAN_OPTIONS = ("rdp_ignore_cert", "rdp_audio", "rdp_console")
TEXT_OPTIONS = {"rdp_domain": 255, "rdp_initial_program": 1024}
KNOWN_OPTIONS = frozenset({"rdp_security", "rdp_keyboard", *BOOLEAN_OPTIONS, *TEXT_OPTIONS})
DRIVE_NAME = "webgate"  # what the remote desktop calls the shared drive


class RdpOptions:
    """The asset's RDP options, checked; ``ValidationFailed`` names every bad one at once."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        errors: dict[str, str] = {}
        for key in options:
            if key.startswith("rdp_") and key not in KNOWN_OPTIONS:
                errors[key] = f"unknown RDP option (known: {', '.join(sorted(KNOWN_OPTIONS))})"
        self.security = str(options.get("rdp_security") or "any").strip().lower()
        if self.security not in SECURITY_MODES:
            errors["rdp_security"] = f"must be one of {', '.join(SECURITY_MODES)}"
        self.keyboard = str(options.get("rdp_keyboard") or "").strip().lower()
        if self.keyboard and self.keyboard not in KEYBOARD_LAYOUTS:
            errors["rdp_keyboard"] = f"must be one of {', '.join(KEYBOARD_LAYOUTS)}"
        flags: dict[str, bool] = {}
        for key in BOOLEAN_OPTIONS:
            flags[key] = _boolean(options.get(key), key, errors)
        self.ignore_cert, self.audio, self.console = (flags[k] for k in BOOLEAN_OPTIONS)
        texts: dict[str, str] = {}
        for key, limit in TEXT_OPTIONS.items():
            value = options.get(key)
            text = "" if value is None else str(value).strip()
            if len(text) > limit:
                errors[key] = f"must be at most {limit} characters"
            elif not text.isprintable():
                errors[key] = "must not contain control characters"
            texts[key] = text
        self.domain, self.initial_program = texts["rdp_domain"], texts["rdp_initial_program"]
        depth = options.get("color_depth")
        self.color_depth = "" if depth in (None, "") else str(depth)
        if self.color_depth and self.color_depth not in COLOR_DEPTHS:
            errors["color_depth"] = f"must be one of {', '.join(COLOR_DEPTHS)}"
        if errors:
            raise ValidationFailed(errors, "This asset's RDP settings are not valid: "
                                   + "; ".join(f"{k} {v}" for k, v in errors.items())
                                   + ". Ask your admin to correct the asset.")


def asset_options_error(extra: Mapping[str, Any]) -> str | None:
    """For the asset form and importer: the sentence refusing bad RDP options, or None.
    Only assets that set an ``rdp_*`` option are checked (``color_depth`` alone may be VNC's)."""
    if not any(str(key).startswith("rdp_") for key in extra):
        return None
    try:
        RdpOptions(extra)
    except ValidationFailed as exc:
        return exc.message.replace(" Ask your admin to correct the asset.", "")
    return None


def _boolean(value: object, key: str, errors: dict[str, str]) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    errors[key] = "must be true or false"
    return False


def split_domain(username: str, domain: str) -> tuple[str, str]:
    r"""``DOMAIN\user`` → (user, DOMAIN) unless the asset names the domain itself."""
    if not domain and "\\" in username:
        head, _, tail = username.partition("\\")
        if head and tail:
            return tail, head
    return username, domain


def rdp_parameters(target: DesktopTarget, options: RdpOptions | None = None) -> dict[str, str]:
    """The ``connect`` values by guacd 1.3.0 parameter name (without the drive and recording)."""
    opts = options or RdpOptions(target.options)
    acts = target.actions
    username, domain = split_domain(target.username, opts.domain)
    params: dict[str, str] = {
        "hostname": target.address,
        "port": str(target.port),
        "username": username,
        "password": target.password or "",
        "domain": domain,
        "security": opts.security,
        "ignore-cert": "true" if opts.ignore_cert else "",
        "width": str(target.display.width),
        "height": str(target.display.height),
        "dpi": str(target.display.dpi),
        "resize-method": "display-update",  # a browser `size` becomes an RDP display update, live
        "disable-copy": "" if "copy" in acts else "true",
        "disable-paste": "" if "paste" in acts else "true",
        "disable-audio": "" if opts.audio else "true",
        "client-name": "webgate",
        "read-only": "true" if target.read_only else "",
    }
    if opts.color_depth:
        params["color-depth"] = opts.color_depth
    if opts.keyboard:
        params["server-layout"] = opts.keyboard
    if opts.console:
        params["console"] = "true"
    if opts.initial_program:
        params["initial-program"] = opts.initial_program
    return params


def drive_dir(data_dir: Path, session_id: uuid.UUID) -> Path:
    """The session's shared drive on the guacd host, named from the session's UUID only."""
    return data_dir / "spool" / "drive" / str(session_id)


def drive_parameters(folder: Path, actions: frozenset[str]) -> dict[str, str]:
    """guacd's drive redirection: files pass only in the directions the permission grants."""
    return {
        "enable-drive": "true",
        "drive-name": DRIVE_NAME,
        "drive-path": str(folder),
        "create-drive-path": "true",
        "disable-upload": "" if "upload" in actions else "true",
        "disable-download": "" if "download" in actions else "true",
    }


def wants_drive(actions: frozenset[str]) -> bool:
    return bool(actions & {"upload", "download"})


async def plan(target: DesktopTarget) -> DesktopPlan:
    options = RdpOptions(target.options)  # refused before anything is created
    params = rdp_parameters(target, options)
    if not wants_drive(target.actions) or target.read_only:
        return DesktopPlan("rdp", params)
    folder = drive_dir(target.settings.data_dir, target.session_id)
    folder.mkdir(parents=True, exist_ok=True)  # guacd's create-drive-path makes only the last directory
    params.update(drive_parameters(folder, target.actions))

    async def release() -> None:
        """The drive is a per-session spool: nothing a user moved stays on the gateway."""
        await asyncio.to_thread(shutil.rmtree, folder, True)

    return DesktopPlan("rdp", params, release)
