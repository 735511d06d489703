"""Browsing a Kubernetes asset (namespaces → pods → containers) through the permission resolver.

The cluster is the in-process exec endpoint in API-server mode (bearer tokens, RBAC-like
namespace limits); the same calls run against the real kube-apiserver in
tests/integration/test_kubernetes.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.api._assets_helpers import account, asset, permission, person
from tests.helpers import make_org
from tests.integration.k8s_peer import ExecPeer
from webgate.db.models import Asset, OperationLog

ADMIN = "k8s-admin-token-0123456789"  # noqa: S105 - test tokens
LIMITED = "k8s-limited-token-abcdef"  # noqa: S105
PODS = {"team-a": {"web-1": ["app", "sidecar"]}, "team-b": {"db-0": ["db"]}}


@pytest.fixture
def settings(settings: Any) -> Any:
    """The fake cluster listens on loopback, which the target address policy refuses by default."""
    return settings.with_(allow_targets=("127.0.0.0/8",))


@pytest.fixture
async def cluster() -> AsyncIterator[ExecPeer]:
    peer = await ExecPeer(tokens={ADMIN: None, LIMITED: {"team-a"}}, pods=PODS).start()
    yield peer
    await peer.stop()


async def _setup(admin_client: httpx.AsyncClient, services: Any, make_client: Any, cluster: ExecPeer, *,
                 token: str = ADMIN, namespaces: str = "", protocols: tuple[str, ...] = ("k8s",),
                 actions: tuple[str, ...] = ("connect",)) -> tuple[httpx.AsyncClient, str]:
    """A user allowed to use one token account on a cluster asset; returns (client, url prefix)."""
    extra: dict[str, Any] = {"namespaces": namespaces} if namespaces else {}
    k8s = await asset(admin_client, "cluster-1", address=cluster.url, platform="kubernetes",
                      protocols=[{"name": "k8s", "port": cluster.port}], extra=extra)
    await account(admin_client, k8s, "sa", username="webgate-sa", secret_type="token", secret=token)  # noqa: S106
    user, client = await person(services, make_client, "kate")
    await permission(admin_client, "k8s-kate", user_ids=[str(user.id)], asset_ids=[k8s["id"]], accounts=["sa"],
                     protocols=list(protocols), actions=list(actions))
    return client, f"/api/v1/my/assets/{k8s['id']}/k8s"


def _no_token(r: httpx.Response) -> None:
    assert ADMIN not in r.text and LIMITED not in r.text


async def test_lists_namespaces_then_pods_with_containers(admin_client, services, make_client, cluster) -> None:
    client, base = await _setup(admin_client, services, make_client, cluster)
    r = await client.get(f"{base}/namespaces", params={"account": "sa"})
    assert r.status_code == 200, r.text
    assert r.json() == {"items": [{"name": "team-a"}, {"name": "team-b"}], "truncated": False, "complete": True}
    r = await client.get(f"{base}/namespaces/team-a/pods", params={"account": "sa"})
    assert r.status_code == 200, r.text
    assert r.json() == {"items": [{"name": "web-1", "phase": "Running", "containers": ["app", "sidecar"]}],
                        "truncated": False}
    _no_token(r)
    assert all(h["authorization"] == f"Bearer {ADMIN}" for h in cluster.seen_headers)
    assert ADMIN not in str([row.changes for row in await OperationLog.all()])


async def test_a_limited_account_sees_only_the_namespaces_it_may_use(admin_client, services, make_client,
                                                                     cluster) -> None:
    client, base = await _setup(admin_client, services, make_client, cluster, token=LIMITED,
                                namespaces="team-a, team-b")
    r = await client.get(f"{base}/namespaces", params={"account": "sa"})
    assert r.status_code == 200, r.text
    assert r.json() == {"items": [{"name": "team-a"}], "truncated": False, "complete": False}
    r = await client.get(f"{base}/namespaces/team-b/pods", params={"account": "sa"})
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["code"] == "k8s_forbidden"
    assert "may not list pods in namespace 'team-b'" in error["message"] and "Ask your admin" in error["message"]
    _no_token(r)


async def test_a_limited_account_without_named_namespaces_is_told_what_to_do(admin_client, services, make_client,
                                                                             cluster) -> None:
    client, base = await _setup(admin_client, services, make_client, cluster, token=LIMITED)
    r = await client.get(f"{base}/namespaces", params={"account": "sa"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "k8s_forbidden"
    assert "name the namespaces" in r.json()["error"]["message"]


async def test_a_wrong_token_is_a_clear_gateway_error(admin_client, services, make_client, cluster) -> None:
    client, base = await _setup(admin_client, services, make_client, cluster, token="revoked-token-xyz")  # noqa: S106
    r = await client.get(f"{base}/namespaces", params={"account": "sa"})
    assert r.status_code == 502 and r.json()["error"]["code"] == "target_auth_failed"
    assert "revoked-token-xyz" not in r.text


@pytest.mark.parametrize("protocols,actions,status", [
    (("ssh",), ("connect",), 403),  # permitted, but not over k8s
    (("k8s",), ("upload",), 403),  # permitted, but not to connect
])
async def test_permission_must_allow_k8s_and_connect(admin_client, services, make_client, cluster, protocols,
                                                     actions, status) -> None:
    client, base = await _setup(admin_client, services, make_client, cluster, protocols=protocols, actions=actions)
    r = await client.get(f"{base}/namespaces", params={"account": "sa"})
    assert r.status_code == status, r.text
    assert cluster.seen_paths == []  # refused before the cluster was asked anything


async def test_unpermitted_and_other_orgs_assets_are_404(admin_client, services, make_client, cluster) -> None:
    client, base = await _setup(admin_client, services, make_client, cluster)
    _, stranger = await person(services, make_client, "sam")
    r = await stranger.get(f"{base}/namespaces", params={"account": "sa"})
    assert r.status_code == 404
    other = await make_org("other")
    foreign = await Asset.create(org=other, name="c2", address=cluster.url, platform="kubernetes",
                                 protocols=[{"name": "k8s", "port": cluster.port}])
    for path in ("namespaces", "namespaces/team-a/pods"):
        r = await client.get(f"/api/v1/my/assets/{foreign.id}/k8s/{path}", params={"account": "sa"})
        assert r.status_code == 404
    r = await client.get("/api/v1/my/assets/not-a-uuid/k8s/namespaces", params={"account": "sa"})
    assert r.status_code == 404
    assert cluster.seen_paths == []


async def test_bad_input_names_the_field(admin_client, services, make_client, cluster) -> None:
    client, base = await _setup(admin_client, services, make_client, cluster)
    r = await client.get(f"{base}/namespaces")
    assert r.status_code == 422 and "account" in r.json()["error"]["details"]["fields"]
    r = await client.get(f"{base}/namespaces", params={"account": "@INPUT"})
    assert r.status_code == 422 and "account" in r.json()["error"]["details"]["fields"]
    r = await client.get(f"{base}/namespaces/Bad_NS/pods", params={"account": "sa"})
    assert r.status_code == 422 and "namespace" in r.json()["error"]["details"]["fields"]
    r = await client.get(f"{base}/namespaces", params={"account": "nobody"})
    assert r.status_code == 403
    assert cluster.seen_paths == []


async def test_logged_out_is_401(client, cluster) -> None:
    r = await client.get("/api/v1/my/assets/00000000-0000-0000-0000-000000000000/k8s/namespaces")
    assert r.status_code == 401


async def test_listing_a_cluster_on_a_forbidden_address_is_refused(app, admin_client, services, make_client, cluster):
    """Without the allow-list the namespace listing never dials loopback (SSRF policy)."""
    services.settings = services.settings.with_(allow_targets=())
    client, prefix = await _setup(admin_client, services, make_client, cluster)
    r = await client.get(f"{prefix}/namespaces", params={"account": "sa"})
    assert r.status_code >= 400 and "loopback" in r.text.lower()
