"""Assets as an admin manages them: validation, filters, import report, export round-trip, roles."""

from __future__ import annotations

import csv
import io

import openpyxl

from tests.api._assets_helpers import asset, node, person
from tests.helpers import make_org
from webgate.db.models import Asset


def fields(r) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    return r.json()["error"]["details"]["fields"]


async def test_create_fills_default_protocols_and_keeps_labels_and_extra(admin_client, default_org):
    a = await asset(admin_client, "web1", labels=["env:prod", "team:ops"])
    assert a["protocols"] == [{"name": "ssh", "port": 22}, {"name": "sftp", "port": 22}]
    assert a["labels"] == ["env:prod", "team:ops"] and a["is_active"] is True
    k8s = await asset(admin_client, "k8s", platform="kubernetes", address="https://k8s.example.com:6443",
                      extra={"verify_tls": False, "ca_cert": "-----BEGIN CERTIFICATE-----"})
    assert k8s["protocols"] == [{"name": "k8s", "port": 443}] and k8s["extra"]["verify_tls"] is False
    db = await asset(admin_client, "db", platform="mysql", protocols=[{"name": "mysql"}])
    assert db["protocols"] == [{"name": "mysql", "port": 3306}]


async def test_bad_fields_are_refused_with_their_names(admin_client):
    base = {"name": "x", "address": "10.0.0.1", "platform": "linux"}
    post = admin_client.post
    assert "platform" in fields(await post("/api/v1/assets", json={**base, "platform": "solaris"}))
    assert "protocols.0.name" in fields(await post("/api/v1/assets", json={**base, "protocols": [{"name": "ftp"}]}))
    assert "protocols.0.port" in fields(await post("/api/v1/assets", json={**base, "protocols": [{"name": "ssh", "port": 70000}]}))
    assert "address" in fields(await post("/api/v1/assets", json={**base, "address": "bad host!"}))
    assert "address" in fields(await post("/api/v1/assets", json={**base, "platform": "website", "address": "intranet"}))
    assert "labels" in fields(await post("/api/v1/assets", json={**base, "labels": ["nocolon"]}))
    assert "extra" in fields(await post("/api/v1/assets", json={**base, "extra": {"x": "y" * 20000}}))
    assert "name" in fields(await post("/api/v1/assets", json={**base, "name": ""}))
    await asset(admin_client, "x")
    r = await post("/api/v1/assets", json=base)
    assert r.status_code == 409 and r.json()["error"]["details"]["field"] == "name"


async def test_node_ids_of_another_org_are_refused_and_org_cannot_be_assigned(admin_client, default_org):
    other = await make_org("Other")
    theirs = (await admin_client.post("/api/v1/nodes", json={"name": "t"}, headers={"X-Webgate-Org": str(other.id)})).json()
    r = await admin_client.post("/api/v1/assets", json={"name": "a", "address": "h1", "platform": "linux",
                                                        "node_ids": [theirs["id"]]})
    assert "node_ids" in fields(r)
    a = await asset(admin_client, "mine", org_id=str(other.id), org=str(other.id), id="x")
    assert (await Asset.get(id=a["id"])).org_id == default_org.id


async def test_filters_by_node_with_sub_nodes_platform_label_active_and_search(admin_client):
    prod = await node(admin_client, "Prod")
    db = await node(admin_client, "DB", prod)
    await asset(admin_client, "app1", [prod], labels=["env:prod"])
    await asset(admin_client, "db1", [db], platform="postgresql", address="db1.example.com")
    await asset(admin_client, "loose", is_active=False)

    async def names(**params):  # type: ignore[no-untyped-def]
        r = await admin_client.get("/api/v1/assets", params=params)
        assert r.status_code == 200, r.text
        return sorted(i["name"] for i in r.json()["items"])

    assert await names(node_id=prod["id"]) == ["app1", "db1"]
    assert await names(node_id=db["id"]) == ["db1"]
    assert await names(platform="postgresql") == ["db1"]
    assert await names(label="env:prod") == ["app1"]
    assert await names(is_active="false") == ["loose"]
    assert await names(search="example.com") == ["db1"]
    assert (await admin_client.get("/api/v1/assets", params={"ordering": "secret"})).status_code == 422


async def test_update_keeps_unsent_fields_and_platform_change_brings_its_protocols(admin_client):
    a = await asset(admin_client, "srv", labels=["a:b"])
    r = await admin_client.patch(f"/api/v1/assets/{a['id']}", json={"comment": "hello"})
    assert r.json()["labels"] == ["a:b"] and r.json()["comment"] == "hello"
    r = await admin_client.patch(f"/api/v1/assets/{a['id']}", json={"platform": "windows"})
    assert r.json()["protocols"] == [{"name": "rdp", "port": 3389}]
    assert (await admin_client.delete(f"/api/v1/assets/{a['id']}")).status_code == 204
    assert (await admin_client.get(f"/api/v1/assets/{a['id']}")).status_code == 404


CSV_TEXT = """name,address,platform,protocols,nodes,labels,comment,is_active
web1,10.0.0.5,linux,ssh/2222 sftp/22,/Prod/Web,env:prod;tier:web,first,true
bad-platform,10.0.0.6,amiga,,,,,
bad-port,10.0.0.7,linux,ssh/99999,,,,
db1,db1.internal,mysql,,/Prod/DB;/Shared,,,false
"""


async def test_import_keeps_good_rows_and_reports_bad_ones_by_row_and_field(admin_client):
    r = await admin_client.post("/api/v1/assets/import", files={"file": ("assets.csv", CSV_TEXT.encode(), "text/csv")})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["created"] == 2 and report["updated"] == 0
    failed = {f["row"]: f["errors"] for f in report["failed"]}
    assert set(failed) == {3, 4}
    assert "platform" in failed[3] and "protocols.0.port" in failed[4]
    items = {a["name"]: a for a in (await admin_client.get("/api/v1/assets")).json()["items"]}
    assert items["web1"]["protocols"] == [{"name": "ssh", "port": 2222}, {"name": "sftp", "port": 22}]
    assert items["db1"]["is_active"] is False and len(items["db1"]["node_ids"]) == 2
    tree = {n["name"]: n for n in (await admin_client.get("/api/v1/nodes")).json()["items"]}
    assert tree["Web"]["parent_id"] == tree["Prod"]["id"] and tree["DB"]["parent_id"] == tree["Prod"]["id"]
    # The same name again updates, and empty cells keep values.
    again = "name,address,platform,comment\nweb1,10.0.0.9,linux,\n"
    r = await admin_client.post("/api/v1/assets/import", files={"file": ("a.csv", again.encode(), "text/csv")})
    assert r.json() == {"created": 0, "updated": 1, "failed": []}
    web1 = next(a for a in (await admin_client.get("/api/v1/assets")).json()["items"] if a["name"] == "web1")
    assert web1["address"] == "10.0.0.9" and web1["comment"] == "first"


async def test_import_refuses_files_without_columns_and_oversized_files(admin_client):
    r = await admin_client.post("/api/v1/assets/import", files={"file": ("a.csv", b"foo,bar\n1,2\n", "text/csv")})
    assert "file" in fields(r)
    big = b"name,address,platform\n" + b"x" * (6 * 1024 * 1024)
    r = await admin_client.post("/api/v1/assets/import", files={"file": ("a.csv", big, "text/csv")})
    assert r.status_code == 413 and "MB" in r.json()["error"]["message"]


async def test_export_csv_guards_formulas_and_round_trips_through_import(admin_client):
    web = await node(admin_client, "Web", await node(admin_client, "Prod"))
    await asset(admin_client, "=HYPERLINK(evil)", [web], labels=["env:prod"], comment="@SUM(1)",
                protocols=[{"name": "ssh", "port": 2222}])
    r = await admin_client.get("/api/v1/assets/export", params={"format": "csv"})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows[0]["name"] == "'=HYPERLINK(evil)" and rows[0]["comment"] == "'@SUM(1)"
    assert rows[0]["nodes"] == "/Prod/Web" and rows[0]["protocols"] == "ssh/2222"
    before = (await admin_client.get("/api/v1/assets")).json()["items"]
    r = await admin_client.post("/api/v1/assets/import", files={"file": ("assets.csv", r.content, "text/csv")})
    assert r.json() == {"created": 0, "updated": 1, "failed": []}
    assert (await admin_client.get("/api/v1/assets")).json()["items"] == before


async def test_export_xlsx_round_trips_into_an_empty_org(admin_client):
    await asset(admin_client, "-lead", [await node(admin_client, "N")], platform="redis", address="r.example.com")
    r = await admin_client.get("/api/v1/assets/export", params={"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
    assert sheet.cell(2, 1).value == "'-lead" and sheet.cell(2, 1).data_type == "s"
    other = await make_org("Other")
    r = await admin_client.post("/api/v1/assets/import", headers={"X-Webgate-Org": str(other.id)},
                                files={"file": ("assets.xlsx", r.content, "application/octet-stream")})
    assert r.json() == {"created": 1, "updated": 0, "failed": []}
    copy = (await admin_client.get("/api/v1/assets", headers={"X-Webgate-Org": str(other.id)})).json()["items"][0]
    assert copy["name"] == "-lead" and copy["protocols"] == [{"name": "redis", "port": 6379}]
    assert (await admin_client.get("/api/v1/assets/export", params={"format": "pdf"})).status_code == 422


async def test_roles_and_other_orgs(admin_client, services, make_client):
    a = await asset(admin_client, "srv")
    other = await make_org("Other")
    theirs = (await admin_client.post("/api/v1/assets", headers={"X-Webgate-Org": str(other.id)},
                                      json={"name": "t", "address": "h", "platform": "linux"})).json()
    for verb in ("get", "patch", "delete"):
        kw = {"json": {"comment": "x"}} if verb == "patch" else {}
        assert (await getattr(admin_client, verb)(f"/api/v1/assets/{theirs['id']}", **kw)).status_code == 404
    _, user = await person(services, make_client, "plain")
    _, auditor = await person(services, make_client, "aud", role="Auditor")
    assert (await user.get("/api/v1/assets")).status_code == 403
    assert (await auditor.get("/api/v1/assets")).status_code == 200
    for c in (user, auditor):
        assert (await c.post("/api/v1/assets", json={"name": "n", "address": "h", "platform": "linux"})).status_code == 403
        assert (await c.patch(f"/api/v1/assets/{a['id']}", json={"comment": "x"})).status_code == 403
        assert (await c.delete(f"/api/v1/assets/{a['id']}")).status_code == 403
        assert (await c.post("/api/v1/assets/import", files={"file": ("a.csv", CSV_TEXT.encode())})).status_code == 403


async def test_bad_rdp_options_are_refused_when_the_asset_is_saved(admin_client):
    base = {"name": "win9", "address": "10.0.0.9", "platform": "windows"}
    r = await admin_client.post("/api/v1/assets", json={**base, "extra": {"rdp_security": "kerberos"}})
    assert r.status_code == 422 and "rdp_security must be one of any, nla, tls, rdp" in fields(r)["extra"]
    ok = await admin_client.post("/api/v1/assets", json={**base, "extra": {"rdp_security": "nla", "rdp_domain": "CORP"}})
    assert ok.status_code == 200 and ok.json()["extra"]["rdp_security"] == "nla", ok.text
