"""guacd parameters for a VNC connection, built from the asset, the account and the permission.

Only the gateway chooses them (the browser never does): the dialled address is the one
the target address policy checked, the password is the account's decrypted secret, and
clipboard directions follow the permission (``copy``: remote → browser, ``paste``:
browser → remote). Recording parameters are added by the session lifecycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from webgate.protocols.guacamole.target import DesktopPlan, DesktopTarget, flag

COLOR_DEPTHS = ("8", "16", "24", "32")


def vnc_parameters(*, address: str, port: int, password: str | None, actions: Iterable[str],
                   options: Mapping[str, Any], read_only: bool = False) -> dict[str, str]:
    """The ``connect`` values by guacd parameter name (guacd 1.3.0 names)."""
    acts = frozenset(actions)
    params: dict[str, str] = {
        "hostname": address,
        "port": str(port),
        "password": password or "",
        "read-only": "true" if read_only or flag(options.get("read_only")) else "",
        "disable-copy": "" if "copy" in acts else "true",
        "disable-paste": "" if "paste" in acts else "true",
    }
    depth = str(options.get("color_depth", "") or "")
    if depth in COLOR_DEPTHS:
        params["color-depth"] = depth
    return params


async def plan(target: DesktopTarget) -> DesktopPlan:
    return DesktopPlan("vnc", vnc_parameters(address=target.address, port=target.port, password=target.password,
                                             actions=target.actions, options=target.options,
                                             read_only=target.read_only))
