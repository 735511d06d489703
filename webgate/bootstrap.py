"""Rows every installation needs: the default organization and the system roles."""

from __future__ import annotations

from webgate.db.models import Organization, Role
from webgate.policy.epoch import ensure_row as ensure_access_epoch
from webgate.policy.rbac import SYSTEM_ROLES


async def ensure_system_rows() -> Organization:
    org = await Organization.filter(is_default=True).first()
    if org is None:
        org = await Organization.create(name="Default", is_default=True)
    for name, perms in SYSTEM_ROLES.items():
        role = await Role.filter(org_id=None, name=name).first()
        if role is None:
            await Role.create(org=None, name=name, builtin=True, permissions=perms)
        elif sorted(role.permissions) != sorted(perms):
            role.permissions = perms
            await role.save(update_fields=["permissions"])
    await ensure_access_epoch()
    return org
