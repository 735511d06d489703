"""How fast "My assets" answers for a person with 10,000 permitted assets among 100,000.

    python bench/my_assets.py --db sqlite            # data in a temporary folder
    python bench/my_assets.py --db mysql             # MariaDB/MySQL on 127.0.0.1:3306 (database webgate_bench)

Builds 100,000 assets in 1,110 nodes (10 top nodes, 10 children each, 10 leaves each; 100
assets a leaf, one account each), 200 other users, 50 groups and 300 other permissions;
then the person "bench" gets 10,000 assets through one group's permission on a top node,
plus a direct permission on a sub-node inside it (to exercise merging). It then times
GET /api/v1/my/assets (first page, a search, a node filter) and /my/nodes through the
real app (httpx ASGITransport, so the auth middleware and session lookup are included).
Target: p95 < 100 ms on both databases. Not a test: run by hand, figures go to RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import percentiles, record, table  # noqa: E402
from webgate.app import create_app  # noqa: E402
from webgate.settings import Settings  # noqa: E402

PASSWORD = "Gateway-Speed-2026!"  # noqa: S105 - a throwaway benchmark account
MYSQL_SERVER = os.environ.get("WEBGATE_BENCH_MYSQL", "mysql://root:@127.0.0.1:3306")


def settings_for(db: str, data_dir: Path, reuse: bool) -> Settings:
    if db == "mysql" and not reuse:
        import pymysql

        host = MYSQL_SERVER.split("@", 1)[1].split(":")[0]
        conn = pymysql.connect(host=host, user="root", password="", port=3306)
        with conn.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS webgate_bench")
            cur.execute("CREATE DATABASE webgate_bench CHARACTER SET utf8mb4")
        conn.close()
    if db == "mysql":
        url = f"{MYSQL_SERVER}/webgate_bench"
    else:
        url = f"sqlite://{data_dir / 'bench.sqlite3'}"
    return Settings(data_dir=data_dir, database_url=url, storage_url=f"file://{data_dir / 'rec'}",
                    secret_key_file=data_dir / "secret.key", node_name="bench", argon2_time_cost=1,
                    argon2_memory_kib=8192)


async def insert_many(sql: str, rows: list[tuple[Any, ...]], batch: int = 5000) -> None:
    from tortoise import connections

    conn = connections.get("default")
    if conn.capabilities.dialect == "mysql":
        sql = sql.replace("?", "%s")
    for i in range(0, len(rows), batch):
        await conn.execute_many(sql, [list(r) for r in rows[i:i + batch]])


async def build(services: Any, n_assets: int) -> None:
    from webgate.auth.users import create_user
    from webgate.db.models import (
        Account,
        Asset,
        AssetPermission,
        Node,
        Organization,
        User,
        UserGroup,
    )

    rng = random.Random(42)  # noqa: S311 - reproducible test data, not secrets
    org = await Organization.get(is_default=True)
    nodes: list[Node] = []
    tops, mids, leaves = [], [], []
    for t in range(10):
        top = Node(id=uuid.uuid4(), org_id=org.id, name=f"top-{t}", path="/")
        tops.append(top)
        for m in range(10):
            mid = Node(id=uuid.uuid4(), org_id=org.id, name=f"mid-{t}-{m}", parent_id=top.id, path=f"/{top.id}/")
            mids.append(mid)
            for leaf_no in range(10):
                leaves.append(Node(id=uuid.uuid4(), org_id=org.id, name=f"leaf-{t}-{m}-{leaf_no}",
                                   parent_id=mid.id, path=f"/{top.id}/{mid.id}/"))
    nodes = tops + mids + leaves
    await Node.bulk_create(nodes, batch_size=1000)
    assets, links, accounts = [], [], []
    for i in range(n_assets):
        leaf = leaves[(i // 100) % len(leaves)]
        a = Asset(id=uuid.uuid4(), org_id=org.id, name=f"srv-{i:06d}", address=f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
                  platform="linux", protocols=[{"name": "ssh", "port": 22}, {"name": "sftp", "port": 22}],
                  labels=[f"env:{['prod', 'test', 'dev'][i % 3]}"], extra={}, comment="")
        assets.append(a)
        links.append((str(a.id), str(leaf.id)))
        accounts.append(Account(id=uuid.uuid4(), org_id=org.id, asset_id=a.id, name="root", username="root"))
    await Asset.bulk_create(assets, batch_size=2000)
    await insert_many("INSERT INTO asset_nodes (assets_id, node_id) VALUES (?, ?)", links)
    await Account.bulk_create(accounts, batch_size=2000)
    user, _ = await create_user(services, username="bench", password=PASSWORD, org_id=org.id)
    others = [User(id=uuid.uuid4(), username=f"user-{i:03d}", password_hash="x")  # noqa: S106
              for i in range(200)]
    await User.bulk_create(others, batch_size=500)
    groups = [UserGroup(id=uuid.uuid4(), org_id=org.id, name=f"group-{g:02d}") for g in range(50)]
    await UserGroup.bulk_create(groups)
    members = [(str(g.id), str(u.id)) for g in groups for u in rng.sample(others, 10)]
    members.append((str(groups[0].id), str(user.id)))
    await insert_many("INSERT INTO user_group_members (user_groups_id, user_id) VALUES (?, ?)", members)
    perms = [AssetPermission(id=uuid.uuid4(), org_id=org.id, name=f"perm-{p:03d}", accounts=["@ALL"])
             for p in range(302)]
    await AssetPermission.bulk_create(perms)
    mine_group, mine_direct, rest = perms[0], perms[1], perms[2:]
    await insert_many("INSERT INTO perm_groups (asset_permissions_id, usergroup_id) VALUES (?, ?)",
                      [(str(mine_group.id), str(groups[0].id))]
                      + [(str(p.id), str(rng.choice(groups[1:]).id)) for p in rest[:150]])
    await insert_many("INSERT INTO perm_users (asset_permissions_id, user_id) VALUES (?, ?)",
                      [(str(mine_direct.id), str(user.id))] + [(str(p.id), str(rng.choice(others).id)) for p in rest[150:]])
    await insert_many("INSERT INTO perm_nodes (asset_permissions_id, node_id) VALUES (?, ?)",
                      [(str(mine_group.id), str(tops[0].id)), (str(mine_direct.id), str(mids[3].id))]
                      + [(str(p.id), str(rng.choice(mids[10:]).id)) for p in rest])
    await AssetPermission.filter(id=mine_direct.id).update(accounts=["@INPUT"], actions=["connect", "upload"])


async def timed(client: httpx.AsyncClient, url: str, params: dict[str, str], runs: int) -> tuple[dict[str, float], int]:
    await client.get(url, params=params)  # warm-up
    samples = []
    total = 0
    for _ in range(runs):
        start = time.perf_counter()
        r = await client.get(url, params=params)
        samples.append((time.perf_counter() - start) * 1000)
        r.raise_for_status()
        body = r.json()
        total = body["total"] if isinstance(body, dict) else len(body)
    return percentiles(samples), total


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "mysql"), default="sqlite")
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--data", help="keep the data in this folder (and the mysql database) and reuse it "
                                       "on the next run with --reuse")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data) if args.data else Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        app = create_app(settings_for(args.db, data, args.reuse))
        async with app.router.lifespan_context(app):
            services = app.state.services
            start = time.perf_counter()
            if not args.reuse:
                await build(services, args.assets)
            built = time.perf_counter() - start
            from webgate.db.models import Node

            mid = await Node.get(name="mid-0-5")
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
                r = await client.post("/api/v1/auth/login", json={"username": "bench", "password": PASSWORD})
                r.raise_for_status()
                cases = [("first page", "/api/v1/my/assets", {}),
                         ("search 'srv-005'", "/api/v1/my/assets", {"search": "srv-005"}),
                         ("node filter (1,000 assets)", "/api/v1/my/assets", {"node_id": str(mid.id)}),
                         ("/my/nodes", "/api/v1/my/nodes", {})]
                rows = []
                for label, url, params in cases:
                    stats, total = await timed(client, url, params, args.runs)
                    rows.append([label, f"{total:,}", *(f"{stats[k]:.1f}" for k in ("p50", "p95", "p99", "max"))])
    body = (f"{args.assets:,} assets in 1,110 nodes; the person is permitted 10,000 of them through a group "
            f"and a node; {args.runs} sequential requests per row through the ASGI app (ms). "
            f"Data built in {built:.0f} s.\n\n"
            + table(["request", "items/total", "p50", "p95", "p99", "max"], rows))
    record(f"my_assets:{args.db}", f"GET /api/v1/my/assets — {args.db}", body)


if __name__ == "__main__":
    asyncio.run(main())
