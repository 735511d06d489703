"""The API's one way to declare an endpoint, and the request context handlers receive.

``endpoint(path, handler, methods, perm=...)`` builds a Starlette ``Route`` whose wrapper
authenticates, checks Origin and CSRF for cookie sessions, checks the named permission,
turns ``WebgateError`` into the JSON error shape and hides everything else behind a
500 without a stack trace. ``perm`` is required: ``PUBLIC`` (no login) or ``ANY_USER``
(any fully logged-in user) must be said explicitly, and the route-enumeration security
test reads it from the route.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.queryset import QuerySet

from webgate import jsontext
from webgate.auth.client_ip import client_ip
from webgate.auth.principal import Principal
from webgate.errors import (
    BadRequest,
    Conflict,
    CsrfFailed,
    Forbidden,
    MfaRequired,
    NotFound,
    TooLarge,
    Unauthenticated,
    ValidationFailed,
    WebgateError,
)
from webgate.policy.epoch import bump as bump_access_epoch
from webgate.services import Services

log = logging.getLogger("webgate.api")

PUBLIC = "@public"
ANY_USER = "@user"
# Endpoints usable while a login is between steps (MFA, enrolment, forced password change).
PARTIAL = "@partial"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_JSON = 1 << 20
_TOO_LARGE = "The request is larger than 1 MiB, the most the gateway accepts here. Send less at once."

M = TypeVar("M", bound=Model)
B = TypeVar("B", bound=BaseModel)


@dataclass
class Ctx:
    request: Request
    services: Services
    principal: Principal | None

    @property
    def user(self):  # type: ignore[no-untyped-def]
        assert self.principal is not None
        return self.principal.user

    @property
    def org_id(self) -> uuid.UUID | None:
        return self.principal.org_id if self.principal else None

    @property
    def ip(self) -> str:
        return client_ip(self.request.scope, self.services.settings.trusted_proxies)

    @property
    def user_agent(self) -> str:
        return self.request.headers.get("user-agent", "")[:512]

    def require_org(self) -> uuid.UUID:
        """The org a write goes to; the super admin's global view has none."""
        if self.org_id is None:
            raise ValidationFailed({"org": "Choose an organization first (the global view is read-only)."})
        return self.org_id

    def scoped(self, model: type[M]) -> QuerySet[M]:
        """The only way handlers reach org-owned rows: always filtered by the caller's org."""
        if self.org_id is None:
            if self.principal and self.principal.user.is_superadmin:
                return model.all()
            return model.filter(id=None)
        return model.filter(org_id=self.org_id)

    async def get(self, model: type[M], key: str | None = None, query: QuerySet[M] | None = None) -> M:
        """Fetch one row through the caller's scope; anything else is 404, never 403."""
        raw = key if key is not None else self.request.path_params.get("id", "")
        try:
            ident = uuid.UUID(str(raw))
        except ValueError:
            raise NotFound() from None
        obj = await (query if query is not None else self.scoped(model)).filter(id=ident).first()
        if obj is None:
            raise NotFound()
        return obj

    async def read_body(self) -> bytes:
        """The body, refused (413) as soon as it passes MAX_JSON: never buffered beyond it."""
        declared = self.request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_JSON:
            raise TooLarge(_TOO_LARGE)
        body = bytearray()
        async for chunk in self.request.stream():
            body += chunk
            if len(body) > MAX_JSON:
                raise TooLarge(_TOO_LARGE)
        self.request._body = bytes(body)  # later request.body() calls get it from Starlette's cache
        return self.request._body

    async def json(self) -> Any:
        body = await self.read_body()
        if not body:
            return {}
        try:
            return jsontext.loads(body)
        except jsontext.NotText as exc:
            raise BadRequest(str(exc)) from None
        except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting ("[[[[...") recurses
            raise BadRequest("The request body is not valid JSON.") from None

    async def body(self, schema: type[B]) -> B:
        data = await self.json()
        if not isinstance(data, dict):
            raise ValidationFailed({"": "Expected a JSON object."})
        return parse(schema, data)

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)

    async def audit(self, action: str, resource_type: str, obj: Any = None,
                    changes: dict[str, Any] | None = None, name: str | None = None) -> None:
        from webgate.audit.emitter import operation

        await operation(self, action, resource_type, obj, changes, name)


def parse(schema: type[B], data: dict[str, Any]) -> B:
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or ""
            message = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            fields.setdefault(loc, message)
        raise ValidationFailed(fields) from None


def error_response(exc: WebgateError) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if "retry_after" in exc.details:
        headers["Retry-After"] = str(exc.details["retry_after"])
    return JSONResponse(exc.to_json(), status_code=exc.status, headers=headers)


def to_response(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=204)
    return JSONResponse(result)


def _origin_ok(request: Request, services: Services) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # non-browser clients; CSRF token still required for cookies
    return origin_allowed(origin, request.headers.get("host", ""), services)


def origin_allowed(origin: str, host: str, services: Services) -> bool:
    origin = origin.rstrip("/")
    allowed = {f"http://{host}", f"https://{host}", *services.settings.allowed_origins}
    if services.settings.public_url:
        allowed.add(services.settings.public_url.rstrip("/"))
    return origin in allowed


async def authorize(request: Request, services: Services, perm: str) -> Principal | None:
    principal: Principal | None = request.scope.get("webgate.principal")
    if perm == PUBLIC:
        return principal
    if principal is None:
        raise Unauthenticated()
    if not principal.done and perm != PARTIAL:
        raise MfaRequired() if principal.stage in ("mfa", "mfa_enroll") else Unauthenticated(
            "Finish logging in first (change your password).", code="password_change_required")
    if request.method in UNSAFE and principal.via_cookie:
        if not _origin_ok(request, services):
            raise CsrfFailed("This request came from another site and was refused.")
        sent = request.headers.get("x-csrf-token", "")
        assert principal.session is not None
        if not sent or not secrets.compare_digest(sent, principal.session.csrf_token):
            raise CsrfFailed()
    if perm not in (ANY_USER, PARTIAL) and not principal.can(perm):
        raise Forbidden(details={"permission": perm})
    return principal


Handler = Callable[[Ctx], Awaitable[Any]]


def endpoint(path: str, handler: Handler, methods: Sequence[str] = ("GET",), *, perm: str,
             summary: str = "", body: type[BaseModel] | None = None, keeps_access: bool = False) -> Route:
    """A route whose caller is authorised before ``handler`` runs.

    A state-changing request moves the access epoch once its handler ran, whatever the outcome
    (a failed handler may have written half): live sessions then re-check in full. Only routes
    that cannot withdraw anyone's access (``keeps_access``: logging in, favourites) skip it."""
    moves_epoch = not keeps_access and any(m in UNSAFE for m in methods)

    async def run(request: Request) -> Response:
        services: Services = request.app.state.services
        try:
            principal = await authorize(request, services, perm)
            try:
                return to_response(await handler(Ctx(request, services, principal)))
            finally:
                if moves_epoch and request.method in UNSAFE:
                    await bump_access_epoch()
        except WebgateError as exc:
            return error_response(exc)
        except IntegrityError:
            return error_response(Conflict())
        except Exception:
            log.exception("unhandled error in %s %s", request.method, path)
            return error_response(WebgateError())

    route = Route(path, run, methods=list(methods), name=f"{handler.__module__}.{handler.__name__}")
    route.webgate_perm = perm  # type: ignore[attr-defined]
    route.webgate_summary = summary or (handler.__doc__ or "").strip().split("\n")[0]  # type: ignore[attr-defined]
    route.webgate_body = body  # type: ignore[attr-defined]
    return route


async def paginate(ctx: Ctx, qs: QuerySet[M], serialize: Callable[[M], Awaitable[dict[str, Any]] | dict[str, Any]],
                   *, search: Iterable[str] = (), ordering: Iterable[str] = ("name",),
                   prefetch: Sequence[str] = ()) -> dict[str, Any]:
    """Page, search and order a list. Ordering is limited to the named fields (422 otherwise)."""
    try:
        page = max(1, int(ctx.query("page", "1")))
        size = min(500, max(1, int(ctx.query("page_size", "50"))))
    except ValueError:
        raise ValidationFailed({"page": "page and page_size must be numbers"}) from None
    text = ctx.query("search").strip()
    if text and search:
        from tortoise.expressions import Q

        cond = Q()
        for name in search:
            cond |= Q(**{f"{name}__icontains": text})
        qs = qs.filter(cond)
    order = ctx.query("ordering")
    allowed = set(ordering)
    if order:
        if order.lstrip("-") not in allowed:
            raise ValidationFailed({"ordering": f"Order by one of: {', '.join(sorted(allowed))}"})
        qs = qs.order_by(order)
    total = await qs.count()
    rows = await qs.offset((page - 1) * size).limit(size).prefetch_related(*prefetch)
    items = []
    for row in rows:
        item = serialize(row)
        items.append(await item if hasattr(item, "__await__") else item)  # type: ignore[misc]
    return {"items": items, "total": total, "page": page, "page_size": size}


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def forbid_unless(condition: bool) -> None:
    if not condition:
        raise Forbidden()


async def unique_name(query: QuerySet[M], name: str, what: str, *, exclude: Any = None, field: str = "name") -> str:
    """A stripped, non-empty ``name`` not used in ``query`` yet: 422 when empty, 409 naming ``field`` when taken."""
    name = name.strip()
    if not name:
        raise ValidationFailed({field: "Enter a name."})
    taken = query.filter(**{field: name})
    if exclude is not None:
        taken = taken.exclude(id=exclude)
    if await taken.exists():
        raise Conflict(f"{what} with this name already exists. Choose another name.", details={"field": field})
    return name
