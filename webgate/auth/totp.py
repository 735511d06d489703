"""TOTP (RFC 6238) with replay protection, and single-use recovery codes."""

from __future__ import annotations

import hashlib
import secrets

import pyotp
import segno

ISSUER = "webgate"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning(secret: str, username: str) -> tuple[str, str]:
    """The otpauth:// URI and an SVG QR code of it (rendered by the SPA as an image, not HTML)."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
    svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#1f2937", light="#ffffff")
    return uri, svg


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step a code belongs to (±1 step of drift), or None. Callers reject old steps."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = int(now) // totp.interval
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def new_recovery_codes(n: int = 10) -> list[str]:
    return [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(n)]


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().lower().encode()).hexdigest()
