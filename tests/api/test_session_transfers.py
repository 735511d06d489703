"""GET /sessions/{id}/transfers: the files moved through one session, as auditors read them.

The rows are written by the desktop session (tests/integration/test_rdp.py moves real files
through xrdp); here the listing's authorisation and shape are checked on rows made directly.
"""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import login, make_org, make_user
from webgate.db.models import FileTransfer, Organization, Session
from webgate.services import Services


async def _session(services: Services, org: Organization, asset: str = "win01") -> Session:
    now = services.clock.now()
    row = await Session.create(org_id=org.id, username="alice", asset_name=asset, account_username="ops",
                               protocol="rdp", status="ended", started_at=now)
    for minutes, (direction, path, size, status) in enumerate([
            ("upload", "/report.txt", 12600, "done"), ("download", "/ledger.bin", 23040, "done"),
            ("upload", "/payload.exe", 0, "refused")]):
        await FileTransfer.create(org_id=org.id, session=row, username="alice", asset_name=asset, protocol="rdp",
                                  direction=direction, path=path, size=size, status=status,
                                  started_at=now + timedelta(minutes=minutes),
                                  ended_at=now + timedelta(minutes=minutes, seconds=2))
    return row


async def test_an_auditor_lists_a_sessions_transfers_newest_first(make_client, services) -> None:
    await make_user(services, "aud", role="Auditor")
    org = await Organization.get(is_default=True)
    row = await _session(services, org)
    await _session(services, org, asset="win02")  # another session's files stay out
    auditor = make_client()
    await login(auditor, "aud")
    r = await auditor.get(f"/api/v1/sessions/{row.id}/transfers")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 3
    assert [(i["direction"], i["path"], i["size"], i["status"]) for i in body["items"]] == [
        ("upload", "/payload.exe", 0, "refused"), ("download", "/ledger.bin", 23040, "done"),
        ("upload", "/report.txt", 12600, "done")]
    assert set(body["items"][0]) == {"id", "session_id", "username", "asset_name", "protocol", "direction", "path",
                                     "size", "status", "started_at", "ended_at"}
    assert all(i["session_id"] == str(row.id) for i in body["items"])
    searched = (await auditor.get(f"/api/v1/sessions/{row.id}/transfers", params={"search": "ledger"})).json()
    assert [i["path"] for i in searched["items"]] == ["/ledger.bin"]
    bad = await auditor.get(f"/api/v1/sessions/{row.id}/transfers", params={"ordering": "org_id"})
    assert bad.status_code == 422


async def test_transfers_follow_the_sessions_own_authorisation(make_client, services) -> None:
    await make_user(services, "plain")
    await make_user(services, "aud", role="Auditor")
    row = await _session(services, await Organization.get(is_default=True))
    elsewhere = await _session(services, await make_org("Other"))
    plain = make_client()
    await login(plain, "plain")
    assert (await plain.get(f"/api/v1/sessions/{row.id}/transfers")).status_code == 403
    auditor = make_client()
    await login(auditor, "aud")
    assert (await auditor.get(f"/api/v1/sessions/{elsewhere.id}/transfers")).status_code == 404
    assert (await auditor.get("/api/v1/sessions/not-a-uuid/transfers")).status_code == 404
