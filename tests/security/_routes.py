"""Route enumeration for the security suite: every check walks the live app, not a list.

A module that gains routes is covered the moment it is mounted; a test that needs a
resource's routes skips (with a reason) only while that resource has none.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from starlette.routing import BaseRoute, Mount, Route

API = "/api/v1"
DUMMY_ID = "5f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f"
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
PUBLIC, ANY_USER, PARTIAL = "@public", "@user", "@partial"
_PARAM = re.compile(r"\{[^}]+\}")


@dataclass(frozen=True)
class ApiRoute:
    path: str  # full path with placeholders, e.g. /api/v1/users/{id}
    method: str
    perm: str | None

    @property
    def named(self) -> bool:
        """A named permission from rbac.PERMISSIONS (not @public/@user/@partial)."""
        return self.perm is not None and not self.perm.startswith("@")

    @property
    def has_params(self) -> bool:
        return bool(_PARAM.search(self.path))

    def url(self, value: str = DUMMY_ID) -> str:
        return fill(self.path, value)

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.perm}]"


def walk(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """Every leaf route with its full path, descending into mounts."""
    for route in routes:
        if isinstance(route, Mount):
            yield from walk(route.routes, prefix + route.path)
        else:
            yield prefix + getattr(route, "path", ""), route


def api_routes(app: Any) -> list[ApiRoute]:
    """One entry per (path, method) under /api/v1; HEAD is GET's shadow and skipped."""
    out: list[ApiRoute] = []
    for path, route in walk(app.routes):
        if not path.startswith(API + "/") or not isinstance(route, Route):
            continue
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            out.append(ApiRoute(path, method, getattr(route, "webgate_perm", None)))
    return out


async def refusals(browser: Any, routes: Iterable[ApiRoute], status: int, code: str,
                   headers: dict[str, str] | None = None) -> list[str]:
    """Call each route (dummy ids, empty JSON body); list those not refused with status/code."""
    failures = []
    for route in routes:
        r = await browser.request(route.method, route.url(), json={}, headers=headers)
        try:
            got = r.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            got = ""
        if r.status_code != status or got != code:
            failures.append(f"{route}: {r.status_code} {got}")
    return failures


def fill(path: str, value: str = DUMMY_ID) -> str:
    return _PARAM.sub(value, path)


def resource_routes(app: Any, segment: str) -> list[ApiRoute]:
    """Routes that address one object of a resource: /api/v1/<segment>/{id}[/...]."""
    pattern = re.compile(rf"^{re.escape(API)}/{re.escape(segment)}/\{{[^}}]+\}}(/.*)?$")
    return [r for r in api_routes(app) if r.perm is not None and pattern.match(r.path)]


def collection_route(app: Any, segment: str, method: str) -> ApiRoute | None:
    return next((r for r in api_routes(app) if r.path == f"{API}/{segment}" and r.method == method), None)


def plain_gets(app: Any) -> list[ApiRoute]:
    """GET routes without path parameters that need a login: lists, dashboards, "me"."""
    return [r for r in api_routes(app) if r.method == "GET" and not r.has_params
            and r.perm is not None and r.perm != PUBLIC]


def items_of(body: Any) -> list[Any] | None:
    """The rows of a list answer (paginated or a bare array); None when it is no list."""
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        return body["items"]
    if isinstance(body, list):
        return body
    return None


def keys_in(value: Any) -> set[str]:
    """Every dict key anywhere inside a JSON value."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, sub in value.items():
            found.add(str(key))
            found |= keys_in(sub)
    elif isinstance(value, list):
        for sub in value:
            found |= keys_in(sub)
    return found


def random_id() -> str:
    return str(uuid.uuid4())
