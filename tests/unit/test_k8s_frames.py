"""Kubernetes exec frames: round trips, exit codes from Status, and hostile input bounded."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webgate.protocols import k8s_frames as kf
from webgate.protocols.k8s_config import BadAccount, api_url, cluster_for, parse_kubeconfig

channels = st.sampled_from(sorted(kf.CHANNELS))


@settings(deadline=None)  # CI machines are busy; correctness, not speed, is tested here
@given(channels, st.binary(max_size=4096))
def test_encode_decode_round_trip(channel: int, payload: bytes) -> None:
    frame = kf.decode(kf.encode(channel, payload))
    assert (frame.channel, frame.payload) == (channel, payload)


@settings(deadline=None)
@given(st.binary(max_size=300_000))
def test_stdin_frames_rejoin_to_the_input_and_stay_small(data: bytes) -> None:
    frames = kf.stdin_frames(data)
    assert all(f[0] == kf.STDIN and len(f) <= kf.STDIN_CHUNK + 1 for f in frames)
    assert b"".join(f[1:] for f in frames) == data


@settings(deadline=None)
@given(st.binary(max_size=512))
def test_decode_never_raises_anything_but_frame_error(message: bytes) -> None:
    try:
        frame = kf.decode(message)
    except kf.FrameError:
        assert not message or message[0] not in kf.CHANNELS
    else:
        assert frame.channel == message[0]


@settings(deadline=None)
@given(st.binary(max_size=512) | st.text(max_size=200).map(str.encode) |
       st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20).map(lambda v: json.dumps(v).encode()))
def test_parse_status_never_raises_anything_but_frame_error(payload: bytes) -> None:
    try:
        info = kf.parse_status(payload)
    except kf.FrameError:
        return
    assert info.code is None or 0 <= info.code
    assert len(info.message) <= kf.MAX_MESSAGE


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=255))
def test_exit_codes_round_trip_through_status(code: int) -> None:
    assert kf.parse_status(kf.status_payload(code)).code == code


def test_status_failure_without_exit_code_keeps_the_reason() -> None:
    info = kf.parse_status(json.dumps({"status": "Failure", "reason": "InternalError",
                                       "message": "exec: \"bash\": executable file\nnot found"}).encode())
    assert info.code is None and info.reason == "InternalError"
    assert info.message == 'exec: "bash": executable file not found'


def test_oversized_and_malformed_frames_are_refused() -> None:
    with pytest.raises(kf.FrameError):
        kf.decode(b"")
    with pytest.raises(kf.FrameError):
        kf.decode(bytes([7]) + b"x")
    with pytest.raises(kf.FrameError):
        kf.decode(b"\x01" + b"x" * (kf.MAX_PAYLOAD + 1))
    with pytest.raises(kf.FrameError):
        kf.encode(kf.STDOUT, b"x" * (kf.MAX_PAYLOAD + 1))
    with pytest.raises(kf.FrameError):
        kf.parse_status(b"{" * 100_000)
    with pytest.raises(kf.FrameError):
        kf.parse_status(b"[" * 5000 + b"]" * 5000)
    with pytest.raises(kf.FrameError):
        kf.parse_status(json.dumps({"status": "Failure", "pad": "x" * kf.MAX_STATUS}).encode())


@settings(deadline=None)
@given(st.integers(min_value=1, max_value=kf.MAX_SIZE), st.integers(min_value=1, max_value=kf.MAX_SIZE))
def test_resize_round_trip(cols: int, rows: int) -> None:
    frame = kf.decode(kf.resize_frame(cols, rows))
    assert frame.channel == kf.RESIZE
    assert json.loads(frame.payload) == {"Width": cols, "Height": rows}
    assert kf.parse_resize(frame.payload) == (cols, rows)


@pytest.mark.parametrize("cols,rows", [(0, 24), (80, 0), (kf.MAX_SIZE + 1, 24), (-1, -1)])
def test_resize_out_of_range_is_refused(cols: int, rows: int) -> None:
    with pytest.raises(kf.FrameError):
        kf.resize_frame(cols, rows)


def test_close_stdin_is_the_v5_close_frame() -> None:
    assert kf.close_stdin_frame() == b"\xff\x00"
    assert kf.SUBPROTOCOLS == ("v5.channel.k8s.io", "v4.channel.k8s.io")


# -- cluster settings: address, kubeconfig, token hygiene ------------------------------------

KUBECONFIG = """
apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: c1
  cluster: {server: "https://evil.example:443", certificate-authority-data: "LS0tLS1CRUdJTg=="}
contexts:
- name: other
  context: {cluster: c1, user: u2}
- name: prod
  context: {cluster: c1, user: u1, namespace: team-a}
users:
- name: u1
  user: {token: "tok-123"}
- name: u2
  user: {token: "tok-456"}
"""


def test_kubeconfig_gives_current_users_token_and_ca_but_never_the_server() -> None:
    assert parse_kubeconfig(KUBECONFIG) == ("tok-123", "-----BEGIN", "team-a")
    cluster = cluster_for("https://k8s.internal:6443", 6443, KUBECONFIG, secret_type="kubeconfig")  # noqa: S106
    assert (cluster.url, cluster.token, cluster.namespace) == ("https://k8s.internal:6443", "tok-123", "team-a")
    assert "tok-123" not in repr(cluster)


@pytest.mark.parametrize("user,words", [
    ("{exec: {command: /bin/evil}}", "runs a command"),
    ("{client-certificate-data: AAAA, client-key-data: BBBB}", "client certificate"),
    ("{tokenFile: /etc/shadow}", "token file"),
    ("{}", "has no token"),
])
def test_kubeconfig_users_webgate_cannot_use_are_refused_clearly(user: str, words: str) -> None:
    text = f"contexts: [{{name: a, context: {{cluster: c, user: u}}}}]\nusers: [{{name: u, user: {user}}}]\n"
    with pytest.raises(BadAccount) as info:
        parse_kubeconfig(text)
    assert words in info.value.message and info.value.code == "unsupported_kubeconfig"


@pytest.mark.parametrize("text", ["::: not yaml :::\n  - [", "just a string\nline", "- a\n- b\n",
                                  "contexts: 7\nusers: x\n", "a: " + "x" * (300 << 10)])
def test_broken_kubeconfigs_are_refused(text: str) -> None:
    with pytest.raises(BadAccount):
        parse_kubeconfig(text)


@pytest.mark.parametrize("address,port,url", [
    ("https://10.0.0.1:6443/", 6443, "https://10.0.0.1:6443"),
    ("https://rancher.example/k8s/clusters/c-1", 443, "https://rancher.example/k8s/clusters/c-1"),
    ("10.0.0.1", 8443, "https://10.0.0.1:8443"),
    ("fd00::1", 6443, "https://[fd00::1]:6443"),
])
def test_api_url(address: str, port: int, url: str) -> None:
    assert api_url(address, port) == url


@pytest.mark.parametrize("address", ["ftp://x", "https://x?y=1", "https://"])
def test_bad_addresses_are_refused(address: str) -> None:
    with pytest.raises(BadAccount):
        api_url(address, 1)


def test_tokens_with_line_breaks_or_nothing_are_refused() -> None:
    for secret in ("", "  ", "abc\r\nX-Evil: 1"):
        with pytest.raises(BadAccount):
            cluster_for("https://k", 443, secret, secret_type="token")  # noqa: S106


def test_tls_settings_come_from_the_asset() -> None:
    assert cluster_for("https://k", 443, "t", extra={"verify_tls": False}).ssl_context().verify_mode.name == "CERT_NONE"
    assert cluster_for("https://k", 443, "t").verify is True
    with pytest.raises(BadAccount) as info:
        cluster_for("https://k", 443, "t", extra={"ca_cert": "not a pem"}).ssl_context()
    assert info.value.code == "bad_ca_cert"
