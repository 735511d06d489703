"""Policy settings: password rules, lockout, MFA, session limits, watermark, terminal limits.

GET answers the effective values for the current org (built-in defaults, then the global
row, then the org's override row). PATCH writes one layer: a super admin in the global
view (no org) writes the global row, anyone else writes their org's override row. Every
key is checked against ``SPEC`` (type and range); an unknown key is an error, not ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import create_model

from webgate.api._base import Ctx, endpoint
from webgate.db.models import SettingsRow
from webgate.errors import ValidationFailed


@dataclass(frozen=True)
class Rule:
    kind: type
    low: int = 0
    high: int = 0
    choices: tuple[str, ...] = ()

    def error(self, value: Any) -> str | None:
        """A sentence saying what is wrong with ``value``, or None when it is acceptable."""
        if self.kind is bool:
            return None if isinstance(value, bool) else "Choose on or off."
        if self.kind is int:
            if not isinstance(value, int) or isinstance(value, bool):
                return "Enter a whole number."
            return None if self.low <= value <= self.high else f"Enter a number from {self.low} to {self.high}."
        if not isinstance(value, str):
            return "Enter text."
        if self.choices:
            return None if value in self.choices else "Choose one of: " + ", ".join(self.choices) + "."
        return None if len(value) <= self.high else f"Use at most {self.high} characters."


def _int(low: int, high: int) -> Rule:
    return Rule(int, low, high)


BOOL = Rule(bool)
SPEC: dict[str, dict[str, Rule]] = {
    "password_policy": {
        "min_length": _int(8, 128), "require_upper": BOOL, "require_lower": BOOL, "require_digit": BOOL,
        "require_symbol": BOOL, "expire_days": _int(0, 3650), "history": _int(0, 24),
    },
    "login": {"max_failures_user": _int(1, 100), "max_failures_ip": _int(1, 10000), "lock_minutes": _int(1, 1440)},
    "mfa": {"required": Rule(str, choices=("none", "all"))},
    "session": {"idle_minutes": _int(1, 1440), "absolute_hours": _int(1, 720)},
    "watermark": {"enabled": BOOL, "content": Rule(str, high=200)},
    "terminal": {"idle_minutes": _int(1, 1440), "max_hours": _int(1, 168), "record_input": BOOL},
}
# For the OpenAPI document only: the handler validates with ``validate`` (unknown keys are 422).
SettingsPatch = create_model("SettingsPatch", **{s: (dict[str, Any] | None, None) for s in SPEC})  # type: ignore[call-overload]
# Lockout counts usernames and addresses across all orgs, so only the global layer can set it.
GLOBAL_SECTIONS = frozenset({"login"})


def validate(patch: Any, *, global_layer: bool) -> dict[str, dict[str, Any]]:
    """Check a nested ``{section: {key: value}}`` patch; ``None`` as a value means "inherit"."""
    if not isinstance(patch, dict):
        raise ValidationFailed({"": "Send an object of sections, like {\"mfa\": {\"required\": \"all\"}}."})
    errors: dict[str, str] = {}
    clean: dict[str, dict[str, Any]] = {}
    for section, values in patch.items():
        rules = SPEC.get(section)
        if rules is None:
            errors[section] = "There is no such settings section."
            continue
        if not isinstance(values, dict):
            errors[section] = "Send the section's settings as an object."
            continue
        for key, value in values.items():
            path = f"{section}.{key}"
            rule = rules.get(key)
            if rule is None:
                errors[path] = "There is no such setting."
            elif section in GLOBAL_SECTIONS and not global_layer:
                errors[path] = "This applies to the whole gateway; a super admin changes it in the global view."
            elif value is not None and (message := rule.error(value)):
                errors[path] = message
            else:
                clean.setdefault(section, {})[key] = value
    if errors:
        raise ValidationFailed(errors)
    return clean


def apply(data: dict[str, Any], clean: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stored layer after the patch, and the audit changes as ``{"section.key": value}``."""
    out = {s: dict(v) for s, v in data.items() if isinstance(v, dict)}
    changes: dict[str, Any] = {}
    for section, values in clean.items():
        layer = out.setdefault(section, {})
        for key, value in values.items():
            if value is None and key in layer:
                del layer[key]
                changes[f"{section}.{key}"] = None
            elif value is not None and layer.get(key, object()) != value:
                layer[key] = changes[f"{section}.{key}"] = value
        if not layer:
            del out[section]
    return out, changes


async def get_settings(ctx: Ctx) -> dict[str, Any]:
    """Show the effective settings here: defaults, overridden globally, then by this organization."""
    return await ctx.services.policy(ctx.org_id)


async def update_settings(ctx: Ctx) -> dict[str, Any]:
    """Change settings: the global layer in the super admin's global view, else this organization's."""
    global_layer = ctx.org_id is None
    if global_layer and not ctx.user.is_superadmin:
        raise ValidationFailed({"org": "Choose an organization first."})
    clean = validate(await ctx.json(), global_layer=global_layer)
    row = await SettingsRow.filter(org_id=ctx.org_id).first()
    data, changes = apply(row.data if row else {}, clean)
    if changes:
        if row is None:
            row = await SettingsRow.create(org_id=ctx.org_id, data=data)
        else:
            row.data = data
            await row.save(update_fields=["data"])
        await ctx.audit("update", "settings", None, changes, name="global" if global_layer else "organization")
    return await ctx.services.policy(ctx.org_id)


routes = [
    endpoint("/settings", get_settings, ["GET"], perm="settings.manage"),
    endpoint("/settings", update_settings, ["PATCH"], perm="settings.manage", body=SettingsPatch),
]
