"""Kubernetes test peers: an exec endpoint serving a real pty, as an API server or as a kubelet.

``ExecPeer`` is a ``websockets`` server speaking the exec streaming protocol exactly as
a cluster does (subprotocol negotiation v5/v4, an empty first frame on channel 1, stdin,
resize, v5 close, and a ``metav1.Status`` on channel 3 at the end), running the
requested command under a real pseudo-terminal. Two faces:

- ``mode="apiserver"`` (fast unit/contract tests): bearer-token checks, RBAC-like
  namespace limits and the two list endpoints webgate calls, at the API server's paths.
- ``mode="kubelet"`` (behind the real kube-apiserver): the kubelet's ``/exec/NS/POD/CONTAINER``
  path over TLS, no authentication (the API server already did it).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import http
import json
import os
import pty
import re
import signal
import ssl
import struct
import subprocess
import termios
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from webgate.protocols import k8s_frames as kf

_EXEC_API = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/exec$")
_EXEC_KUBELET = re.compile(r"^/exec/([^/]+)/([^/]+)/([^/]+)$")
_PODS = re.compile(r"^/api/v1/namespaces/([^/]+)/pods$")


def _status(code: int, reason: str, message: str) -> bytes:
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason, "code": code}).encode()


def _response(code: int, body: bytes) -> Response:
    return Response(code, http.HTTPStatus(code).phrase,
                    Headers({"Content-Type": "application/json", "Content-Length": str(len(body))}), body)


@dataclass
class ExecPeer:
    """An in-process exec endpoint. ``tokens`` maps a token to the namespaces it may use (None = all)."""

    mode: str = "apiserver"
    versions: tuple[str, ...] = kf.SUBPROTOCOLS
    tokens: dict[str, set[str] | None] = field(default_factory=dict)
    pods: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # ns -> pod -> containers
    ssl_context: ssl.SSLContext | None = None
    server: Server | None = None
    port: int = 0  # 0: any free port; the kubelet face listens where the Node object says
    seen_paths: list[str] = field(default_factory=list)
    seen_headers: list[dict[str, str]] = field(default_factory=list)
    resizes: list[tuple[int, int]] = field(default_factory=list)
    stdin_closed: int = 0
    path: str = ""  # PATH for the command; "" = the test process's own

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self.port}"

    async def start(self) -> ExecPeer:
        self.server = await serve(self._session, "127.0.0.1", self.port, ssl=self.ssl_context,
                                  process_request=self._process_request, select_subprotocol=self._select,
                                  compression=None, max_size=kf.MAX_FRAME)
        self.port = next(iter(self.server.sockets)).getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    # -- HTTP side: authentication, RBAC-like limits and the list endpoints -----------------

    def _select(self, conn: ServerConnection, offered: list[str]) -> str | None:
        for version in self.versions:
            if version in offered:
                return version
        return None

    def _allowed(self, request: Request, namespace: str | None) -> Response | None:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        if token not in self.tokens:
            return _response(401, _status(401, "Unauthorized", "Unauthorized"))
        scope = self.tokens[token]
        if scope is not None and (namespace is None or namespace not in scope):
            what = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            return _response(403, _status(403, "Forbidden", f'pods is forbidden: User "tester" cannot list '
                                                             f'resource "pods" in API group "" {what}'))
        return None

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        self.seen_paths.append(request.path)
        self.seen_headers.append({k.lower(): v for k, v in request.headers.raw_items()})
        if self.mode == "kubelet":
            return None if _EXEC_KUBELET.match(path) else _response(404, _status(404, "NotFound", "not found"))
        if path == "/api/v1/namespaces":
            return self._allowed(request, None) or _response(200, json.dumps({
                "kind": "NamespaceList", "metadata": {},
                "items": [{"metadata": {"name": ns}} for ns in sorted(self.pods)]}).encode())
        if m := _PODS.match(path):
            ns = m.group(1)
            refused = self._allowed(request, ns)
            if refused:
                return refused
            if ns not in self.pods:
                return _response(404, _status(404, "NotFound", f'namespaces "{ns}" not found'))
            return _response(200, json.dumps({"kind": "PodList", "metadata": {}, "items": [
                {"metadata": {"name": pod}, "spec": {"containers": [{"name": c} for c in cs]},
                 "status": {"phase": "Running"}} for pod, cs in self.pods[ns].items()]}).encode())
        if m := _EXEC_API.match(path):
            ns, pod = m.group(1), m.group(2)
            refused = self._allowed(request, ns)
            if refused:
                return refused
            if pod not in self.pods.get(ns, {}):
                return _response(404, _status(404, "NotFound", f'pods "{pod}" not found'))
            return None
        return _response(404, _status(404, "NotFound", "the server could not find the requested resource"))

    # -- the stream: a real pty running the command ----------------------------------------

    async def _session(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        query = parse_qs(urlsplit(ws.request.path).query)
        command = query.get("command") or ["sh"]
        v5 = ws.subprotocol == kf.V5
        master, slave = pty.openpty()
        _set_size(master, 80, 24)
        try:
            proc = await asyncio.create_subprocess_exec(
                *command, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                preexec_fn=_take_terminal, env={"PATH": self.path or os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/"})
        except OSError as exc:
            os.close(master)
            os.close(slave)
            await ws.send(kf.encode(kf.STATUS, json.dumps({
                "metadata": {}, "status": "Failure", "reason": "InternalError",
                "message": f"exec: \"{command[0]}\": executable file not found in $PATH ({exc.strerror})"}).encode()))
            await ws.close()
            return
        os.close(slave)
        await ws.send(kf.encode(kf.STDOUT))  # what a real server sends first
        output: asyncio.Queue[bytes] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def readable() -> None:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(master)
            output.put_nowait(data)

        loop.add_reader(master, readable)
        pump = asyncio.create_task(self._input(ws, master, v5, proc))
        try:
            while (data := await output.get()) != b"":
                await ws.send(kf.encode(kf.STDOUT, data))
            code = await proc.wait()
            await ws.send(kf.encode(kf.STATUS, kf.status_payload(code if code >= 0 else 128 - code)))
            await ws.close()
        except ConnectionClosed:
            pass
        finally:
            pump.cancel()
            loop.remove_reader(master)
            os.close(master)
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGHUP)
                await proc.wait()

    async def _input(self, ws: ServerConnection, master: int, v5: bool, proc: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                if not isinstance(message, bytes):
                    continue
                frame = kf.decode(message)
                if frame.channel == kf.STDIN:
                    os.write(master, frame.payload)
                elif frame.channel == kf.RESIZE:
                    cols, rows = kf.parse_resize(frame.payload)
                    self.resizes.append((cols, rows))
                    _set_size(master, cols, rows)
                elif frame.channel == kf.CLOSE and v5 and frame.payload[:1] == b"\x00":
                    self.stdin_closed += 1
        # The client went away: hang up the terminal as a real server does.
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGHUP)


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _take_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@dataclass(frozen=True)
class Pki:
    """A throw-away CA and one server certificate for 127.0.0.1 (files in ``directory``)."""

    ca_pem: str
    cert_file: str
    key_file: str
    ca_file: str

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


def make_pki(directory: str, name: str = "server") -> Pki:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"webgate test CA {name}")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {k: os.path.join(directory, f"{name}-{k}.pem") for k in ("ca", "cert", "key")}
    ca_pem = ca.public_bytes(serialization.Encoding.PEM).decode()
    with open(paths["ca"], "w") as f:
        f.write(ca_pem)
    with open(paths["cert"], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["key"], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return Pki(ca_pem=ca_pem, cert_file=paths["cert"], key_file=paths["key"], ca_file=paths["ca"])


# -- the real kube-apiserver 1.20.2 (built by scripts/k8s-apiserver.sh) with etcd --------------

APISERVER_ENV = "WEBGATE_KUBE_APISERVER"
APISERVER_CACHED = "/var/cache/webgate/kube-apiserver-1.20.2"
ETCD = "/usr/bin/etcd"
REAL_ADMIN = "real-admin-token-5c1e0d7a9b"  # noqa: S105 - tokens of the throw-away test cluster
REAL_LIMITED = "real-limited-token-77f3a2c4e1"  # noqa: S105
NODE = "node-1"
# What the test cluster holds: namespace -> pod -> containers (pods are bound to NODE).
REAL_PODS = {"team-a": {"web-1": ["app", "sidecar"]}, "team-b": {"db-0": ["db"]}}


@dataclass(frozen=True)
class RealCluster:
    url: str  # https://127.0.0.1:PORT
    ca_pem: str  # the API server's serving CA
    admin_token: str
    limited_token: str  # may list/exec pods in team-a only
    kubelet_port: int  # where the Node says its kubelet listens (tests start ExecPeer there)
    kubelet_pki: Pki
    log_dir: str


def apiserver_binary() -> str | None:
    path = os.environ.get(APISERVER_ENV) or APISERVER_CACHED
    return path if os.access(path, os.X_OK) else None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check: Callable[[], bool], procs: list[subprocess.Popen[bytes]], what: str, timeout: float) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{what}: a process exited with {proc.returncode}")
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not become ready in {timeout:.0f} s")


def _sa_keys(directory: str) -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    priv, pub = os.path.join(directory, "sa.key"), os.path.join(directory, "sa.pub")
    with open(priv, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()))
    with open(pub, "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    return priv, pub


def _populate(url: str, ca_file: str, kubelet_port: int) -> None:
    """Namespaces, a Node pointing at the test kubelet, running pods, and RBAC for the limited user."""
    import httpx

    with httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=ca_file), trust_env=False, timeout=20,
                      headers={"Authorization": f"Bearer {REAL_ADMIN}"}) as http:
        def post(path: str, body: dict[str, object]) -> None:
            r = http.post(path, json=body)
            assert r.status_code in (200, 201, 409), (path, r.status_code, r.text)

        for ns in REAL_PODS:
            post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        node_status = {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
                       "conditions": [{"type": "Ready", "status": "True"}]}
        post("/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE},
                               "status": node_status})
        r = http.patch(f"/api/v1/nodes/{NODE}/status", json={"status": node_status},
                       headers={"Content-Type": "application/merge-patch+json"})
        assert r.status_code == 200, r.text
        for ns, pods in REAL_PODS.items():
            for pod, containers in pods.items():
                post(f"/api/v1/namespaces/{ns}/pods", {
                    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod, "namespace": ns},
                    "spec": {"nodeName": NODE, "containers": [{"name": c, "image": "busybox"} for c in containers]}})
                r = http.patch(f"/api/v1/namespaces/{ns}/pods/{pod}/status", json={"status": {
                    "phase": "Running", "containerStatuses": [
                        {"name": c, "ready": True, "restartCount": 0, "image": "busybox", "imageID": "",
                         "state": {"running": {}}} for c in containers]}},
                    headers={"Content-Type": "application/merge-patch+json"})
                assert r.status_code == 200, r.text
        post("/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/roles", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "pod-shell", "namespace": "team-a"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                      {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get", "create"]}]})
        post("/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "pod-shell", "namespace": "team-a"},
            "subjects": [{"kind": "User", "name": "limited", "apiGroup": "rbac.authorization.k8s.io"}],
            "roleRef": {"kind": "Role", "name": "pod-shell", "apiGroup": "rbac.authorization.k8s.io"}})


@contextlib.contextmanager
def real_cluster(work: str, binary: str) -> Iterator[RealCluster]:
    """etcd + kube-apiserver on free loopback ports, populated; stopped on exit."""
    import httpx

    etcd_port, peer_port, api_port, kubelet_port = (_free_port() for _ in range(4))
    serving = make_pki(work, "apiserver")
    kubelet = make_pki(work, "kubelet")
    priv, pub = _sa_keys(work)
    tokens = os.path.join(work, "tokens.csv")
    with open(tokens, "w") as f:
        f.write(f'{REAL_ADMIN},admin,1,"system:masters"\n{REAL_LIMITED},limited,2\n')
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen(  # noqa: S603 - fixed argv
            [ETCD, "--name", "wg", "--data-dir", os.path.join(work, "etcd"),
             "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
             "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
             "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
             "--initial-cluster", f"wg=http://127.0.0.1:{peer_port}", "--log-level", "warn"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "etcd.log"), "wb")))  # noqa: SIM115
        _wait(lambda: _http_ok(f"http://127.0.0.1:{etcd_port}/health"), procs, "etcd", 30)
        procs.append(subprocess.Popen(  # noqa: S603 - fixed argv
            [binary, f"--etcd-servers=http://127.0.0.1:{etcd_port}", "--bind-address=127.0.0.1",
             "--advertise-address=127.0.0.1", f"--secure-port={api_port}", "--insecure-port=0",
             f"--tls-cert-file={serving.cert_file}", f"--tls-private-key-file={serving.key_file}",
             f"--cert-dir={work}", f"--token-auth-file={tokens}", "--authorization-mode=RBAC",
             "--disable-admission-plugins=ServiceAccount", "--service-cluster-ip-range=10.96.0.0/24",
             f"--service-account-key-file={pub}", f"--service-account-signing-key-file={priv}",
             "--service-account-issuer=https://kubernetes.default.svc", "--endpoint-reconciler-type=none",
             "--kubelet-preferred-address-types=InternalIP", f"--kubelet-certificate-authority={kubelet.ca_file}",
             "--anonymous-auth=false", "--profiling=false"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "apiserver.log"), "wb")))  # noqa: SIM115
        url = f"https://127.0.0.1:{api_port}"

        def ready() -> bool:
            try:
                r = httpx.get(f"{url}/readyz", verify=ssl.create_default_context(cafile=serving.ca_file),
                              trust_env=False, timeout=2,
                              headers={"Authorization": f"Bearer {REAL_ADMIN}"})
            except httpx.HTTPError:
                return False
            return r.status_code == 200

        _wait(ready, procs, "kube-apiserver", 120)
        _populate(url, serving.ca_file, kubelet_port)
        yield RealCluster(url=url, ca_pem=serving.ca_pem, admin_token=REAL_ADMIN, limited_token=REAL_LIMITED,
                          kubelet_port=kubelet_port, kubelet_pki=kubelet, log_dir=work)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _http_ok(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=2, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


# -- reading a channel in tests --------------------------------------------------------------

async def read_until(chan: Any, text: str) -> bytes:
    """Output of a terminal channel until ``text`` appears (15 s at most)."""
    out = bytearray()
    async with asyncio.timeout(15):
        while text.encode() not in out:
            data = await chan.read()
            assert data, bytes(out[-300:])
            out += data
    return bytes(out)


async def drain(chan: Any) -> bytes:
    """Everything until the channel ends."""
    out = bytearray()
    async with asyncio.timeout(15):
        while data := await chan.read():
            out += data
    return bytes(out)


async def echo_resize_exit(chan: Any, cols: int, rows: int, code: int) -> None:
    """The basic terminal round: echo, resize and ``stty size``, then exit with ``code``."""
    await chan.write(b"echo hel''lo\n")
    await read_until(chan, "hello")
    await chan.resize(cols, rows)
    await chan.write(b"stty size\n")
    await read_until(chan, f"{rows} {cols}")
    await chan.write(f"exit {code}\n".encode())
    await drain(chan)
    assert chan.exit_status == code
