"""Logins per second: Argon2id at production cost plus session creation, over real HTTP.

    python bench/login.py --db sqlite            # or --db mysql (database webgate_bench_login)
    python bench/login.py --workers 1 2 --concurrency 8 --seconds 15

Starts a real uvicorn on 127.0.0.1 (one run per worker count), logs in 32 prepared users
from a concurrent httpx client (each request from an empty cookie jar, as a new browser
would) and reports logins per second and latency. Production Argon2 cost comes from the
default Settings (time cost 3, 64 MiB). Not a test: run by hand, figures go to RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import percentiles, record, table  # noqa: E402
from webgate.settings import Settings  # noqa: E402

PASSWORD = "Gateway-Speed-2026!"  # noqa: S105 - a throwaway benchmark account
USERS = 32
MYSQL_SERVER = os.environ.get("WEBGATE_BENCH_MYSQL", "mysql://root:@127.0.0.1:3306")


def server_app():  # type: ignore[no-untyped-def]
    """The uvicorn factory: the app as `webgate serve` builds it, from WEBGATE_* variables."""
    from webgate.app import create_app

    return create_app(Settings.from_env(), migrate=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(db: str, data: Path) -> dict[str, str]:
    if db == "mysql":
        import pymysql

        conn = pymysql.connect(host="127.0.0.1", user="root", password="", port=3306)
        with conn.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS webgate_bench_login")
            cur.execute("CREATE DATABASE webgate_bench_login CHARACTER SET utf8mb4")
        conn.close()
        url = f"{MYSQL_SERVER}/webgate_bench_login"
    else:
        url = f"sqlite://{data / 'login.sqlite3'}"
    return {**os.environ, "WEBGATE_DATA_DIR": str(data), "WEBGATE_DATABASE_URL": url, "WEBGATE_LOG_LEVEL": "warning",
            "WEBGATE_NODE_NAME": "bench"}


async def prepare(env: dict[str, str]) -> None:
    from webgate.auth.users import create_user
    from webgate.services import Services

    services = await Services.start(Settings.from_env(env))
    try:
        for i in range(USERS):
            await create_user(services, username=f"person{i:02d}", password=PASSWORD)
    finally:
        await services.close()


async def hammer(base: str, concurrency: int, seconds: float) -> tuple[list[float], int, float]:
    samples: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal failures
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            i = n
            while time.perf_counter() < deadline:
                client.cookies.clear()
                start = time.perf_counter()
                r = await client.post("/api/v1/auth/login", json={"username": f"person{i % USERS:02d}",
                                                                  "password": PASSWORD})
                if r.status_code == 200 and r.json().get("stage") == "done":
                    samples.append((time.perf_counter() - start) * 1000)
                else:
                    failures += 1
                i += concurrency

    began = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return samples, failures, time.perf_counter() - began


def run_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "uvicorn", "bench.login:server_app", "--factory", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env)  # noqa: S603 - our own interpreter and arguments


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(200):
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("uvicorn did not start")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "mysql"), default="sqlite")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = environment(args.db, Path(tmp))
        await prepare(env)
        for workers in args.workers:
            port = free_port()
            server = run_server(env, port, workers)
            base = f"http://127.0.0.1:{port}"
            try:
                await wait_ready(base)
                await hammer(base, args.concurrency, 2)  # warm-up
                samples, failures, took = await hammer(base, args.concurrency, args.seconds)
            finally:
                server.terminate()
                server.wait(10)
            stats = percentiles(samples)
            rows.append([str(workers), str(args.concurrency), f"{len(samples) / took:.1f}",
                         *(f"{stats[k]:.0f}" for k in ("p50", "p95", "p99")), str(failures)])
    load = os.getloadavg()[0]
    body = (f"Real uvicorn on 127.0.0.1, {args.db}, Argon2id time cost 3 / 64 MiB (production), "
            f"{args.seconds:.0f} s per row, each login from an empty cookie jar; load average at the end "
            f"{load:.1f}.\n\n"
            + table(["uvicorn workers", "concurrent clients", "logins/s", "p50 ms", "p95 ms", "p99 ms", "failed"],
                    rows))
    record(f"login:{args.db}", f"POST /api/v1/auth/login — {args.db}", body)


if __name__ == "__main__":
    asyncio.run(main())
