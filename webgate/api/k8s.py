"""Kubernetes browsing for the terminal picker: namespaces → pods → containers of a cluster asset.

The person chooses a pod before a shell opens, so these calls use the cluster account
exactly as the session will: authorised first by the permission resolver (protocol
``k8s``, action ``connect``, the chosen account), then the secret is decrypted for the
one request and dropped. The cluster's own RBAC decides what appears: an account that
may not list namespaces sees the namespaces the admin named on the asset
(``extra.namespaces``, names separated by commas or spaces, plus its kubeconfig's
namespace) in which it may list pods.
Nothing returned contains the token; refusals are sentences.
"""

from __future__ import annotations

import re
from typing import Any

from webgate.api._base import ANY_USER, Ctx, endpoint
from webgate.assets.secrets import reveal_secret
from webgate.errors import Forbidden, ValidationFailed
from webgate.policy.access import INPUT, AccessResolver
from webgate.policy.targets import check_api_address
from webgate.protocols.k8s_config import Cluster, check_name, cluster_for
from webgate.protocols.kubernetes import KubeClient

PROTOCOL = "k8s"
MAX_HINTS = 50


async def _cluster(ctx: Ctx) -> tuple[Cluster, list[str]]:
    """The cluster as the chosen account, after the permission check; and the asset's namespace hints."""
    account = ctx.query("account")
    if not account:
        raise ValidationFailed({"account": "required"}, "Say which account to browse the cluster with.")
    if account == INPUT:
        raise ValidationFailed({"account": "Browsing a cluster needs an account stored on the asset; "
                                           "pick one of those."})
    org_id = ctx.require_org()
    access = await AccessResolver(ctx.services.clock).check(
        ctx.user, org_id, ctx.request.path_params["id"], account, PROTOCOL, action="connect")
    asset, row = access.asset, access.account
    assert row is not None
    port = next((int(p.get("port") or 0) or None for p in asset.protocols or []
                 if isinstance(p, dict) and p.get("name") == PROTOCOL), None)
    # The same address policy as every session: no listing through loopback/metadata addresses.
    ip = await check_api_address(ctx.services.settings, asset.address, port)
    secret, _ = reveal_secret(ctx.services, row)
    extra = asset.extra if isinstance(asset.extra, dict) else {}
    cluster = cluster_for(asset.address, port, secret, secret_type=row.secret_type, extra=extra, name=asset.name,
                          dial_address=str(ip))
    del secret
    raw = extra.get("namespaces")
    hints = re.split(r"[\s,;]+", raw.strip())[:MAX_HINTS] if isinstance(raw, str) else []
    return cluster, [h for h in hints if h]


async def namespaces(ctx: Ctx) -> dict[str, Any]:
    """Namespaces the account can use: all of them if it may list namespaces, else the asset's list it may open."""
    cluster, hints = await _cluster(ctx)
    async with KubeClient(cluster) as kube:
        try:
            names, truncated = await kube.namespaces()
            return {"items": [{"name": n} for n in names], "truncated": truncated, "complete": True}
        except Forbidden:
            candidates = sorted({n for n in [*hints, cluster.namespace] if n})
            if not candidates:
                raise Forbidden("This Kubernetes account may not list the cluster's namespaces, and no namespaces "
                                "are named on the asset. Ask your admin to name the namespaces this account "
                                "may use on the asset.", code="k8s_forbidden") from None
            allowed = []
            for name in candidates:
                try:
                    check_name(name, "namespace")
                except ValidationFailed:
                    continue
                if await kube.can_list_pods(name):
                    allowed.append(name)
    if not allowed:
        raise Forbidden("This Kubernetes account may not list pods in any of the namespaces named on the asset. "
                        "Ask your admin to grant it access in the cluster.", code="k8s_forbidden")
    return {"items": [{"name": n} for n in allowed], "truncated": False, "complete": False}


async def pods(ctx: Ctx) -> dict[str, Any]:
    """Pods of one namespace with their phase and container names."""
    namespace = check_name(ctx.request.path_params["ns"], "namespace")
    cluster, _ = await _cluster(ctx)
    async with KubeClient(cluster) as kube:
        items, truncated = await kube.pods(namespace)
    return {"items": items, "truncated": truncated}


routes = [
    endpoint("/my/assets/{id}/k8s/namespaces", namespaces, perm=ANY_USER),
    endpoint("/my/assets/{id}/k8s/namespaces/{ns}/pods", pods, perm=ANY_USER),
]
