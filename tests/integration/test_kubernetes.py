"""Kubernetes against the REAL kube-apiserver 1.20.2 (token auth, RBAC) with etcd.

Exec is proxied by the API server to the node's kubelet; the tests provide that kubelet
(``ExecPeer`` in kubelet mode: TLS, the exec protocol, a real pty). The binary is built
once per machine by scripts/k8s-apiserver.sh; without it these tests skip locally and
fail in CI.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.api._assets_helpers import account, asset, permission, person
from tests.conftest import peer_missing
from tests.helpers import make_user
from tests.integration.k8s_peer import (
    ETCD,
    ExecPeer,
    RealCluster,
    apiserver_binary,
    drain,
    echo_resize_exit,
    read_until,
    real_cluster,
)
from tests.integration.terminal_client import Term, browser_cookie
from webgate.db.crypto import context_for
from webgate.db.models import Account, Asset, AssetPermission, OperationLog, Organization, Session
from webgate.errors import Forbidden, NotFound
from webgate.protocols import k8s_frames as kf
from webgate.protocols.k8s_config import Cluster
from webgate.protocols.kubernetes import KubeClient, exec_in
from webgate.services import Services
from webgate.terminal.channel import ConnectFailed

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def k8s(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    binary = apiserver_binary()
    if binary is None or not os.access(ETCD, os.X_OK):
        peer_missing("kube-apiserver 1.20.2 and etcd (run scripts/k8s-apiserver.sh)")
    work = tmp_path_factory.mktemp("k8s")
    with real_cluster(str(work), binary) as cluster:  # type: ignore[arg-type]
        yield cluster


@pytest.fixture
async def kubelet(k8s: RealCluster) -> AsyncIterator[ExecPeer]:
    # The API server only splices bytes: the subprotocol is the kubelet's choice, and a 1.20 kubelet has no v5.
    peer = await ExecPeer(mode="kubelet", versions=(kf.V4,), ssl_context=k8s.kubelet_pki.server_context(),
                          port=k8s.kubelet_port).start()
    yield peer
    await peer.stop()


def _cluster(k8s: RealCluster, token: str | None = None, **kw: Any) -> Cluster:
    return Cluster(url=k8s.url, token=token or k8s.admin_token, ca_pem=kw.pop("ca_pem", k8s.ca_pem), **kw)




# -- the connector against the real API server ------------------------------------------------

async def test_exec_through_the_real_apiserver_falls_back_to_v4(k8s: RealCluster, kubelet: ExecPeer) -> None:
    chan = await exec_in(_cluster(k8s), "team-a", "web-1", "app", cols=80, rows=24)
    assert chan.subprotocol == kf.V4  # 1.20 predates v5: the fallback is what makes this work
    assert "v5.channel.k8s.io" in kubelet.seen_headers[-1]["sec-websocket-protocol"]  # offered first
    await echo_resize_exit(chan, 120, 40, 7)
    await chan.close()
    exec_paths = [p for p in kubelet.seen_paths if p.startswith("/exec/")]
    assert exec_paths and exec_paths[-1].startswith("/exec/team-a/web-1/app?")
    # The API server authenticated the request and did not pass the token on to the node.
    assert all(k8s.admin_token not in json.dumps(h) for h in kubelet.seen_headers)


async def test_the_limited_account_may_exec_only_in_its_namespace(k8s: RealCluster, kubelet: ExecPeer) -> None:
    chan = await exec_in(_cluster(k8s, k8s.limited_token), "team-a", "web-1", "sidecar")
    await chan.write(b"echo ok-limited; exit\n")
    await read_until(chan, "ok-limited")
    await drain(chan)
    assert chan.exit_status == 0
    with pytest.raises(ConnectFailed) as info:
        await exec_in(_cluster(k8s, k8s.limited_token), "team-b", "db-0", "db")
    assert info.value.code == "k8s_forbidden" and "team-b" in info.value.message
    assert k8s.limited_token not in info.value.message


async def test_real_refusals_are_clear(k8s: RealCluster, kubelet: ExecPeer) -> None:
    with pytest.raises(ConnectFailed) as info:
        await exec_in(_cluster(k8s, "not-a-real-token"), "team-a", "web-1", "app")
    assert info.value.code == "target_auth_failed" and "not-a-real-token" not in info.value.message
    with pytest.raises(ConnectFailed) as info:
        await exec_in(_cluster(k8s), "team-a", "web-9", "app")
    assert info.value.code == "k8s_not_found" and "web-9" in info.value.message
    with pytest.raises(ConnectFailed) as info:
        await exec_in(_cluster(k8s), "team-a", "web-1", "nosuch")
    assert info.value.code == "target_refused" and "nosuch" in info.value.message
    with pytest.raises(ConnectFailed) as info:
        await exec_in(_cluster(k8s, ca_pem=None), "team-a", "web-1", "app")
    assert info.value.code == "tls_untrusted"


async def test_listing_follows_the_clusters_rbac(k8s: RealCluster) -> None:
    async with KubeClient(_cluster(k8s)) as kube:
        names, truncated = await kube.namespaces()
        assert {"default", "kube-system", "team-a", "team-b"} <= set(names) and not truncated
        pods, _ = await kube.pods("team-a")
        assert pods == [{"name": "web-1", "phase": "Running", "containers": ["app", "sidecar"]}]
    async with KubeClient(_cluster(k8s, k8s.limited_token)) as kube:
        with pytest.raises(Forbidden) as info:
            await kube.namespaces()
        assert "list namespaces" in info.value.message and "limited" in info.value.message
        assert [p["name"] for p in (await kube.pods("team-a"))[0]] == ["web-1"]
        with pytest.raises(Forbidden):
            await kube.pods("team-b")
    async with KubeClient(_cluster(k8s)) as kube:
        assert (await kube.pods("team-z"))[0] == []  # listing an absent namespace is an empty list in k8s
        with pytest.raises(NotFound):
            await kube._get("/api/v1/namespaces/team-z", {}, "read namespace 'team-z'")


# -- through webgate: the API and the browser's terminal WebSocket ---------------------------------

async def _k8s_asset(admin_client: httpx.AsyncClient, k8s: RealCluster) -> dict[str, Any]:
    return await asset(admin_client, "cluster-1", address=k8s.url, platform="kubernetes",
                       protocols=[{"name": "k8s", "port": int(k8s.url.rsplit(":", 1)[1])}],
                       extra={"ca_cert": k8s.ca_pem, "namespaces": "team-a team-b"})


async def test_webgate_api_lists_what_each_account_may_see(admin_client, services, make_client, k8s,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cluster = await _k8s_asset(admin_client, k8s)
    await account(admin_client, cluster, "admin", username="admin", secret_type="token", secret=k8s.admin_token)  # noqa: S106
    await account(admin_client, cluster, "limited", username="limited", secret_type="kubeconfig",  # noqa: S106
                  secret=f"current-context: c\ncontexts: [{{name: c, context: {{cluster: k, user: u}}}}]\n"
                         f"users: [{{name: u, user: {{token: {k8s.limited_token}}}}}]\n")
    user, client = await person(services, make_client, "kate")
    await permission(admin_client, "k8s", user_ids=[str(user.id)], asset_ids=[cluster["id"]],
                     accounts=["admin", "limited"], protocols=["k8s"], actions=["connect"])
    base = f"/api/v1/my/assets/{cluster['id']}/k8s"
    answers = []
    r = await client.get(f"{base}/namespaces", params={"account": "admin"})
    answers.append(r)
    assert r.status_code == 200 and r.json()["complete"] is True
    assert {"team-a", "team-b", "default"} <= {n["name"] for n in r.json()["items"]}
    r = await client.get(f"{base}/namespaces/team-b/pods", params={"account": "admin"})
    answers.append(r)
    assert r.json()["items"] == [{"name": "db-0", "phase": "Running", "containers": ["db"]}]
    r = await client.get(f"{base}/namespaces", params={"account": "limited"})
    answers.append(r)
    assert r.status_code == 200 and r.json() == {"items": [{"name": "team-a"}], "truncated": False, "complete": False}
    r = await client.get(f"{base}/namespaces/team-b/pods", params={"account": "limited"})
    answers.append(r)
    assert r.status_code == 403 and r.json()["error"]["code"] == "k8s_forbidden"
    message = r.json()["error"]["message"]
    assert "may not list pods in namespace 'team-b'" in message and "Ask your admin" in message
    for r in answers:
        assert k8s.admin_token not in r.text and k8s.limited_token not in r.text
    assert k8s.admin_token not in caplog.text and k8s.limited_token not in caplog.text


async def test_terminal_through_the_gateway(services: Services, gateway: str, k8s: RealCluster, kubelet: ExecPeer,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="webgate")
    org = await Organization.get(is_default=True)
    cluster = await Asset.create(org=org, name="cluster-1", address=k8s.url, platform="kubernetes",
                                 protocols=[{"name": "k8s", "port": int(k8s.url.rsplit(":", 1)[1])}],
                                 extra={"ca_cert": k8s.ca_pem})
    acc = await Account.create(org=org, asset=cluster, name="sa", username="admin", secret_type="token")  # noqa: S106
    acc.secret_enc = services.box.encrypt(k8s.admin_token, context_for("accounts", "secret", acc.id))
    await acc.save()
    user = await make_user(services, "kate")
    perm = await AssetPermission.create(org=org, name="k8s", accounts=["sa"], protocols=["k8s"], actions=["connect"])
    await perm.users.add(user)
    await perm.assets.add(cluster)
    cookie = await browser_cookie(gateway, "kate")
    term = await Term.connect(gateway, cookie, f"asset={cluster.id}&protocol=k8s&account=sa"
                                               "&namespace=team-a&pod=web-1&container=app")
    await term.wait_for(lambda t: t.control("status", state="open") is not None or t.control("error") is not None)
    error = term.control("error")
    assert error is None, error
    await term.run("echo hel''lo", "hello")
    await term.send({"type": "resize", "cols": 100, "rows": 30})
    term.screen.resize(30, 100)
    await term.run("stty size", "30 100")
    await term.send(b"exit 7\n")
    exit_frame = await term.until_control("exit")
    assert exit_frame["reason"] == "target_exited" and exit_frame["code"] == 7
    rows = await Session.all()
    assert len(rows) == 1 and rows[0].protocol == "k8s" and rows[0].end_reason == "target_exited"
    recording = gzip.decompress(await services.storage.get_bytes(rows[0].recording_key)).decode()
    assert "30 100" in recording
    seen = [bytes(term.raw).decode(errors="replace"), json.dumps(term.controls), recording,
            json.dumps([r.changes for r in await OperationLog.all()]), caplog.text]
    assert not [s for s in seen if k8s.admin_token in s]
