"""The Kubernetes connector against a protocol-faithful exec endpoint serving a real pty.

Fast contract tests (in-process ``websockets`` server): subprotocol v5 with v4 fallback,
stdin/stdout, resize, exit codes from the status channel, the bash → sh fallback, TLS
trust, and every refusal as a clear message that never contains the token.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.k8s_peer import ExecPeer, drain, echo_resize_exit, make_pki, read_until
from webgate.errors import Forbidden, NotFound
from webgate.protocols import k8s_frames as kf
from webgate.protocols.k8s_config import Cluster
from webgate.protocols.kubernetes import KubeClient, exec_in, open_channel
from webgate.terminal.channel import ConnectFailed, Target

ADMIN = "admin-token-0123456789"  # noqa: S105 - test tokens
LIMITED = "limited-token-abcdef"  # noqa: S105
PODS = {"team-a": {"web-1": ["app", "sidecar"]}, "team-b": {"db-0": ["db"]}}


def _peer(**kw: object) -> ExecPeer:
    return ExecPeer(tokens={ADMIN: None, LIMITED: {"team-a"}}, pods=PODS, **kw)  # type: ignore[arg-type]


@pytest.fixture
async def peer() -> AsyncIterator[ExecPeer]:
    p = await _peer().start()
    yield p
    await p.stop()


def _target(peer: ExecPeer, token: str = ADMIN, **options: object) -> Target:
    opts: dict[str, object] = {"namespace": "team-a", "pod": "web-1", "container": "app", "secret_type": "token"}
    opts.update(options)
    return Target(host=peer.url, port=peer.port, username="sa", password=token, cols=80, rows=24,
                  asset_name="k8s-test", options=opts)




async def test_exec_v5_echo_resize_and_exit_code(peer: ExecPeer) -> None:
    chan = await open_channel(_target(peer))
    assert chan.subprotocol == kf.V5 and chan.host_key is None
    await echo_resize_exit(chan, 100, 30, 7)
    assert chan.exit_info is not None and chan.exit_info.reason == "NonZeroExitCode"
    await chan.close()
    await chan.close()  # idempotent
    assert peer.resizes[0] == (80, 24) and (100, 30) in peer.resizes
    # The token travels only in the Authorization header, never in the URL.
    assert all(ADMIN not in p for p in peer.seen_paths)
    assert peer.seen_headers[-1]["authorization"] == f"Bearer {ADMIN}"
    assert "v5.channel.k8s.io" in peer.seen_headers[-1]["sec-websocket-protocol"]
    assert "container=app" in peer.seen_paths[-1] and "tty=true" in peer.seen_paths[-1]


async def test_exit_zero_is_success(peer: ExecPeer) -> None:
    chan = await open_channel(_target(peer))
    await chan.write(b"exit\n")
    await drain(chan)
    assert chan.exit_status == 0


async def test_falls_back_to_v4_when_the_server_has_no_v5() -> None:
    peer = await _peer(versions=(kf.V4,)).start()
    try:
        chan = await open_channel(_target(peer))
        assert chan.subprotocol == kf.V4
        await chan.write(b"echo v4-ok\nexit 3\n")
        await read_until(chan, "v4-ok")
        await drain(chan)
        assert chan.exit_status == 3
        await chan.close()
        assert peer.stdin_closed == 0  # no v5 close frame on a v4 stream
    finally:
        await peer.stop()


async def test_v5_close_sends_the_close_stdin_frame(peer: ExecPeer) -> None:
    chan = await open_channel(_target(peer))
    await chan.write(b"echo ready\n")
    await read_until(chan, "ready")
    await chan.close()
    for _ in range(50):
        if peer.stdin_closed:
            break
        await asyncio.sleep(0.02)
    assert peer.stdin_closed == 1
    assert await chan.read() == b""
    await chan.write(b"ignored after close\n")


async def test_a_server_speaking_neither_v4_nor_v5_is_refused() -> None:
    peer = await _peer(versions=("channel.k8s.io",)).start()
    try:
        with pytest.raises(ConnectFailed) as info:
            await open_channel(_target(peer))
        assert info.value.code == "target_refused" and "v4" in info.value.message
    finally:
        await peer.stop()


async def test_shell_is_bash_when_present(peer: ExecPeer) -> None:
    chan = await open_channel(_target(peer))
    await chan.write(b"echo shell=${BASH_VERSION:+bash}\n")
    await read_until(chan, "shell=bash")
    await chan.close()


async def test_shell_falls_back_to_sh_without_bash(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "stty"):
        os.symlink(f"/bin/{tool}", bin_dir / tool)
    peer = await _peer(path=str(bin_dir)).start()
    try:
        chan = await open_channel(_target(peer))
        await chan.write(b"echo shell=${BASH_VERSION:-sh} term=$TERM\n")
        await read_until(chan, "shell=sh term=xterm-256color")
        await chan.close()
    finally:
        await peer.stop()


async def test_a_failure_status_without_exit_code_is_shown(peer: ExecPeer) -> None:
    cluster = Cluster(url=peer.url, token=ADMIN)
    chan = await exec_in(cluster, "team-a", "web-1", command=["/no/such/shell"])
    out = await drain(chan)
    assert b"[kubernetes] exec:" in out and b"not found" in out
    assert chan.exit_status is None and chan.exit_info is not None and chan.exit_info.reason == "InternalError"


async def test_wrong_token_forbidden_namespace_and_missing_pod_say_so(peer: ExecPeer) -> None:
    wrong = "wrong-token-should-never-show"  # noqa: S105
    with pytest.raises(ConnectFailed) as info:
        await open_channel(_target(peer, wrong))
    assert info.value.code == "target_auth_failed" and "token" in info.value.message
    assert wrong not in info.value.message
    with pytest.raises(ConnectFailed) as info:
        await open_channel(_target(peer, LIMITED, namespace="team-b", pod="db-0", container="db"))
    assert info.value.code == "k8s_forbidden" and "team-b" in info.value.message
    assert LIMITED not in info.value.message
    with pytest.raises(ConnectFailed) as info:
        await open_channel(_target(peer, namespace="team-a", pod="nope"))
    assert info.value.code == "k8s_not_found" and "nope" in info.value.message


@pytest.mark.parametrize("options,field", [
    ({"namespace": ""}, "namespace"), ({"pod": ""}, "pod"), ({"namespace": "../../etc"}, "namespace"),
    ({"pod": "a/b?x=1"}, "pod"), ({"container": "A B"}, "container")])
async def test_bad_names_are_refused_before_dialling(peer: ExecPeer, options: dict[str, str], field: str) -> None:
    from webgate.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        await open_channel(_target(peer, **options))
    assert field in info.value.details["fields"]
    assert peer.seen_paths == []


async def test_unreachable_cluster() -> None:
    peer = await _peer().start()
    await peer.stop()
    with pytest.raises(ConnectFailed) as info:
        await open_channel(_target(peer))
    assert info.value.code == "target_unreachable"


async def test_tls_needs_the_cluster_ca_unless_verification_is_off(tmp_path: Path) -> None:
    pki = make_pki(str(tmp_path))
    peer = await _peer(ssl_context=pki.server_context()).start()
    try:
        assert peer.url.startswith("https://")
        with pytest.raises(ConnectFailed) as info:
            await open_channel(_target(peer))
        assert info.value.code == "tls_untrusted" and "CA certificate" in info.value.message
        for options in ({"ca_cert": pki.ca_pem}, {"verify_tls": False}):
            chan = await open_channel(_target(peer, **options))
            await chan.write(b"echo tls-ok\n")
            await read_until(chan, "tls-ok")
            await chan.close()
    finally:
        await peer.stop()


async def test_listing_shows_only_what_the_account_may_list(peer: ExecPeer) -> None:
    async with KubeClient(Cluster(url=peer.url, token=ADMIN)) as kube:
        assert await kube.namespaces() == (["team-a", "team-b"], False)
        pods, truncated = await kube.pods("team-a")
        assert pods == [{"name": "web-1", "phase": "Running", "containers": ["app", "sidecar"]}] and not truncated
    async with KubeClient(Cluster(url=peer.url, token=LIMITED)) as kube:
        with pytest.raises(Forbidden) as info:
            await kube.namespaces()
        assert info.value.code == "k8s_forbidden" and "list namespaces" in info.value.message
        assert (await kube.pods("team-a"))[0][0]["name"] == "web-1"
        with pytest.raises(Forbidden) as info:
            await kube.pods("team-b")
        assert "team-b" in info.value.message and LIMITED not in info.value.message
    async with KubeClient(Cluster(url=peer.url, token=ADMIN)) as kube:
        with pytest.raises(NotFound):
            await kube.pods("team-z")


async def test_the_token_never_reaches_a_log_even_at_debug_level(peer: ExecPeer, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    chan = await open_channel(_target(peer))
    await chan.write(b"echo logged\n")
    await read_until(chan, "logged")
    await chan.close()
    async with KubeClient(Cluster(url=peer.url, token=ADMIN)) as kube:
        await kube.pods("team-a")
    with pytest.raises(ConnectFailed):
        await open_channel(_target(peer, namespace="team-a", pod="nope"))
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets.server")]  # the cluster's side
    assert ours and not [m for m in ours if ADMIN in m]


def test_target_options_carry_the_pod_choice_and_the_assets_tls_settings() -> None:
    from webgate.protocols.kubernetes import pod_options, target_options

    choice = pod_options("team-a", "web-1")
    assert choice == {"namespace": "team-a", "pod": "web-1", "container": ""}
    opts = target_options({"ca_cert": "PEM", "verify_tls": False, "namespaces": "a b"}, "kubeconfig", choice)
    assert opts == {**choice, "secret_type": "kubeconfig", "ca_cert": "PEM", "verify_tls": False}
    assert target_options({}, "token", choice) == {**choice, "secret_type": "token"}


async def _hostile(handler: Any) -> tuple[Any, str]:
    from websockets.asyncio.server import serve

    server = await serve(handler, "127.0.0.1", 0, select_subprotocol=lambda conn, offered: kf.V4,
                         max_size=None, compression=None)
    return server, f"http://127.0.0.1:{next(iter(server.sockets)).getsockname()[1]}"


async def test_garbage_frames_from_a_hostile_cluster_are_skipped() -> None:
    async def handler(ws: Any) -> None:
        for junk in (b"", bytes([7]) + b"junk", "a text frame", kf.encode(kf.STDOUT), kf.encode(kf.STATUS, b"{not json")):
            await ws.send(junk)
        await ws.send(kf.encode(kf.STDERR, b"still-ok"))
        await ws.send(kf.encode(kf.STATUS, kf.status_payload(5)))
        await ws.close()

    server, url = await _hostile(handler)
    try:
        chan = await exec_in(Cluster(url=url, token=ADMIN), "ns", "pod")
        out = await drain(chan)
        assert b"still-ok" in out and chan.exit_status == 5
    finally:
        server.close()


async def test_an_oversized_frame_ends_the_stream_instead_of_filling_memory() -> None:
    async def handler(ws: Any) -> None:
        await ws.send(kf.encode(kf.STDOUT, b"before"))
        await ws.send(b"\x01" + b"x" * (2 * kf.MAX_PAYLOAD))
        await asyncio.sleep(5)

    server, url = await _hostile(handler)
    try:
        chan = await exec_in(Cluster(url=url, token=ADMIN), "ns", "pod")
        assert await drain(chan) == b"before"
        assert chan.exit_status is None
        await chan.close()
    finally:
        server.close()


async def test_every_connection_goes_to_the_checked_address_not_a_new_dns_answer(peer: ExecPeer) -> None:
    """The policy checked an IP for the cluster's name; exec and listing dial that IP, so a DNS
    answer that changes after the check (rebinding to loopback/metadata) is never followed.
    Here the name does not resolve at all: only the pinned IP can reach the cluster."""
    renamed = peer.url.replace("127.0.0.1", "cluster.invalid")
    assert "cluster.invalid" in renamed
    with pytest.raises(ConnectFailed):  # unpinned, the name leads nowhere
        await open_channel(Target(host=renamed, port=peer.port, username="sa", password=ADMIN, cols=80, rows=24,
                                  asset_name="k8s-test", options={"namespace": "team-a", "pod": "web-1",
                                                                  "container": "app", "secret_type": "token"}))
    pinned = Target(host=renamed, port=peer.port, username="sa", password=ADMIN, cols=80, rows=24,
                    asset_name="k8s-test", options={"namespace": "team-a", "pod": "web-1", "container": "app",
                                                    "secret_type": "token", "dial_address": "127.0.0.1"})
    chan = await open_channel(pinned)
    await chan.write(b"echo pinned-ok\n")
    await read_until(chan, "pinned-ok")
    await chan.close()
    assert peer.seen_headers[-1]["host"].startswith("cluster.invalid")  # the name still travels as Host
    async with KubeClient(Cluster(url=renamed, token=ADMIN, dial_address="127.0.0.1")) as kube:
        assert (await kube.namespaces())[0] == ["team-a", "team-b"]
