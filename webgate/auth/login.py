"""The login state machine: password -> (MFA | MFA enrolment | password change) -> done.

Every step is bound to one server-side session row of one user; the stage only moves
forward through these functions. Failures of the password and of MFA codes both count
towards the lockout of the user and of the source address, and the lock is checked
before the password, so the right password does not help while locked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from tortoise.expressions import Q

from webgate.audit.emitter import login_event
from webgate.auth import totp
from webgate.auth.passwords import Passwords, policy_errors
from webgate.auth.principal import token_hash, user_org_ids
from webgate.db.crypto import context_for
from webgate.db.models import ApiToken, LoginAcl, PasswordHistory, RecoveryCode, User, WebSession
from webgate.errors import Forbidden, InvalidCredentials, Locked, ValidationFailed
from webgate.policy.login_acl import decide
from webgate.services import Services


@dataclass
class Attempt:
    ip: str
    user_agent: str


def passwords(services: Services) -> Passwords:
    hasher = services.extras.get("passwords")
    if hasher is None:
        s = services.settings
        hasher = services.extras["passwords"] = Passwords(s.argon2_time_cost, s.argon2_memory_kib)
    return hasher


async def _lock_left(services: Services, username: str, ip: str) -> int:
    for key in (f"lock:user:{username.lower()}", f"lock:ip:{ip}"):
        if await services.bus.get(key) is not None:
            return max(1, await services.bus.ttl(key))
    return 0


async def is_locked(services: Services, username: str) -> bool:
    return await services.bus.get(f"lock:user:{username.lower()}") is not None


async def unlock(services: Services, username: str) -> None:
    await services.bus.delete(f"lock:user:{username.lower()}", f"fail:user:{username.lower()}")


async def record_failure(services: Services, username: str, ip: str) -> int:
    """Count a failure; returns the lock time in seconds if this failure locked someone."""
    policy = (await services.policy())["login"]
    window = int(policy["lock_minutes"]) * 60
    locked = 0
    checks = ((f"user:{username.lower()}", int(policy["max_failures_user"])),
              (f"ip:{ip}", int(policy["max_failures_ip"])))
    for key, limit in checks:
        count = await services.bus.incr(f"fail:{key}", window)
        if count >= limit:
            await services.bus.set(f"lock:{key}", "1", window)
            await services.bus.delete(f"fail:{key}")
            locked = window
    return locked


async def _mfa_forced(services: Services, user: User, org_id: object) -> bool:
    if user.mfa_required:
        return True
    return (await services.policy(org_id))["mfa"]["required"] == "all"


def _password_expired(services: Services, user: User, policy: dict) -> bool:
    days = int(policy["password_policy"]["expire_days"])
    if user.must_change_password:
        return True
    if days <= 0 or user.password_changed_at is None:
        return False
    return user.password_changed_at + timedelta(days=days) <= services.clock.now()


async def next_stage(services: Services, user: User, org_id: object, after: str) -> str:
    """The stage that follows ``after`` for this user."""
    order = ["password", "password_change", "mfa", "done"]
    policy = await services.policy(org_id)
    for stage in order[order.index(after) + 1:]:
        if stage == "password_change" and _password_expired(services, user, policy):
            return stage
        if stage == "mfa":
            if user.mfa_enabled:
                return "mfa"
            if await _mfa_forced(services, user, org_id):
                return "mfa_enroll"
        if stage == "done":
            return "done"
    return "done"


async def password_login(services: Services, username: str, password: str, attempt: Attempt) -> tuple[WebSession, str]:
    """Check the password; returns a fresh session (new id: no fixation) and its raw token."""
    username = username.strip()[:128]
    left = await _lock_left(services, username, attempt.ip)
    if left:
        await login_event(username, None, attempt.ip, attempt.user_agent, "failure", "locked", at=services.clock.now())
        raise Locked(left)
    user = await User.filter(username=username).first()
    now = services.clock.now()
    rule = decide(await LoginAcl.filter(is_active=True), str(user.id) if user else None, attempt.ip, now)
    if rule is not None and rule.action == "deny":
        await login_event(username, user.id if user else None, attempt.ip, attempt.user_agent, "failure", "acl_denied",
                          at=now)
        raise Forbidden("Logins from your network or at this time are not allowed. Ask your admin.",
                        code="login_denied")
    ok = await passwords(services).verify_off_loop(user.password_hash if user else None, password)
    usable = user is not None and user.is_active and not (user.expires_at and user.expires_at <= now)
    if not ok or not usable:
        reason = "bad_password" if user and ok is False else ("unknown_user" if user is None else "inactive")
        locked = await record_failure(services, username, attempt.ip)
        await login_event(username, user.id if user else None, attempt.ip, attempt.user_agent, "failure", reason,
                          at=now)
        if locked:
            raise Locked(locked)
        raise InvalidCredentials()
    assert user is not None
    await services.bus.delete(f"fail:user:{username.lower()}")
    org_ids = await user_org_ids(user)
    org_id = org_ids[0] if org_ids else None
    stage = await next_stage(services, user, org_id, "password")
    policy = await services.policy(org_id)
    raw = secrets.token_urlsafe(32)
    session = await WebSession.create(
        token_hash=token_hash(raw), user=user, org_id=org_id, stage=stage,
        csrf_token=secrets.token_urlsafe(32), auth_epoch=user.auth_epoch, last_seen_at=now,
        expires_at=now + timedelta(hours=int(policy["session"]["absolute_hours"])),
        ip=attempt.ip, user_agent=attempt.user_agent)
    if stage == "done":
        await _finish(user, session, attempt, now)
    else:
        await login_event(username, user.id, attempt.ip, attempt.user_agent, "pending", f"stage_{stage}",
                          at=now)
    return session, raw


async def _finish(user: User, session: WebSession, attempt: Attempt, now) -> None:  # type: ignore[no-untyped-def]
    await User.filter(id=user.id).update(last_login_at=now)
    await login_event(user.username, user.id, attempt.ip, attempt.user_agent, "success", "", at=now)


async def advance(services: Services, session: WebSession, user: User, attempt: Attempt) -> str:
    stage = await next_stage(services, user, session.org_id, session.stage if session.stage != "mfa_enroll" else "mfa")
    session.stage = stage
    await WebSession.filter(id=session.id).update(stage=stage)
    if stage == "done":
        await _finish(user, session, attempt, services.clock.now())
    return stage


async def verify_mfa(services: Services, session: WebSession, user: User, code: str, attempt: Attempt) -> str:
    left = await _lock_left(services, user.username, attempt.ip)
    if left:
        raise Locked(left)
    if session.stage != "mfa" or not user.mfa_secret_enc:
        raise Forbidden("There is no MFA step to complete. Log in again.")
    secret = services.box.decrypt(user.mfa_secret_enc, context_for("users", "mfa_secret", user.id))
    step = totp.matching_step(secret, code, services.clock.time())
    accepted = False
    if step is not None:
        # Compare-and-set: a code (time step) is accepted once, even by two nodes at once.
        accepted = bool(await User.filter(Q(id=user.id) & Q(totp_last_step__lt=step)).update(totp_last_step=step))
    elif code.strip():
        used = await RecoveryCode.filter(user_id=user.id, code_hash=totp.hash_code(code), used_at=None).update(
            used_at=services.clock.now())
        accepted = bool(used)
    if not accepted:
        locked = await record_failure(services, user.username, attempt.ip)
        await login_event(user.username, user.id, attempt.ip, attempt.user_agent, "failure", "bad_mfa_code",
                          at=services.clock.now())
        if locked:
            await session.delete()
            raise Locked(locked)
        raise InvalidCredentials("That code is wrong or was already used. Enter the current code from your app.")
    return await advance(services, session, user, attempt)


async def start_enrolment(services: Services, user: User) -> tuple[str, str, str]:
    secret = totp.new_secret()
    user.mfa_pending_enc = services.box.encrypt(secret, context_for("users", "mfa_pending", user.id))
    await User.filter(id=user.id).update(mfa_pending_enc=user.mfa_pending_enc)
    uri, svg = totp.provisioning(secret, user.username)
    return secret, uri, svg


async def finish_enrolment(services: Services, user: User, code: str) -> list[str]:
    if not user.mfa_pending_enc:
        raise ValidationFailed({"code": "Start the enrolment first (scan the QR code)."})
    secret = services.box.decrypt(user.mfa_pending_enc, context_for("users", "mfa_pending", user.id))
    step = totp.matching_step(secret, code, services.clock.time())
    if step is None:
        raise ValidationFailed({"code": "That code does not match. Check your phone's clock and try the current code."})
    codes = totp.new_recovery_codes()
    await RecoveryCode.filter(user_id=user.id).delete()
    await RecoveryCode.bulk_create([RecoveryCode(user_id=user.id, code_hash=totp.hash_code(c)) for c in codes])
    user.mfa_secret_enc = services.box.encrypt(secret, context_for("users", "mfa_secret", user.id))
    user.mfa_pending_enc = None
    user.totp_last_step = step
    await User.filter(id=user.id).update(mfa_secret_enc=user.mfa_secret_enc, mfa_pending_enc=None, totp_last_step=step)
    return codes


async def set_password(services: Services, user: User, new_password: str, org_id: object, *,
                       by_admin: bool = False, keep: WebSession | None = None) -> None:
    """Check policy and history, store, and revoke every session and token context (auth_epoch)."""
    policy = (await services.policy(org_id))["password_policy"]
    errors = policy_errors(new_password, policy, user.username)
    if errors:
        raise ValidationFailed({"new_password": "The password needs " + ", ".join(errors) + "."})
    hasher = passwords(services)
    history = int(policy["history"])
    if history > 0:
        previous = [user.password_hash] + list(
            await PasswordHistory.filter(user_id=user.id).order_by("-created_at").limit(history).values_list(
                "password_hash", flat=True))
        for old_hash in previous[:history]:
            if old_hash and await hasher.verify_off_loop(old_hash, new_password):
                raise ValidationFailed({"new_password": f"Choose a password you have not used for your last {history} passwords."})
    if user.password_hash:
        await PasswordHistory.create(user_id=user.id, password_hash=user.password_hash)
    user.password_hash = await hasher.hash_off_loop(new_password)
    user.password_changed_at = services.clock.now()
    user.must_change_password = by_admin
    user.auth_epoch += 1
    await user.save(update_fields=["password_hash", "password_changed_at", "must_change_password", "auth_epoch"])
    await revoke_user_sessions(services, user, keep)
    # A new password means the old one may be known: the user's API tokens go too (SECURITY.md §6).
    await ApiToken.filter(user_id=user.id, revoked_at=None).update(revoked_at=services.clock.now())
    if keep is not None:
        keep.auth_epoch = user.auth_epoch
        await WebSession.filter(id=keep.id).update(auth_epoch=user.auth_epoch)


async def revoke_user_sessions(services: Services, user: User, keep: WebSession | None = None) -> None:
    """Drop the user's sessions on every node (rows are shared) and tell live sockets to close."""
    query = WebSession.filter(user_id=user.id)
    if keep is not None:
        query = query.exclude(id=keep.id)
    await query.delete()
    await services.bus.publish(f"user:{user.id}:revoked", b"1")
