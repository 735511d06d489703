"""Who is asking: resolved once per request or WebSocket from a session cookie or API token.

A principal is only "authenticated" when its login reached stage ``done``; a session
in the middle of MFA can call nothing but the MFA endpoints (Warpgate CVE-2023-48712).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie

from starlette.types import Scope

from webgate.db.models import ApiToken, Membership, Role, User, WebSession
from webgate.policy.rbac import PERMISSIONS
from webgate.services import Services

SESSION_COOKIE = "webgate_session"
CSRF_COOKIE = "webgate_csrf"
TOKEN_PREFIX = "wg_"


@dataclass
class Principal:
    user: User
    stage: str
    org_id: uuid.UUID | None
    permissions: frozenset[str]
    org_ids: list[uuid.UUID] = field(default_factory=list)
    session: WebSession | None = None
    token: ApiToken | None = None
    # The access epoch read before this principal's rows were (WebSockets only): a session opened
    # with it may trust its opening check until the epoch moves (webgate/policy/epoch.py).
    epoch: int | None = None

    @property
    def done(self) -> bool:
        return self.stage == "done"

    @property
    def via_cookie(self) -> bool:
        return self.session is not None

    def can(self, perm: str) -> bool:
        return self.user.is_superadmin or perm in self.permissions


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def read_cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie header is "no cookie"
                continue
            if name in jar:
                return jar[name].value
    return None


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


async def org_permissions(user: User, org_id: uuid.UUID | None) -> frozenset[str]:
    if user.is_superadmin:
        return frozenset(PERMISSIONS)
    if org_id is None:
        return frozenset()
    role_ids = await Membership.filter(user_id=user.id, org_id=org_id).values_list("role_id", flat=True)
    perms: set[str] = set()
    for role in await Role.filter(id__in=list(role_ids)):
        perms.update(role.permissions)
    return frozenset(perms)


async def user_org_ids(user: User) -> list[uuid.UUID]:
    ids = await Membership.filter(user_id=user.id).distinct().values_list("org_id", flat=True)
    return list(dict.fromkeys(ids))


def _parse_org(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


async def _from_session(scope: Scope, services: Services, raw: str) -> Principal | None:
    session = await WebSession.filter(token_hash=token_hash(raw)).select_related("user").first()
    if session is None:
        return None
    now = services.clock.now()
    policy = await services.policy(session.org_id)
    idle = timedelta(minutes=int(policy["session"]["idle_minutes"]))
    user = session.user
    if (session.expires_at <= now or session.last_seen_at + idle <= now or not user.is_active
            or session.auth_epoch != user.auth_epoch or (user.expires_at and user.expires_at <= now)):
        await session.delete()
        return None
    if (now - session.last_seen_at).total_seconds() > 30:
        session.last_seen_at = now
        await WebSession.filter(id=session.id).update(last_seen_at=now)
    org_ids = await user_org_ids(user)
    org_id = session.org_id
    requested = _parse_org(header(scope, b"x-webgate-org"))
    if requested and (user.is_superadmin or requested in org_ids):
        org_id = requested
    if org_id is not None and not user.is_superadmin and org_id not in org_ids:
        org_id = org_ids[0] if org_ids else None
    perms = await org_permissions(user, org_id) if session.stage == "done" else frozenset()
    return Principal(user=user, stage=session.stage, org_id=org_id, permissions=perms,
                     org_ids=org_ids, session=session)


async def _from_token(services: Services, raw: str) -> Principal | None:
    token = await ApiToken.filter(token_hash=token_hash(raw)).select_related("user", "role").first()
    now = services.clock.now()
    if (token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now)
            or not token.user.is_active):
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        await ApiToken.filter(id=token.id).update(last_used_at=now)
    user = token.user
    # A token is worth no more than its owner is now: a member removed from the org loses
    # the token, a demoted one keeps only what both the token's role and the new role allow.
    if not user.is_superadmin and token.org_id not in await user_org_ids(user):
        return None
    perms = frozenset(token.role.permissions) & await org_permissions(user, token.org_id)
    # A token never carries super-admin powers beyond its role, even if its owner has them.
    user.is_superadmin = False
    return Principal(user=user, stage="done", org_id=token.org_id, permissions=perms,
                     org_ids=[token.org_id], token=token)


async def resolve(scope: Scope, services: Services) -> Principal | None:
    auth = header(scope, b"authorization")
    if auth and auth.lower().startswith("bearer "):
        raw = auth[7:].strip()
        return await _from_token(services, raw) if raw.startswith(TOKEN_PREFIX) else None
    raw = read_cookie(scope, SESSION_COOKIE)
    if raw:
        return await _from_session(scope, services, raw)
    return None
