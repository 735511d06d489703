"""RemoteApp applets: admins define them (validated, org-scoped), people see the ones for an asset."""

from __future__ import annotations

from tests.api._assets_helpers import asset, permission, person
from tests.helpers import add_membership, make_org
from webgate.db.models import Applet, OperationLog

CHROMIUM = {"name": "Chromium", "icon": "chromium", "asset_platforms": ["website"], "protocol": "https",
            "kind": "linux", "program": "chromium",
            "autofill": {"username": "#user", "password": "input[type=password]", "submit": "button[type=submit]"}}
SQL = {"name": "SQL client", "icon": "database", "asset_platforms": ["mysql", "postgresql"], "protocol": "mysql",
       "kind": "linux", "program": "xterm", "password_env": "MYSQL_PWD",
       "arguments": ["-e", "mysql", "-h", "{host}", "-P", "{port}", "-u", "{username}", "{database}"]}


async def test_admin_defines_lists_changes_and_deletes_applets(admin_client):
    r = await admin_client.post("/api/v1/applets", json=CHROMIUM)
    assert r.status_code == 200, r.text
    created = r.json()
    assert created["autofill"] == CHROMIUM["autofill"] and created["kind"] == "linux"
    assert (await admin_client.post("/api/v1/applets", json=SQL)).status_code == 200
    listing = (await admin_client.get("/api/v1/applets", params={"search": "sql"})).json()
    assert [i["name"] for i in listing["items"]] == ["SQL client"]
    r = await admin_client.patch(f"/api/v1/applets/{created['id']}", json={"is_active": False, "comment": "later"})
    assert r.json()["is_active"] is False and r.json()["comment"] == "later"
    assert await OperationLog.filter(resource_type="applet", action="update").exists()
    assert (await admin_client.post("/api/v1/applets", json=CHROMIUM)).status_code == 409
    assert (await admin_client.delete(f"/api/v1/applets/{created['id']}")).status_code == 204
    assert (await admin_client.get(f"/api/v1/applets/{created['id']}")).status_code == 404


async def test_bad_applets_are_refused_with_the_field_and_a_sentence(admin_client):
    cases = {
        "arguments": {"arguments": ["--password={password}"]},
        "icon": {"icon": "javascript:alert(1)"},
        "asset_platforms": {"asset_platforms": ["mainframe"]},
        "password_env": {"password_env": "LD_PRELOAD"},
        "autofill": {"autofill": {"cookie": "#x"}},
        "protocol": {"protocol": "gopher"},
    }
    for field, change in cases.items():
        r = await admin_client.post("/api/v1/applets", json={**SQL, **change})
        assert r.status_code == 422, (field, r.text)
        assert field in r.json()["error"]["details"]["fields"], (field, r.text)
    r = await admin_client.post("/api/v1/applets", json={**SQL, "arguments": ["{host!r}"]})
    assert r.status_code == 422
    r = await admin_client.post("/api/v1/applets", json={**SQL, "program": ""})
    assert r.status_code == 422 and "program" in r.json()["error"]["details"]["fields"]
    r = await admin_client.post("/api/v1/applets", json={**SQL, "kind": "windows", "program": ""})
    assert set(r.json()["error"]["details"]["fields"]) >= {"host_asset_id", "remote_app"}
    r = await admin_client.post("/api/v1/applets", json={**SQL, "app_host": "nowhere"})
    assert "app_host" in r.json()["error"]["details"]["fields"]
    r = await admin_client.post("/api/v1/applets", json={**SQL, "icon": "data:image/png;base64,iVBORw0KGgo="})
    assert r.status_code == 200, r.text
    assert await Applet.all().count() == 1


async def test_applets_are_org_scoped_and_need_the_applet_permissions(admin_client, services, make_client):
    applet = (await admin_client.post("/api/v1/applets", json=CHROMIUM)).json()
    other = await make_org("Other")
    _, stranger = await person(services, make_client, "olga", role="OrgAdmin", org=other)
    assert (await stranger.get(f"/api/v1/applets/{applet['id']}")).status_code == 404
    assert (await stranger.patch(f"/api/v1/applets/{applet['id']}", json={"name": "x"})).status_code == 404
    assert (await stranger.get("/api/v1/applets")).json()["items"] == []
    _, auditor = await person(services, make_client, "aud", role="Auditor")
    assert (await auditor.get("/api/v1/applets")).status_code == 403
    assert (await auditor.post("/api/v1/applets", json=SQL)).status_code == 403


async def test_my_applets_lists_what_fits_the_permitted_asset_and_protocol(admin_client, services, make_client,
                                                                           default_org):
    user, me = await person(services, make_client, "alice")
    site = await asset(admin_client, "intranet", platform="website", address="https://intranet.example.com/")
    db = await asset(admin_client, "db1", platform="mysql")
    hidden = await asset(admin_client, "db2", platform="mysql")
    for body in (CHROMIUM, SQL, {**SQL, "name": "Off", "is_active": False}):
        assert (await admin_client.post("/api/v1/applets", json=body)).status_code == 200
    await permission(admin_client, "p", user_ids=[str(user.id)], asset_ids=[site["id"], db["id"]])
    r = await me.get("/api/v1/my/applets", params={"asset": site["id"]})
    assert r.status_code == 200 and [i["name"] for i in r.json()["items"]] == ["Chromium"]
    assert set(r.json()["items"][0]) == {"id", "name", "icon", "kind"}
    assert [i["name"] for i in (await me.get("/api/v1/my/applets", params={"asset": db["id"]})).json()["items"]] \
        == ["SQL client"]
    assert (await me.get("/api/v1/my/applets", params={"asset": hidden["id"]})).status_code == 404
    assert (await me.get("/api/v1/my/applets", params={"asset": "nope"})).status_code == 404
    # A permission limited to another protocol offers no applet needing mysql.
    await permission(admin_client, "ssh-only", user_ids=[str(user.id)], asset_ids=[hidden["id"]], protocols=["ssh"])
    assert (await me.get("/api/v1/my/applets", params={"asset": hidden["id"]})).json()["items"] == []
    other = await make_org("Other")
    await add_membership(user, other)
    assert (await me.get("/api/v1/my/applets")).status_code == 404
