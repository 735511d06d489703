"""Named permissions and the four system roles built from them.

Every API route names the one permission it needs (or says it is for any logged-in
user); a test walks the route list and fails on a route that names none.
"""

from __future__ import annotations

PERMISSIONS: dict[str, str] = {
    "orgs.manage": "Create, rename and delete organizations (super admin)",
    "users.view": "See users",
    "users.manage": "Create, change, disable users; reset passwords and MFA",
    "groups.view": "See user groups",
    "groups.manage": "Create and change user groups",
    "roles.view": "See roles",
    "roles.manage": "Create and change custom roles",
    "assets.view": "See assets and the asset tree",
    "assets.manage": "Create, change, import and delete assets and tree nodes",
    "accounts.view": "See accounts (never their secrets)",
    "accounts.manage": "Create accounts and replace their secrets",
    "permissions.view": "See asset permissions",
    "permissions.manage": "Grant and revoke asset permissions",
    "applets.view": "See RemoteApp applets",
    "applets.manage": "Create and change RemoteApp applets (the programs people open on assets)",
    "tokens.manage": "Create and revoke API tokens",
    "audit.view": "Read the login log, operation log and dashboard",
    "sessions.view": "List sessions and play recordings",
    "sessions.monitor": "Watch and join live sessions",
    "sessions.terminate": "End other people's live sessions",
    "settings.manage": "Change security, MFA, session and watermark settings",
    "acls.manage": "Change login ACL rules (super admin)",
}

# Only a super admin holds these: they act across organizations.
GLOBAL_ONLY = frozenset({"orgs.manage", "acls.manage"})

SYSTEM_ROLES: dict[str, list[str]] = {
    "OrgAdmin": sorted(set(PERMISSIONS) - GLOBAL_ONLY),
    "Auditor": ["audit.view", "sessions.view", "sessions.monitor", "assets.view", "users.view"],
    "User": [],
}
SUPERADMIN = "SuperAdmin"
