"""guacd parameters for a VNC connection, built from the asset, the account and the permission.

Only the gateway chooses them (the browser never does): the dialled address is the one
the target address policy checked, the password is the account's decrypted secret, and
clipboard directions follow the permission (``copy``: remote → browser, ``paste``:
browser → remote). Recording goes to a directory per session under the data dir that the
gateway creates itself: guacd's ``create-recording-path`` makes only the last directory,
and with a missing parent it records nothing without saying so.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

COLOR_DEPTHS = ("8", "16", "24", "32")
RECORDING_NAME = "recording.guac"


def recording_dir(data_dir: Path, session_id: uuid.UUID) -> Path:
    """Where guacd writes this session's recording (named from the session's UUID only)."""
    return data_dir / "spool" / "guacamole" / str(session_id)


def prepare_recording_dir(data_dir: Path, session_id: uuid.UUID) -> Path:
    """Create the recording directory (parents included) and prove it is writable."""
    path = recording_dir(data_dir, session_id)
    path.mkdir(parents=True, exist_ok=True)
    probe = path / ".probe"
    probe.write_bytes(b"")
    probe.unlink()
    return path


def vnc_parameters(*, address: str, port: int, password: str | None, actions: Iterable[str],
                   options: Mapping[str, Any], recording: Path | None, read_only: bool = False) -> dict[str, str]:
    """The ``connect`` values by guacd parameter name (guacd 1.3.0 names)."""
    acts = frozenset(actions)
    params: dict[str, str] = {
        "hostname": address,
        "port": str(port),
        "password": password or "",
        "read-only": "true" if read_only or bool(options.get("read_only")) else "",
        "disable-copy": "" if "copy" in acts else "true",
        "disable-paste": "" if "paste" in acts else "true",
    }
    depth = str(options.get("color_depth", "") or "")
    if depth in COLOR_DEPTHS:
        params["color-depth"] = depth
    if recording is not None:
        params.update({
            "recording-path": str(recording),
            "recording-name": RECORDING_NAME,
            "create-recording-path": "true",
            "recording-include-keys": "true",
        })
    return params
