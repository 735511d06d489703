"""Policy settings: built-in defaults, overridden by the global row, then by the org's row."""

from __future__ import annotations

import copy
from typing import Any

DEFAULTS: dict[str, dict[str, Any]] = {
    "password_policy": {
        "min_length": 10, "require_upper": True, "require_lower": True, "require_digit": True,
        "require_symbol": False, "expire_days": 0, "history": 5,
    },
    "login": {"max_failures_user": 5, "max_failures_ip": 30, "lock_minutes": 15},
    # "none": MFA optional; "all": everyone must enrol; per-user forcing is User.mfa_required.
    "mfa": {"required": "none"},
    "session": {"idle_minutes": 30, "absolute_hours": 12},
    "watermark": {"enabled": True, "content": "{username} · {asset} · {time}"},
    "terminal": {"idle_minutes": 30, "max_hours": 8, "record_input": False},
}


def merge(*layers: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Deep-merge layers section by section; unknown sections and keys are ignored."""
    out = copy.deepcopy(DEFAULTS)
    for layer in layers:
        for section, values in (layer or {}).items():
            if section in out and isinstance(values, dict):
                out[section].update({k: v for k, v in values.items() if k in out[section]})
    return out
