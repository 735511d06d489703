"""The OpenAPI document, built from the route list itself (so it cannot drift from the code)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from webgate import __version__

_DOCS = """<!doctype html><html><head><meta charset="utf-8"><title>webgate API</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;color:#1f2937}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e5e7eb;padding:.35rem .5rem;text-align:left}code{font-size:13px}</style></head><body><h1>webgate API v1</h1>
<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>. Errors are
<code>{"error": {"code", "message", "details"}}</code>. Authenticate with the browser session
(plus <code>X-CSRF-Token</code> on changes) or <code>Authorization: Bearer wg_...</code>.</p>
<table id="ops"><thead><tr><th>Method</th><th>Path</th><th>Permission</th><th>Summary</th></tr></thead><tbody>
{rows}</tbody></table></body></html>"""


def _perm_text(perm: str) -> str:
    return {"@public": "none (public)", "@user": "any logged-in user", "@partial": "a login in progress"}.get(perm, perm)


def build_document(routes: list[Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for route in routes:
        perm = getattr(route, "webgate_perm", None)
        if perm is None:
            continue
        path = "/api/v1" + route.path
        for method in sorted(route.methods - {"HEAD"}):
            op: dict[str, Any] = {
                "summary": route.webgate_summary,
                "operationId": f"{method.lower()}_{route.name.rsplit('.', 1)[-1]}",
                "x-webgate-permission": perm,
                "responses": {"200": {"description": "OK"}, "401": {"$ref": "#/components/responses/Error"},
                              "403": {"$ref": "#/components/responses/Error"},
                              "404": {"$ref": "#/components/responses/Error"},
                              "422": {"$ref": "#/components/responses/Error"}},
            }
            params = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                      for p in route.param_convertors]
            if params:
                op["parameters"] = params
            body = route.webgate_body
            if body is not None and method != "GET":
                schema = body.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, sub in schema.pop("$defs", {}).items():
                    schemas[name] = sub
                schemas[body.__name__] = schema
                op["requestBody"] = {"content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{body.__name__}"}}}}
            if perm != "@public":
                op["security"] = [{"session": []}, {"token": []}]
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "webgate", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "webgate_session"},
                                "token": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": {"description": "An error", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"error": {"type": "object", "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}}}}}}}}},
        },
    }


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.openapi)


async def docs_page(request: Request) -> HTMLResponse:
    import html

    rows = []
    for path, ops in request.app.state.openapi["paths"].items():
        for method, op in ops.items():
            rows.append(f"<tr><td>{method.upper()}</td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(_perm_text(op['x-webgate-permission']))}</td>"
                        f"<td>{html.escape(op['summary'])}</td></tr>")
    return HTMLResponse(_DOCS.replace("{rows}", "\n".join(rows)))


routes = [Route("/openapi.json", openapi_json, methods=["GET"])]
docs_routes = [Route("/api/docs", docs_page, methods=["GET"])]
