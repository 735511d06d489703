"""All models, one Tortoise app named ``webgate``."""

from webgate.db.models.applets import Applet
from webgate.db.models.assets import Account, AccountTemplate, Asset, Favorite, Node
from webgate.db.models.audit import LoginLog, OperationLog
from webgate.db.models.identity import (
    ApiToken,
    LoginAcl,
    Membership,
    Organization,
    PasswordHistory,
    RecoveryCode,
    Role,
    SettingsRow,
    User,
    UserGroup,
    WebSession,
)
from webgate.db.models.permissions import AccessEpoch, AssetPermission
from webgate.db.models.sessions import FileTransfer, Session

__all__ = [
    "AccessEpoch", "Account", "AccountTemplate", "ApiToken", "Applet", "Asset", "AssetPermission", "Favorite", "FileTransfer",
    "LoginAcl", "LoginLog", "Membership", "Node", "OperationLog", "Organization",
    "PasswordHistory", "RecoveryCode", "Role", "Session", "SettingsRow", "User",
    "UserGroup", "WebSession",
]
