"""guacd parameters for a RemoteApp session: one program shown as one window.

``linux`` applets: the app host starts a display running only the program and this
module returns a VNC plan to that display (its one-time password, never the target's);
``release`` stops the display. The target's own credentials go to the app host, which
injects them (web login autofill, a 0600 file, an environment variable).

``windows`` applets: an RDP plan to the Windows app host asset with guacd's RemoteApp
parameters (``remote-app``, ``remote-app-dir``, ``remote-app-args``). The app host's own
account logs in; its address obeys the same target policy as any asset.

The session lifecycle has already authorised the person for the asset with the applet's
protocol, checked the asset's address (``target.address`` is the IP to dial) and reads
nothing else from the browser than the applet id.
"""

from __future__ import annotations

import ipaddress
import subprocess
from typing import Any
from urllib.parse import urlsplit

from webgate.db.crypto import SecretBox, context_for, load_or_create_key
from webgate.db.models import Account, Applet, Asset, Session
from webgate.errors import NotFound
from webgate.policy.targets import check_target
from webgate.protocols.guacamole.target import DesktopPlan, DesktopTarget, flag
from webgate.protocols.vnc import vnc_parameters
from webgate.remoteapp.applets import applet_id, load_applet
from webgate.remoteapp.host import AppHostError, AppSpec, app_host
from webgate.remoteapp.templates import render
from webgate.terminal.channel import ConnectFailed

MAX_SIDE = 4096
NO_HOST = "This RemoteApp has no Windows app host. Ask your admin to choose one for the applet."


def connection_values(asset: Asset, target: DesktopTarget) -> tuple[dict[str, str], dict[str, str]]:
    """The placeholders' values and the browser's host pin: the program dials the checked address."""
    database = str(target.options.get("database", "") or "")
    if "://" in asset.address:  # a website: the URL as given, its host name pinned to the checked IP
        parts = urlsplit(asset.address)
        host = parts.hostname or ""
        pin = {} if _is_ip(host) else {host: target.address}
        return {"url": asset.address, "host": host, "port": str(target.port), "username": target.username,
                "database": database}, pin
    return {"url": "", "host": target.address, "port": str(target.port), "username": target.username,
            "database": database}, {}


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def app_spec(applet: Applet, asset: Asset, target: DesktopTarget) -> AppSpec:
    values, pin = connection_values(asset, target)
    return AppSpec(session_id=str(target.session_id), program=applet.program, arguments=list(applet.arguments),
                   values=values, width=min(target.display.width, MAX_SIDE),
                   height=min(target.display.height, MAX_SIDE), username=target.username, password=target.password,
                   password_env=applet.password_env, autofill=dict(applet.autofill or {}), pin=pin)


def remote_app_parameters(applet: Applet, values: dict[str, str], *, address: str, port: int, username: str,
                          password: str | None, actions: frozenset[str], options: dict[str, Any]) -> dict[str, str]:
    """guacd 1.3.0's RDP parameters for one RemoteApp program on a Windows app host."""
    args = render(applet.arguments, {**values, "password_file": ""})
    return {
        "hostname": address, "port": str(port), "username": username, "password": password or "",
        "domain": str(options.get("domain", "") or ""),
        "security": str(options.get("security", "") or "any"),
        "ignore-cert": flag(options.get("ignore_cert", False)),
        "remote-app": applet.remote_app, "remote-app-dir": applet.remote_app_dir,
        "remote-app-args": subprocess.list2cmdline(args),  # Windows' own quoting of one command line
        "disable-copy": "" if "copy" in actions else "true",
        "disable-paste": "" if "paste" in actions else "true",
        "resize-method": "display-update",
    }


async def _windows_plan(applet: Applet, asset: Asset, target: DesktopTarget) -> DesktopPlan:
    host = await Asset.filter(id=applet.host_asset_id, org_id=asset.org_id, is_active=True).first() \
        if applet.host_asset_id else None
    account = await Account.filter(id=applet.host_account_id, asset_id=host.id, is_active=True).first() \
        if host is not None and applet.host_account_id else None
    if host is None or account is None:
        raise ConnectFailed(NO_HOST)
    port = next((int(p.get("port") or 3389) for p in host.protocols or [] if p.get("name") == "rdp"), 3389)
    ip = await check_target(target.settings, host.address, port)  # the app host is an asset like any other
    password = reveal_for_host(target, account)
    values, _ = connection_values(asset, target)
    params = remote_app_parameters(applet, values, address=str(ip), port=port, username=account.username,
                                   password=password, actions=target.actions, options=dict(host.extra or {}))
    return DesktopPlan("rdp", params)


def reveal_for_host(target: DesktopTarget, account: Account) -> str | None:
    """The app host account's password, decrypted here only (the lifecycle decrypted the asset's own)."""
    if not account.secret_enc:
        return None
    box = SecretBox(load_or_create_key(target.settings.key_file))
    return box.decrypt(account.secret_enc, context_for("accounts", "secret", account.id))


async def plan(target: DesktopTarget) -> DesktopPlan:
    row = await Session.filter(id=target.session_id).first()
    asset = await Asset.filter(id=row.asset_id).first() if row is not None and row.asset_id else None
    if asset is None:
        raise NotFound()
    applet = await load_applet(applet_id(target.options), asset)
    if applet.kind == "windows":
        return await _windows_plan(applet, asset, target)
    host = app_host(target.settings, applet.app_host)
    try:
        display = await host.start(app_spec(applet, asset, target))
    except AppHostError as exc:
        raise ConnectFailed(str(exc)) from None

    async def release() -> None:
        await host.stop(display.id)

    params = vnc_parameters(address=display.host, port=display.port, password=display.password,
                            actions=target.actions, options={}, read_only=target.read_only)
    return DesktopPlan("vnc", params, release)
