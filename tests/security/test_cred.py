"""CRED: secrets given to the gateway never come back out (responses, logs, database).

Known, unique secrets go in through the API where a route exists (accounts, account
templates, API tokens, MFA, passwords); then every GET route is called and the
answers, every log record at DEBUG and every database cell are searched for them.
(CVE-2025-27095: a Kubernetes token leaked through an API response.)
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import asyncssh
import pyotp

from tests.helpers import login, make_user
from tests.security._db import cells_containing, rows
from tests.security._routes import API, DUMMY_ID, api_routes, collection_route
from tests.security.conftest import World
from webgate.db.models import Account, AccountTemplate, Role


def unique(label: str) -> str:
    return f"{label}-{secrets.token_hex(12)}"


async def _create(app: Any, browser: Any, segment: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """POST through the API when the route exists; None while it does not."""
    if collection_route(app, segment, "POST") is None:
        return None
    r = await browser.post(f"{API}/{segment}", json=body)
    assert r.status_code in (200, 201), f"{segment}: {r.status_code} {r.text}"
    return r.json()


async def _every_get(app: Any, browser: Any, ids: list[str]) -> list[tuple[str, str]]:
    answers = []
    for route in api_routes(app):
        if route.method != "GET" or route.perm is None or route.path.endswith("/auth/mfa/enroll"):
            continue  # enrolment shows the user a *new* secret on purpose; it is not called here
        for ident in (ids if route.has_params else [DUMMY_ID]):
            r = await browser.get(route.url(ident), params={"page_size": "500"})
            answers.append((f"GET {route.url(ident)}", r.text))
    return answers


async def test_secrets_never_leave_the_gateway(app, admin_client, make_client, services, clock, caplog,
                                               home: World):
    caplog.set_level(logging.DEBUG)
    password = unique("Pw-Horse")
    await make_user(services, "holder", password=password, role="OrgAdmin")
    holder = make_client()
    await login(holder, "holder", password)
    # MFA: the secret is shown once at enrolment; the recovery codes once at confirmation.
    enrol = (await holder.get(f"{API}/auth/mfa/enroll")).json()
    totp_secret = enrol["secret"]
    done = await holder.post(f"{API}/auth/mfa/enroll", json={"code": pyotp.TOTP(totp_secret).at(clock.time())})
    recovery = done.json()["recovery_codes"]
    secret_values = [password, totp_secret, *recovery]

    passphrase, template_secret, account_password = unique("phrase"), unique("tmpl"), unique("acct")
    key_text = asyncssh.generate_private_key("ssh-ed25519").export_private_key(
        "openssh", passphrase=passphrase).decode()
    asset_id = str(home.objects["assets"].id)
    made = await _create(app, admin_client, "accounts", {
        "asset_id": asset_id, "name": "cred-key", "username": "root", "secret_type": "ssh_key",
        "secret": key_text, "passphrase": passphrase})
    if made is not None:
        # The whole key, and its longest base64 line on its own (a log may hold just a piece).
        secret_values += [key_text, max(key_text.splitlines(), key=len), passphrase]
        assert made.get("has_secret") is True and made.get("has_passphrase") is True
        await _create(app, admin_client, "accounts", {
            "asset_id": asset_id, "name": "cred-password", "username": "admin", "secret_type": "password",
            "secret": account_password})
        secret_values.append(account_password)
    made = await _create(app, admin_client, "account-templates", {
        "name": "cred-template", "username": "root", "secret_type": "password", "secret": template_secret})
    if made is not None:
        secret_values.append(template_secret)
    role = await Role.get(org_id=None, name="Auditor")
    made = await _create(app, admin_client, "tokens", {"name": "cred-token", "role_id": str(role.id)})
    if made is not None:
        secret_values.append(made["token"])
    # Wrong input carrying secrets is refused without echoing them.
    await holder.post(f"{API}/auth/password", json={"old_password": unique("wrong"), "new_password": password[:3]})
    r = await make_client().post(f"{API}/auth/login", json={"username": "holder", "password": password + "x"})
    assert password not in r.text

    ids = [str(o.id) for o in home.objects.values()] + [str(a.id) for a in await Account.all()]
    ids += [str(t.id) for t in await AccountTemplate.all()]
    answers = await _every_get(app, admin_client, ids) + await _every_get(app, holder, ids)
    leaks = [f"{where} shows {s[:6]}…" for where, text in answers for s in secret_values if s in text]
    assert leaks == []

    log_text = "\n".join(f"{rec.name}: {rec.getMessage()} {rec.exc_text or ''}" for rec in caplog.records)
    assert [s[:6] for s in secret_values if s in log_text] == []
    assert await cells_containing(secret_values) == []


async def test_encrypted_columns_hold_ciphertext_only(home: World, other: World):
    for table in ("accounts", "account_templates", "users"):
        for row in await rows(table):
            for column in ("secret_enc", "passphrase_enc", "mfa_secret_enc", "mfa_pending_enc"):
                value = row.get(column)
                assert value in (None, "") or str(value).startswith("v1:"), f"{table}.{column}"
