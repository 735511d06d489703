"""REST API v1: one module per resource, each exporting ``routes``; gathered here in order."""

from __future__ import annotations

import importlib

from starlette.routing import BaseRoute

MODULES = [
    "auth", "orgs", "users", "groups", "roles", "tokens", "login_acls", "settings",
    "nodes", "assets", "host_keys", "accounts", "account_templates", "permissions", "my", "applets",
    "audit_logs", "dashboard", "metrics", "sessions", "k8s",
]


def api_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for name in MODULES:
        routes.extend(importlib.import_module(f"webgate.api.{name}").routes)
    from webgate.api.openapi import routes as openapi_routes

    return routes + openapi_routes
