"""Who may log in: organizations, users, groups, roles, browser sessions and API tokens."""

from __future__ import annotations

from tortoise import fields

from webgate.db.models._base import Base, OrgScoped


class Organization(Base):
    name = fields.CharField(max_length=128, unique=True)
    comment = fields.TextField(default="")
    is_default = fields.BooleanField(default=False)

    class Meta:
        table = "orgs"
        ordering = ["name"]


class User(Base):
    username = fields.CharField(max_length=128, unique=True)
    name = fields.CharField(max_length=128, default="")
    email = fields.CharField(max_length=254, default="")
    password_hash = fields.CharField(max_length=255, default="")
    password_changed_at = fields.DatetimeField(null=True)
    # Set by an admin reset: the next login must choose a new password.
    must_change_password = fields.BooleanField(default=False)
    is_active = fields.BooleanField(default=True)
    is_superadmin = fields.BooleanField(default=False)
    expires_at = fields.DatetimeField(null=True)
    language = fields.CharField(max_length=8, default="en")
    mfa_secret_enc = fields.TextField(null=True)
    mfa_pending_enc = fields.TextField(null=True)
    mfa_required = fields.BooleanField(default=False)
    # The last accepted TOTP time step: a code is never accepted twice (RFC 6238 §5.2).
    totp_last_step = fields.BigIntField(default=0)
    last_login_at = fields.DatetimeField(null=True)
    # Bumped on password/role change and logout-everywhere; sessions and tokens carry it.
    auth_epoch = fields.IntField(default=0)

    class Meta:
        table = "users"
        ordering = ["username"]

    @property
    def mfa_enabled(self) -> bool:
        return self.mfa_secret_enc is not None


class PasswordHistory(Base):
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("webgate.User", on_delete=fields.CASCADE)
    password_hash = fields.CharField(max_length=255)

    class Meta:
        table = "password_history"


class RecoveryCode(Base):
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("webgate.User", on_delete=fields.CASCADE)
    code_hash = fields.CharField(max_length=64, db_index=True)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "recovery_codes"


class Role(Base):
    """A named set of permissions. org=None marks a system role available in every org."""

    org = fields.ForeignKeyField("webgate.Organization", null=True, on_delete=fields.CASCADE)
    name = fields.CharField(max_length=64)
    builtin = fields.BooleanField(default=False)
    permissions = fields.JSONField(default=list)
    comment = fields.TextField(default="")

    class Meta:
        table = "roles"
        ordering = ["name"]
        unique_together = (("org", "name"),)


class Membership(Base):
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("webgate.User", related_name="memberships", on_delete=fields.CASCADE)
    org = fields.ForeignKeyField("webgate.Organization", on_delete=fields.CASCADE)
    role: fields.ForeignKeyRelation[Role] = fields.ForeignKeyField("webgate.Role", on_delete=fields.CASCADE)

    class Meta:
        table = "memberships"
        unique_together = (("user", "org", "role"),)


class UserGroup(OrgScoped):
    name = fields.CharField(max_length=128)
    comment = fields.TextField(default="")
    users: fields.ManyToManyRelation[User] = fields.ManyToManyField(
        "webgate.User", related_name="groups", through="user_group_members")

    class Meta:
        table = "user_groups"
        ordering = ["name"]
        unique_together = (("org", "name"),)


class WebSession(Base):
    """A browser session: the cookie holds a random token, the table only its SHA-256."""

    token_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("webgate.User", on_delete=fields.CASCADE)
    org_id = fields.UUIDField(null=True)
    # password -> (mfa | mfa_enroll | password_change) -> done; only "done" reaches the API.
    stage = fields.CharField(max_length=20, default="password")
    csrf_token = fields.CharField(max_length=64)
    auth_epoch = fields.IntField(default=0)
    last_seen_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    ip = fields.CharField(max_length=64, default="")
    user_agent = fields.CharField(max_length=512, default="")

    class Meta:
        table = "web_sessions"


class ApiToken(OrgScoped):
    name = fields.CharField(max_length=128)
    token_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=16)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("webgate.User", on_delete=fields.CASCADE)
    role: fields.ForeignKeyRelation[Role] = fields.ForeignKeyField("webgate.Role", on_delete=fields.CASCADE)
    last_used_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_tokens"
        ordering = ["-created_at"]


class LoginAcl(Base):
    """Allow/deny logins by source network, weekday and time of day (global, ordered by priority)."""

    name = fields.CharField(max_length=128)
    priority = fields.IntField(default=50)
    action = fields.CharField(max_length=8)
    ips = fields.JSONField(default=list)
    user_ids = fields.JSONField(default=list)
    weekdays = fields.JSONField(default=list)
    time_start = fields.CharField(max_length=5, default="")
    time_end = fields.CharField(max_length=5, default="")
    is_active = fields.BooleanField(default=True)
    comment = fields.TextField(default="")

    class Meta:
        table = "login_acls"
        ordering = ["priority", "name"]


class SettingsRow(Base):
    """Policy settings: one global row (org=None) and optional per-org overrides."""

    org = fields.ForeignKeyField("webgate.Organization", null=True, unique=True, on_delete=fields.CASCADE)
    data = fields.JSONField(default=dict)

    class Meta:
        table = "settings"
