"""Creating users, the one place that hashes an initial password and gives default memberships."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from webgate.auth.login import passwords
from webgate.auth.passwords import generate_password, policy_errors
from webgate.db.models import Membership, Organization, Role, User
from webgate.errors import Conflict, ValidationFailed
from webgate.services import Services


async def create_user(services: Services, *, username: str, name: str = "", email: str = "",
                      password: str | None = None, superadmin: bool = False,
                      org_id: uuid.UUID | None = None, role_ids: Sequence[uuid.UUID] = (),
                      is_active: bool = True, expires_at: object = None,
                      mfa_required: bool = False) -> tuple[User, str | None]:
    """Returns the user and, when no password was given, a one-time password to hand over once."""
    if await User.filter(username=username).exists():
        raise Conflict("A user with this username already exists.", details={"field": "username"})
    one_time = None
    if password is None:
        password = one_time = generate_password()
    else:
        errors = policy_errors(password, (await services.policy(org_id))["password_policy"], username)
        if errors:
            raise ValidationFailed({"password": "The password needs " + ", ".join(errors) + "."})
    user = await User.create(
        username=username, name=name, email=email, password_hash=await passwords(services).hash_off_loop(password),
        password_changed_at=services.clock.now(), must_change_password=one_time is not None,
        is_superadmin=superadmin, is_active=is_active, expires_at=expires_at, mfa_required=mfa_required)
    if org_id is None:
        default = await Organization.filter(is_default=True).first()
        org_id = default.id if default else None
    if org_id is not None:
        roles = list(role_ids)
        if not roles:
            fallback = await Role.get(org_id=None, name="OrgAdmin" if superadmin else "User")
            roles = [fallback.id]
        for role_id in roles:
            await Membership.create(user_id=user.id, org_id=org_id, role_id=role_id)
    return user, one_time
