"""Kubernetes connector: list namespaces and pods as one account, and exec into a container.

Exec speaks the API server's WebSocket streaming protocol directly (``k8s_frames``):
subprotocol ``v5.channel.k8s.io`` with fallback to ``v4``, a TTY, stdin/stdout/stderr,
resize and the status channel for the exit code. The shell is ``/bin/bash`` when the
image has it and ``/bin/sh`` otherwise. The bearer token goes only into the
``Authorization`` header: never into a URL, a message, a log line or an exception.

``Target``: ``host`` is the asset's address (the API URL), ``port`` its k8s port,
``password`` the account secret (token or kubeconfig). ``Target.options`` holds the
asset's extra (``ca_cert``, ``verify_tls``), the pod chosen in the browser (``namespace``,
``pod``, optional ``container``: check them early with ``pod_options``) and optionally
the account's ``secret_type`` (else a kubeconfig is recognised by its shape);
``target_options`` builds exactly that.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpcore
import httpx
import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from webgate.errors import Forbidden, NotFound
from webgate.protocols import k8s_frames as kf
from webgate.protocols.k8s_config import Cluster, check_name, cluster_for
from webgate.protocols.reach import dial_failed
from webgate.terminal.channel import ConnectFailed, Target

CONNECT_TIMEOUT = 10.0
REQUEST_TIMEOUT = 15.0
MAX_LIST = 500  # namespaces/pods listed per request; more is reported as truncated
MAX_BODY = 8 << 20
SHELL = ["sh", "-c", "TERM=xterm-256color; export TERM; "
         "if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi"]


class _NoDebug(logging.LoggerAdapter):  # type: ignore[type-arg]
    """websockets logs every handshake header at DEBUG, ``Authorization`` included: never let it."""

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging's name
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


def _status_message(body: bytes) -> str:
    """The ``message`` of a ``metav1.Status`` body, bounded; "" when there is none."""
    try:
        data = json.loads(body[:kf.MAX_STATUS]) if body else None
    except (ValueError, UnicodeDecodeError):
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    return " ".join(message.split())[:kf.MAX_MESSAGE] if isinstance(message, str) else ""


def _where(cluster: Cluster) -> str:
    return cluster.name or cluster.url


def _http_failure(cluster: Cluster, status: int, body: bytes, doing: str) -> Exception:
    """A refused request as an error a person understands (never echoing the token)."""
    said = _status_message(body)
    detail = f" The cluster said: {said}" if said else ""
    if status == 401:
        return ConnectFailed(f"The cluster {_where(cluster)} did not accept this account's token (expired, revoked "
                             "or wrong). Ask your admin to update the account.", code="target_auth_failed")
    if status == 403:
        return Forbidden(f"This Kubernetes account may not {doing}.{detail} Ask your admin to grant it in the "
                         "cluster, or use another account.", code="k8s_forbidden")
    if status == 404:
        return NotFound(f"Kubernetes could not find what was asked for ({doing}).{detail}", code="k8s_not_found")
    return ConnectFailed(f"The cluster {_where(cluster)} refused to {doing} (HTTP {status}).{detail}",
                         code="target_refused")


def _network_failure(cluster: Cluster, exc: BaseException) -> ConnectFailed:
    """Untrusted TLS in our words; every other dial failure in the sentences all connectors share."""
    chain: BaseException | None = exc
    cause: BaseException = exc
    while chain is not None:
        if isinstance(chain, ssl.SSLCertVerificationError):
            return ConnectFailed(
                f"The TLS certificate of {_where(cluster)} is not trusted "
                f"({chain.verify_message or 'verification failed'}). "
                "Ask your admin to set the cluster's CA certificate on the asset.", code="tls_untrusted")
        if isinstance(chain, OSError | TimeoutError):
            cause = chain
        chain = chain.__cause__ or chain.__context__
    if isinstance(exc, httpx.TimeoutException):
        cause = TimeoutError()
    parts = urlsplit(cluster.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return dial_failed(cause, parts.hostname or cluster.url, port, CONNECT_TIMEOUT)


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the checked IP whatever host name the URL has; TLS still checks the name."""

    def __init__(self, address: str) -> None:
        self._address = address
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109 - httpcore API
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_tcp(self._address, port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, cluster: Cluster) -> None:
        super().__init__(trust_env=False)
        ctx = cluster.ssl_context() if cluster.url.startswith("https://") else None
        self._pool = httpcore.AsyncConnectionPool(ssl_context=ctx or ssl.create_default_context(),
                                                  network_backend=_PinnedBackend(cluster.dial_address))


class KubeClient:
    """A few read-only REST calls as one account (one HTTP connection pool per use)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        transport = _PinnedTransport(cluster) if cluster.dial_address else None
        self._http = httpx.AsyncClient(
            base_url=cluster.url, verify=cluster.ssl_context() or True, trust_env=False, follow_redirects=False,
            transport=transport,
            timeout=httpx.Timeout(REQUEST_TIMEOUT, connect=CONNECT_TIMEOUT),
            headers={"Authorization": f"Bearer {cluster.token}", "Accept": "application/json"})

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def _get(self, path: str, params: dict[str, Any], doing: str) -> dict[str, Any]:
        try:
            async with self._http.stream("GET", path, params=params) as resp:
                body = bytearray()
                async for chunk in resp.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise ConnectFailed(f"The cluster's answer to '{doing}' is too large.", code="target_refused")
        except httpx.HTTPError as exc:
            raise _network_failure(self.cluster, exc) from None
        if resp.status_code != 200:
            raise _http_failure(self.cluster, resp.status_code, bytes(body), doing)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            raise ConnectFailed(f"{_where(self.cluster)} did not answer like a Kubernetes API server.",
                                code="target_refused")
        return data

    async def namespaces(self) -> tuple[list[str], bool]:
        """Namespace names and whether the list was cut at ``MAX_LIST``."""
        data = await self._get("/api/v1/namespaces", {"limit": MAX_LIST}, "list namespaces")
        names = [_name(item) for item in _items(data)]
        return sorted(n for n in names if n), _truncated(data)

    async def pods(self, namespace: str) -> tuple[list[dict[str, Any]], bool]:
        """Pods of a namespace as ``{name, phase, containers}`` and whether the list was cut."""
        check_name(namespace, "namespace")
        data = await self._get(f"/api/v1/namespaces/{namespace}/pods", {"limit": MAX_LIST},
                               f"list pods in namespace '{namespace}'")
        pods = []
        for item in _items(data):
            spec, status = item.get("spec"), item.get("status")
            containers = spec.get("containers") if isinstance(spec, dict) else None
            phase = status.get("phase") if isinstance(status, dict) else None
            pods.append({"name": _name(item), "phase": phase if isinstance(phase, str) else "Unknown",
                         "containers": [c["name"] for c in containers or [] if isinstance(c, dict)
                                        and isinstance(c.get("name"), str)][:64]})
        return sorted((p for p in pods if p["name"]), key=lambda p: p["name"]), _truncated(data)

    async def can_list_pods(self, namespace: str) -> bool:
        """Whether the account may list pods in ``namespace`` (a cheap probe: at most one item)."""
        try:
            await self._get(f"/api/v1/namespaces/{check_name(namespace, 'namespace')}/pods", {"limit": 1},
                            f"list pods in namespace '{namespace}'")
        except (Forbidden, NotFound):
            return False
        return True


def _items(data: dict[str, Any]) -> list[dict[str, Any]]:
    items = data.get("items")
    return [i for i in items[:MAX_LIST] if isinstance(i, dict)] if isinstance(items, list) else []


def _name(item: dict[str, Any]) -> str:
    meta = item.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return name[:253] if isinstance(name, str) else ""


def _truncated(data: dict[str, Any]) -> bool:
    meta = data.get("metadata")
    return bool(isinstance(meta, dict) and meta.get("continue"))


class KubeExecChannel:
    """A TTY exec stream as a terminal ``Channel``: output from channels 1 and 2, input to 0."""

    host_key: str | None = None

    def __init__(self, ws: websockets.ClientConnection, subprotocol: str) -> None:
        self._ws = ws
        self.subprotocol = subprotocol
        self.exit_status: int | None = None
        self.exit_info: kf.ExitInfo | None = None
        self._done = False
        self._closed = False

    async def read(self) -> bytes:
        while not self._done and not self._closed:
            try:
                message = await self._ws.recv()
            except ConnectionClosed:
                self._done = True
                break
            if isinstance(message, str):
                continue  # the protocol is binary; text frames carry nothing for us
            try:
                frame = kf.decode(message)
            except kf.FrameError:
                continue  # an empty or unknown frame is skipped, never fatal
            if frame.channel in (kf.STDOUT, kf.STDERR):
                if frame.payload:
                    return frame.payload
            elif frame.channel == kf.STATUS:
                return self._on_status(frame.payload)
        return b""

    def _on_status(self, payload: bytes) -> bytes:
        try:
            info = kf.parse_status(payload)
        except kf.FrameError:
            info = kf.ExitInfo(None, "", "the cluster sent an unreadable status")
        self.exit_info = info
        self.exit_status = info.code
        if info.code is None and info.message:
            # Not an exit code but a failure (no shell in the image, container gone...): show it.
            return f"\r\n[kubernetes] {info.message}\r\n".encode()
        return b""

    async def write(self, data: bytes) -> None:
        if self._done or self._closed or not data:
            return
        try:
            for frame in kf.stdin_frames(data):
                await self._ws.send(frame)
        except ConnectionClosed:
            self._done = True

    async def resize(self, cols: int, rows: int) -> None:
        if self._done or self._closed:
            return
        try:
            await self._ws.send(kf.resize_frame(cols, rows))
        except (ConnectionClosed, kf.FrameError):
            pass

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self.subprotocol == kf.V5 and not self._done:
                await self._ws.send(kf.close_stdin_frame())
            await asyncio.wait_for(self._ws.close(), 5)
        except (ConnectionClosed, TimeoutError, OSError):
            pass


def exec_url(cluster: Cluster, namespace: str, pod: str, container: str, command: list[str]) -> str:
    check_name(namespace, "namespace")
    check_name(pod, "pod", subdomain=True)
    if container:
        check_name(container, "container")
    query = [("stdin", "true"), ("stdout", "true"), ("stderr", "true"), ("tty", "true")]
    if container:
        query.append(("container", container))
    query += [("command", arg) for arg in command]
    return (f"{cluster.ws_url}/api/v1/namespaces/{quote(namespace)}/pods/{quote(pod)}/exec?"
            f"{urlencode(query, quote_via=quote)}")


def _option(target: Target, name: str) -> str:
    value = target.options.get(name, "")
    return value if isinstance(value, str) else ""


def pod_options(namespace: str, pod: str, container: str = "") -> dict[str, str]:
    """The pod choice from the browser, checked before a session row exists (422 naming the field).

    The lifecycle calls this with the ``namespace``/``pod``/``container`` query parameters
    of ``/ws/terminal`` and puts the result into ``Target.options``.
    """
    from webgate.errors import ValidationFailed

    missing = {k: "required" for k, v in (("namespace", namespace), ("pod", pod)) if not v}
    if missing:
        raise ValidationFailed(missing, "Choose the namespace and pod to open a shell in.")
    check_name(namespace, "namespace")
    check_name(pod, "pod", subdomain=True)
    if container:
        check_name(container, "container")
    return {"namespace": namespace, "pod": pod, "container": container}


def target_options(asset_extra: dict[str, Any], secret_type: str, choice: dict[str, str]) -> dict[str, object]:
    """Everything the lifecycle puts into ``Target.options`` for a k8s session."""
    out: dict[str, object] = {**choice, "secret_type": secret_type}
    if isinstance(asset_extra.get("ca_cert"), str):
        out["ca_cert"] = asset_extra["ca_cert"]
    if "verify_tls" in asset_extra:
        out["verify_tls"] = asset_extra["verify_tls"]
    return out


def cluster_from_target(target: Target) -> Cluster:
    extra = {k: target.options[k] for k in ("ca_cert", "verify_tls") if k in target.options}
    return cluster_for(target.host, target.port, target.password, secret_type=_option(target, "secret_type"),
                       extra=extra, name=target.asset_name, dial_address=_option(target, "dial_address"))


async def exec_in(cluster: Cluster, namespace: str, pod: str, container: str = "", *,
                  command: list[str] | None = None, cols: int = 80, rows: int = 24) -> KubeExecChannel:
    """Open a TTY exec stream into a container; refusals become ``ConnectFailed`` with a clear message."""
    url = exec_url(cluster, namespace, pod, container, command or SHELL)
    what = f"pod '{pod}' in namespace '{namespace}'" + (f" (container '{container}')" if container else "")
    try:
        ws = await websockets.connect(
            url, ssl=cluster.ssl_context(), subprotocols=list(kf.SUBPROTOCOLS),  # type: ignore[arg-type]
            additional_headers={"Authorization": f"Bearer {cluster.token}"}, open_timeout=CONNECT_TIMEOUT,
            max_size=kf.MAX_FRAME, compression=None, proxy=None, ping_interval=30, ping_timeout=30,
            user_agent_header="webgate", logger=_NoDebug(logging.getLogger("webgate.k8s.exec"), {}),
            **({"host": cluster.dial_address, "port": cluster.port} if cluster.dial_address else {}))
    except InvalidStatus as exc:
        failure = _http_failure(cluster, exc.response.status_code, exc.response.body or b"", f"open a shell in {what}")
        raise ConnectFailed(str(failure), code=getattr(failure, "code", "target_refused")) from None
    except InvalidHandshake:
        raise ConnectFailed(f"{_where(cluster)} did not accept a terminal stream for {what} (it speaks neither "
                            "v5 nor v4 of the exec protocol).", code="target_refused") from None
    except (OSError, TimeoutError) as exc:
        raise _network_failure(cluster, exc) from None
    if ws.subprotocol not in kf.SUBPROTOCOLS:
        await ws.close()
        raise ConnectFailed(f"{_where(cluster)} is too old for terminal streams (no v4/v5 exec protocol).",
                            code="target_refused")
    channel = KubeExecChannel(ws, str(ws.subprotocol))
    await channel.resize(cols, rows)
    return channel


async def open_channel(target: Target) -> KubeExecChannel:
    """The registry's entry point: the pod named in ``target.options``, as the account's token."""
    choice = pod_options(_option(target, "namespace"), _option(target, "pod"), _option(target, "container"))
    return await exec_in(cluster_from_target(target), choice["namespace"], choice["pod"], choice["container"],
                         cols=target.cols, rows=target.rows)
