"""guacd status codes in words a non-technical person understands."""

from __future__ import annotations

# guacd 1.3.0 reports a refused VNC/RDP login as 519 (UPSTREAM_NOT_FOUND) or 769 (CLIENT_UNAUTHORIZED).
MESSAGES: dict[int, tuple[str, str]] = {
    512: ("target_error", "The remote desktop failed unexpectedly. Reconnect; if it persists, tell your admin."),
    513: ("server_busy", "The remote desktop service is busy. Try again in a moment."),
    514: ("target_timeout", "The remote desktop did not answer in time. Check it is running, then try again."),
    515: ("target_error", "The remote desktop reported an error and the connection was closed."),
    516: ("target_error", "The remote desktop is not available. Tell your admin."),
    518: ("target_closed", "The remote desktop closed the connection."),
    519: ("login_failed", "The remote desktop refused the login (wrong password?), or could not be reached. "
                          "Ask your admin to check the account."),
    520: ("target_unreachable", "The remote desktop could not be reached. Check it is running, then try again."),
    521: ("target_closed", "Someone else took over this remote desktop session."),
    522: ("target_timeout", "The remote desktop session timed out."),
    523: ("target_closed", "The remote desktop session was ended on the remote side."),
    768: ("protocol_error", "The gateway sent the remote desktop service a request it did not understand."),
    769: ("login_failed", "The remote desktop refused the login. Ask your admin to check the account."),
    771: ("login_failed", "The remote desktop refused access for this account."),
    776: ("client_gone", "The browser stopped responding, so the remote desktop was closed."),
    797: ("server_busy", "Too many people are using this remote desktop. Try again later."),
}
DEFAULT = ("target_error", "The remote desktop connection failed. Try again; if it persists, tell your admin.")

_UNREACHABLE = ("target_unreachable", "The remote desktop could not be reached or refused the connection. Check it "
                "is running; if it persists, ask your admin to check the asset's address, port and RDP security "
                "setting.")
# guacd 1.3.0's RDP plugin says more in its ``error`` text than in the status code (519 covers a
# closed port and a refused security mode alike): its texts, by how they start, in plain words.
DETAILS: dict[str, tuple[str, str]] = {
    "Authentication failure": ("login_failed", "The remote desktop refused the login (wrong password?). "
                               "Ask your admin to check the account."),
    "Access denied by server": ("login_failed", "The remote desktop refused this account (locked or disabled?). "
                                "Ask your admin to check the account."),
    "Security negotiation failed": ("security_mismatch", "The remote desktop does not accept the security mode "
                                    "the gateway asked for. Ask your admin to check the asset's RDP security "
                                    "setting (any, nla, tls or rdp)."),
    "SSL/TLS connection failed": ("certificate_untrusted", "The remote desktop's certificate is not trusted "
                                  "(self-signed?). Ask your admin to give it a trusted certificate, or to allow "
                                  "it on the asset (rdp_ignore_cert)."),
    "Server refused connection": _UNREACHABLE,
    "Connection failed": _UNREACHABLE,
    "DNS lookup failed": _UNREACHABLE,
}
# An RDP server that hangs up right after guacd's ``ready`` without saying why: xrdp with
# ``require_credentials`` and Windows without NLA do this when the password is wrong.
CLOSED_AT_ONCE = ("login_failed", "The remote desktop closed the connection as soon as it opened: usually the login "
                  "was refused (wrong password?) or the account may not log in there. Ask your admin to check the "
                  "account.")
CLOSED_AT_ONCE_STATUS = 769


def describe(status: int | None, detail: str = "") -> tuple[str, str]:
    """(short reason code for the session row, sentence for the person), from guacd's status
    and, where it is more precise, guacd's own error text."""
    for start, described in DETAILS.items():
        if detail.startswith(start):
            return described
    return MESSAGES.get(status, DEFAULT) if status is not None else DEFAULT
