"""The dashboard's numbers for the current org, computed against the injected clock."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import login, make_org, make_user
from webgate.db.models import Asset, Session

URL = "/api/v1/dashboard"


async def _session(org, asset_name: str, started, status: str = "ended") -> Session:
    return await Session.create(org=org, username="someone", asset_name=asset_name, protocol="ssh",
                                status=status, started_at=started)


async def test_counts_and_charts_for_the_current_org(admin_client, make_client, services, clock, default_org):
    other = await make_org("Other")
    now = clock.now()
    await Asset.create(org=default_org, name="web-1", address="10.0.0.1", platform="linux")
    await Asset.create(org=default_org, name="db-1", address="10.0.0.2", platform="linux")
    await Asset.create(org=other, name="hidden", address="10.9.0.1", platform="linux")
    await make_user(services, "alice")
    await make_user(services, "bob", org=other)
    for _ in range(3):
        await _session(default_org, "web-1", now - timedelta(minutes=5))
    await _session(default_org, "web-1", now - timedelta(minutes=1), status="live")
    await _session(default_org, "db-1", now - timedelta(days=1))
    await _session(default_org, "db-1", now - timedelta(days=20))  # top assets only
    await _session(default_org, "old", now - timedelta(days=40))  # nowhere
    await _session(other, "hidden", now, status="live")
    browser = make_client()
    r = await browser.post("/api/v1/auth/login", json={"username": "alice", "password": "bad"})
    assert r.status_code == 401
    await browser.post("/api/v1/auth/login", json={"username": "bob", "password": "bad"})
    await browser.post("/api/v1/auth/login", json={"username": "ghost", "password": "bad"})

    r = await admin_client.get(URL)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["counts"] == {"assets": 2, "users": 2, "sessions_today": 4, "live_sessions": 1,
                              "failed_logins_today": 1}
    days = data["sessions_per_day"]
    assert len(days) == 14 and days[-1] == {"date": now.date().isoformat(), "count": 4}
    assert days[-2] == {"date": (now - timedelta(days=1)).date().isoformat(), "count": 1}
    assert sum(d["count"] for d in days) == 5
    logins = data["logins_per_day"]
    assert len(logins) == 14
    assert logins[-1] == {"date": now.date().isoformat(), "success": 1, "failure": 1}
    assert data["top_assets"] == [{"name": "web-1", "count": 4}, {"name": "db-1", "count": 2}]


async def test_today_follows_the_clock(admin_client, clock, default_org):
    await _session(default_org, "web-1", clock.now())
    assert (await admin_client.get(URL)).json()["counts"]["sessions_today"] == 1
    clock.advance(24 * 3600)
    await login(admin_client, "root-admin")  # the old session expired meanwhile
    data = (await admin_client.get(URL)).json()
    assert data["counts"]["sessions_today"] == 0
    assert [d["count"] for d in data["sessions_per_day"][-2:]] == [1, 0]


async def test_super_admin_global_view_counts_every_org(admin_client, clock, default_org):
    other = await make_org("Other")
    await Asset.create(org=default_org, name="a", address="10.0.0.1", platform="linux")
    await Asset.create(org=other, name="b", address="10.0.0.2", platform="linux")
    await _session(other, "b", clock.now(), status="live")
    assert (await admin_client.get(URL)).json()["counts"]["assets"] == 1
    await admin_client.post("/api/v1/auth/switch-org", json={"org_id": None})
    counts = (await admin_client.get(URL)).json()["counts"]
    assert counts["assets"] == 2 and counts["live_sessions"] == 1


async def test_auditor_may_read_it_and_plain_user_may_not(client, make_client, services):
    await make_user(services, "aud", role="Auditor")
    await make_user(services, "plain")
    auditor, plain = make_client(), make_client()
    await login(auditor, "aud")
    await login(plain, "plain")
    assert (await auditor.get(URL)).status_code == 200
    r = await plain.get(URL)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (await client.get(URL)).status_code == 401
