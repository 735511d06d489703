"""How to reach a Kubernetes cluster as one account: API URL, TLS trust and bearer token.

The asset decides *where* (its address is the API URL; ``extra.ca_cert`` and
``extra.verify_tls`` decide TLS trust); the account decides *as whom* (a bearer token,
or a kubeconfig from which only the current user's token and the cluster's CA are
taken). A kubeconfig's ``server`` is deliberately ignored, so an account secret can
never redirect the gateway to another address than the one the admin set on the asset
(and checked by the address policy). Exec plugins, token files and client-certificate
users are refused: the gateway never runs commands or reads files named by a secret.
"""

from __future__ import annotations

import base64
import re
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from webgate.terminal.channel import ConnectFailed

MAX_KUBECONFIG = 256 << 10
# DNS-1123 label (namespaces, containers) and subdomain (pods): nothing that could change a URL path.
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class BadAccount(ConnectFailed):
    code = "bad_k8s_account"
    message = "The Kubernetes account stored for this asset could not be read. Ask your admin to check it."


@dataclass(frozen=True, slots=True)
class Cluster:
    """One cluster as one account. Holds a bearer token: never log or serialise it."""

    url: str  # https://host:port[/path prefix], no trailing slash
    token: str = field(repr=False)
    ca_pem: str | None = field(default=None, repr=False)
    verify: bool = True
    name: str = ""
    namespace: str = ""  # the kubeconfig context's namespace: a hint for listing, never a limit
    # The IP the target address policy checked for the URL's host: every connection goes
    # there (TLS still verifies the name), so a DNS answer that changes after the check
    # (rebinding) cannot point the gateway at loopback or a metadata service.
    dial_address: str = ""

    def __repr__(self) -> str:
        return f"Cluster({self.url})"

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.url.startswith("https://"):
            return None
        if not self.verify:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        try:
            return ssl.create_default_context(cadata=self.ca_pem) if self.ca_pem else ssl.create_default_context()
        except (ssl.SSLError, ValueError):
            raise BadAccount("The CA certificate set on this Kubernetes asset is not a valid PEM certificate. "
                             "Ask your admin to fix the asset.", code="bad_ca_cert") from None

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def ws_url(self) -> str:
        return "wss://" + self.url[8:] if self.url.startswith("https://") else "ws://" + self.url[7:]


def api_url(address: str, port: int | None) -> str:
    """The asset's address as an API base URL: a full URL is used as is, a bare host gets https and the port."""
    address = address.strip()
    if "://" in address:
        parts = urlsplit(address)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
            raise BadAccount("The address of this Kubernetes asset is not an http(s) URL of an API server. "
                             "Ask your admin to fix the asset.", code="bad_k8s_address")
        return address.rstrip("/")
    host = f"[{address}]" if ":" in address and not address.startswith("[") else address
    return f"https://{host}:{port or 6443}"


def parse_kubeconfig(text: str) -> tuple[str, str | None, str]:
    """The current context's user token, its cluster's CA (PEM) and its namespace from a kubeconfig."""
    import yaml

    if len(text) > MAX_KUBECONFIG:
        raise BadAccount("The kubeconfig stored for this account is too large.")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        raise BadAccount("The kubeconfig stored for this account is not valid YAML. Ask your admin to check it.") from None
    if not isinstance(doc, dict):
        raise BadAccount()
    ctx_name = doc.get("current-context")
    contexts = _named(doc.get("contexts"))
    if not contexts:
        raise BadAccount("The kubeconfig stored for this account has no context. Ask your admin to check it.")
    context = contexts.get(ctx_name) if ctx_name else None
    context = context if context is not None else next(iter(contexts.values()))
    user = _named(doc.get("users")).get(context.get("user"), {})
    cluster = _named(doc.get("clusters")).get(context.get("cluster"), {})
    token = user.get("token")
    if not isinstance(token, str) or not token.strip():
        what = ("runs a command (exec plugin)" if "exec" in user or "auth-provider" in user else
                "uses a client certificate" if "client-certificate-data" in user or "client-certificate" in user else
                "names a token file" if "tokenFile" in user else "has no token")
        raise BadAccount(f"The kubeconfig stored for this account {what}; webgate only uses bearer tokens. "
                         "Ask your admin to store a service-account token instead.", code="unsupported_kubeconfig")
    ca = cluster.get("certificate-authority-data")
    ca_pem = None
    if isinstance(ca, str) and ca.strip():
        try:
            ca_pem = base64.b64decode(ca, validate=False).decode("ascii")
        except (ValueError, UnicodeDecodeError):
            raise BadAccount("The CA certificate in the stored kubeconfig is not valid. Ask your admin to check it.") from None
    namespace = context.get("namespace")
    return token.strip(), ca_pem, namespace if isinstance(namespace, str) and _LABEL.match(namespace) else ""


def _named(items: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            for key in ("context", "user", "cluster"):
                if isinstance(item.get(key), dict):
                    out[item["name"]] = item[key]
                    break
            else:
                out.setdefault(item["name"], {})
    return out


def _looks_like_kubeconfig(secret: str) -> bool:
    return "\n" in secret.strip() or secret.lstrip().startswith(("apiVersion", "{", "clusters", "kind"))


def cluster_for(address: str, port: int | None, secret: str | None, *, secret_type: str = "",
                extra: dict[str, Any] | None = None, name: str = "", dial_address: str = "") -> Cluster:
    """The cluster to dial for an asset and one account's decrypted secret."""
    extra = extra or {}
    if not secret or not secret.strip():
        raise BadAccount("No token is stored for this Kubernetes account. Ask your admin to add one.",
                         code="bad_k8s_account")
    ca_pem = extra.get("ca_cert") if isinstance(extra.get("ca_cert"), str) and extra.get("ca_cert") else None
    if secret_type == "kubeconfig" or (secret_type != "token" and _looks_like_kubeconfig(secret)):  # noqa: S105
        token, kube_ca, namespace = parse_kubeconfig(secret)
        ca_pem = ca_pem or kube_ca
    else:
        token, namespace = secret.strip(), ""
    if any(c in token for c in "\r\n\x00") or len(token) > 16 << 10:
        raise BadAccount("The token stored for this Kubernetes account is not valid. Ask your admin to check it.")
    verify = extra.get("verify_tls", True) is not False
    return Cluster(url=api_url(address, port), token=token, ca_pem=ca_pem, verify=verify, name=name,
                   namespace=namespace, dial_address=dial_address)


def check_name(value: str, what: str, *, subdomain: bool = False) -> str:
    """A namespace/pod/container name as Kubernetes allows it; anything else is refused before any request."""
    pattern = _SUBDOMAIN if subdomain else _LABEL
    if not isinstance(value, str) or not pattern.fullmatch(value):  # fullmatch: "$" would let "name\n" through
        from webgate.errors import ValidationFailed

        raise ValidationFailed({what: f"'{str(value)[:80]}' is not a valid Kubernetes {what} name."})
    return value
