"""K8S: what a browser can make the gateway do to a cluster, against the real kube-apiserver.

The account's own RBAC is the boundary (a limited account reaches only team-a); names
the browser sends are checked as Kubernetes names before any request (no ``../``,
``?``, ``&command=``, ``#``, encoded or trailing-newline tricks reach the API server);
the command run is the gateway's shell, never one the browser names; and the cluster
token appears in no answer, frame or log line, refusals included (CVE-2025-27095).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest

from tests.api._assets_helpers import account, asset, permission, person
from tests.integration.k8s_peer import ExecPeer, RealCluster
from tests.integration.terminal_client import Term, browser_cookie
from tests.integration.test_kubernetes import k8s, kubelet  # noqa: F401 - fixtures (real cluster, kubelet)
from webgate.db.models import Session
from webgate.protocols.kubernetes import SHELL
from webgate.services import Services
from webgate.settings import Settings

pytestmark = pytest.mark.slow

HOSTILE_NAMES = ["../kube-system", "team-a/../team-b", "team-a?watch=1", "team-a&command=id", "team-a#x",
                 "..", "%2e%2e", "team-a%2F..%2Fteam-b", "team-a\n", "Team-A", "team-a;id", " team-a", ""]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test cluster listens on loopback, which the target address policy refuses by default."""
    return settings.with_(allow_targets=("127.0.0.0/8",))


@pytest.fixture
async def kate(admin_client: httpx.AsyncClient, services: Services, make_client: Any, gateway: str,
               k8s: RealCluster) -> dict[str, Any]:  # noqa: F811 - fixture
    cluster = await asset(admin_client, "cluster-1", address=k8s.url, platform="kubernetes",
                          protocols=[{"name": "k8s", "port": int(k8s.url.rsplit(":", 1)[1])}],
                          extra={"ca_cert": k8s.ca_pem, "namespaces": "team-a team-b"})
    for name, token in (("admin", k8s.admin_token), ("limited", k8s.limited_token)):
        await account(admin_client, cluster, name, username=name, secret_type="token", secret=token)  # noqa: S106
    user, client = await person(services, make_client, "kate")
    await permission(admin_client, "k8s", user_ids=[str(user.id)], asset_ids=[cluster["id"]],
                     accounts=["admin", "limited"], protocols=["k8s"], actions=["connect"])
    return {"asset": cluster, "api": client, "cookie": await browser_cookie(gateway, "kate"),
            "seen": []}  # every answer and frame the browser got, searched for the tokens at the end


def _query(asset_id: str, account_name: str, namespace: str, pod: str, container: str = "", **extra: str) -> str:
    params = {"asset": asset_id, "protocol": "k8s", "account": account_name, "namespace": namespace, "pod": pod,
              **({"container": container} if container else {}), **extra}
    return urlencode(params, quote_via=quote)


async def _terminal(gateway: str, kate: dict[str, Any], query: str) -> Term:
    term = await Term.connect(gateway, kate["cookie"], query)
    await term.wait_for(lambda t: t.control("status", state="open") is not None or t.control("error") is not None)
    kate["seen"].append(json.dumps(term.controls))
    return term


def _no_token_anywhere(kate: dict[str, Any], k8s: RealCluster, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    for token in (k8s.admin_token, k8s.limited_token):
        assert not [s for s in kate["seen"] if token in s], "a cluster token reached the browser"
        assert token not in caplog.text, "a cluster token reached the log"


async def test_hostile_names_are_refused_before_any_request(gateway: str, k8s: RealCluster,  # noqa: F811
                                                            kubelet: ExecPeer, kate: dict[str, Any],  # noqa: F811
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    asset_id = kate["asset"]["id"]
    base = f"/api/v1/my/assets/{asset_id}/k8s"
    for bad in HOSTILE_NAMES:
        for field, query in (("namespace", _query(asset_id, "admin", bad, "web-1")),
                             ("pod", _query(asset_id, "admin", "team-a", bad)),
                             ("container", _query(asset_id, "admin", "team-a", "web-1", bad or "-"))):
            term = await _terminal(gateway, kate, query)
            err = term.control("error")
            assert err is not None and err["code"] == "validation_error", (field, bad, term.controls)
            assert field in err["details"]["fields"] or "namespace" in err["details"]["fields"], (field, bad, err)
            await term.close()
        if bad and "/" not in bad:  # a "/" would change the route itself (404 before any handler)
            r = await kate["api"].get(f"{base}/namespaces/{quote(bad, safe='')}/pods", params={"account": "admin"})
            kate["seen"].append(r.text)
            assert r.status_code in (404, 422), (bad, r.status_code, r.text)
    assert await Session.all().count() == 0  # refused before a session row, let alone a request
    assert not [p for p in kubelet.seen_paths if p.startswith("/exec/")]
    _no_token_anywhere(kate, k8s, caplog)


async def test_the_browser_cannot_choose_the_command(gateway: str, k8s: RealCluster,  # noqa: F811
                                                     kubelet: ExecPeer, kate: dict[str, Any],  # noqa: F811
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    query = _query(kate["asset"]["id"], "admin", "team-a", "web-1", "app", command="id", stdin="false",
                   tty="false") + "&command=rm&command=-rf"
    term = await _terminal(gateway, kate, query)
    assert term.control("error") is None, term.controls
    await term.run("echo shell-$((40+2))", "shell-42")
    await term.send(b"exit\n")
    await term.until_control("exit")
    exec_paths = [p for p in kubelet.seen_paths if p.startswith("/exec/")]
    assert len(exec_paths) == 1
    args = [part.split("=", 1)[1] for part in exec_paths[0].split("?", 1)[1].split("&") if part.startswith("cmd=")
            or part.startswith("command=")]
    assert [a for a in args if a in ("id", "rm", "-rf")] == [], exec_paths[0]
    assert len(args) == len(SHELL), (args, SHELL)
    _no_token_anywhere(kate, k8s, caplog)


async def test_an_account_reaches_only_what_its_rbac_allows(gateway: str, k8s: RealCluster,  # noqa: F811
                                                            kubelet: ExecPeer, kate: dict[str, Any],  # noqa: F811
                                                            services: Services, make_client: Any,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    asset_id = kate["asset"]["id"]
    term = await _terminal(gateway, kate, _query(asset_id, "limited", "team-b", "db-0", "db"))
    err = term.control("error")
    assert err is not None and err["code"] == "k8s_forbidden" and "team-b" in err["message"], term.controls
    row = await Session.get()
    assert row.status == "ended" and row.end_reason == "k8s_forbidden"
    base = f"/api/v1/my/assets/{asset_id}/k8s"
    r = await kate["api"].get(f"{base}/namespaces", params={"account": "limited"})
    kate["seen"].append(r.text)
    assert [n["name"] for n in r.json()["items"]] == ["team-a"]
    r = await kate["api"].get(f"{base}/namespaces/team-b/pods", params={"account": "limited"})
    kate["seen"].append(r.text)
    assert r.status_code == 403
    # Someone without the permission learns nothing, not even that the cluster exists.
    _, stranger = await person(services, make_client, "stranger")
    r = await stranger.get(f"{base}/namespaces", params={"account": "admin"})
    kate["seen"].append(r.text)
    assert r.status_code == 404
    assert not [p for p in kubelet.seen_paths if "team-b" in p]
    _no_token_anywhere(kate, k8s, caplog)
