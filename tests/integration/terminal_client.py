"""A browser-like terminal client for integration tests, and the rows a terminal needs.

``Term`` speaks /ws/terminal as the SPA does (cookie + Origin, binary frames for bytes,
JSON text frames for control) and keeps a pyte screen of everything it received.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pyte
import websockets

from tests.helpers import PASSWORD, login, make_user
from webgate.db.crypto import context_for
from webgate.db.models import Account, Asset, AssetPermission, Organization, User
from webgate.services import Services


async def make_ssh_asset(services: Services, port: int, *, name: str = "web01", address: str = "127.0.0.1",
                         extra: dict[str, Any] | None = None) -> Asset:
    org = await Organization.get(is_default=True)
    return await Asset.create(org=org, name=name, address=address, platform="linux",
                              protocols=[{"name": "ssh", "port": port}], extra=extra or {})


async def make_account(services: Services, asset: Asset, name: str, username: str, *, secret: str | None = None,
                       secret_type: str = "password", passphrase: str | None = None) -> Account:
    account = await Account.create(org_id=asset.org_id, asset=asset, name=name, username=username,
                                   secret_type=secret_type)
    if secret is not None:
        account.secret_enc = services.box.encrypt(secret, context_for("accounts", "secret", account.id))
    if passphrase is not None:
        account.passphrase_enc = services.box.encrypt(passphrase, context_for("accounts", "passphrase", account.id))
    await account.save()
    return account


async def grant(user: User, asset: Asset, accounts: list[str], actions: tuple[str, ...] = ("connect",),
                name: str = "p") -> AssetPermission:
    perm = await AssetPermission.create(org_id=asset.org_id, name=name, accounts=accounts, protocols=["ssh"],
                                        actions=list(actions))
    await perm.users.add(user)
    await perm.assets.add(asset)
    return perm


async def browser_cookie(gateway: str, username: str, password: str = PASSWORD) -> str:
    async with httpx.AsyncClient(base_url=f"http://{gateway}") as http:
        r = await http.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return f"webgate_session={http.cookies['webgate_session']}"


@contextlib.asynccontextmanager
async def admin_browser(services: Services, gateway: str) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's browser on the running gateway (cookie, CSRF header, same-site Origin): changes
    made through it move the access epoch as an admin's would."""
    await make_user(services, "root-admin", superadmin=True, role="OrgAdmin")
    async with httpx.AsyncClient(base_url=f"http://{gateway}", headers={"Origin": f"http://{gateway}"}) as http:
        await login(http, "root-admin")
        yield http


async def user_and_cookie(services: Services, gateway: str, username: str = "alice") -> tuple[User, str]:
    user = await make_user(services, username)
    return user, await browser_cookie(gateway, username)


class Term:
    """One terminal tab: a WebSocket, the control frames seen and a pyte screen of the output."""

    def __init__(self, ws: websockets.ClientConnection, cols: int = 80, rows: int = 24) -> None:
        self.ws = ws
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.frames: list[bytes] = []
        self.controls: list[dict[str, Any]] = []

    @classmethod
    async def connect(cls, gateway: str, cookie: str | None, query: str, *, origin: str | None = None,
                      cols: int = 80, rows: int = 24) -> Term:
        headers = {"Origin": origin or f"http://{gateway}"}
        if cookie:
            headers["Cookie"] = cookie
        ws = await websockets.connect(f"ws://{gateway}/ws/terminal?{query}&cols={cols}&rows={rows}",
                                      additional_headers=headers, max_size=None)
        return cls(ws, cols, rows)

    async def wait_for(self, pred: Callable[[Term], bool], timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not pred(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out; controls={self.controls[-5:]} tail={bytes(self.raw[-300:])!r}")
            try:
                msg = await asyncio.wait_for(self.ws.recv(), remaining)
            except TimeoutError:
                continue
            except websockets.ConnectionClosed:
                if pred(self):
                    return
                raise AssertionError(f"closed; controls={self.controls[-5:]}") from None
            if isinstance(msg, bytes):
                self.frames.append(msg)
                self.raw += msg
                self.stream.feed(msg)
            else:
                self.controls.append(json.loads(msg))

    def control(self, type_: str, **match: Any) -> dict[str, Any] | None:
        for c in self.controls:
            if c["type"] == type_ and all(c.get(k) == v for k, v in match.items()):
                return c
        return None

    async def until_control(self, type_: str, timeout: float = 15, **match: Any) -> dict[str, Any]:
        await self.wait_for(lambda t: t.control(type_, **match) is not None, timeout)
        found = self.control(type_, **match)
        assert found is not None
        return found

    async def until_output(self, text: str, timeout: float = 15) -> None:
        await self.wait_for(lambda t: text.encode() in t.raw, timeout)

    async def opened(self) -> dict[str, Any]:
        await self.wait_for(lambda t: t.control("status", state="open") is not None or t.control("error") is not None)
        assert self.control("error") is None, self.control("error")
        return self.control("status", state="open")  # type: ignore[return-value]

    async def send(self, data: bytes | dict[str, Any] | str) -> None:
        await self.ws.send(json.dumps(data) if isinstance(data, dict) else data)

    async def run(self, command: str, marker: str, timeout: float = 15) -> None:
        await self.send(command.encode() + b"\n")
        await self.until_output(marker, timeout)

    async def close(self) -> None:
        await self.ws.close()
