"""Target address policy (SECURITY.md promise 9): where the gateway refuses to dial.

A bastion dials whatever address an asset names, so an asset is also a way to make
the gateway reach things that trust it: its own loopback services, the cloud's
metadata endpoint (credentials for the whole machine), link-local devices, and the
gateway's own guacd, Redis and database. These are refused unless the operator
allows them in ``WEBGATE_ALLOW_TARGETS``.

The check is made on the address actually dialled: the asset's host is resolved
once, every resolved address is checked (a name that resolves to one public and one
loopback address is refused), and the caller dials the exact address that passed
(``Target.host``), so a DNS answer that changes between check and dial (rebinding)
cannot slip through. Numeric spellings the C resolver accepts (``2130706433``,
``0x7f.1``, ``127.1``, ``017700000001``) are read with ``inet_aton`` semantics, and
IPv4 inside IPv6 (``::ffff:127.0.0.1``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``)
is checked as the IPv4 address it carries.

The allow-list is deployment configuration on purpose, not a setting editable in the
web UI: opening the metadata endpoint or the gateway's own services is a decision
about the machine's network, and a stolen admin web login must not be able to make it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from webgate.errors import ConfigError
from webgate.netaddr import IPAddress, unwrap
from webgate.protocols.reach import dial_failed
from webgate.settings import Settings
from webgate.terminal.channel import ConnectFailed, Target

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

RESOLVE_TIMEOUT = 10.0
# Cloud metadata services: AWS/GCP/Azure/OpenStack/Oracle (169.254.169.254), AWS over IPv6, Alibaba Cloud.
METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200"))
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_BROADCAST = ipaddress.ip_address("255.255.255.255")
_HOST_CHARS = re.compile(r"[A-Za-z0-9._:%\[\]-]{1,253}")
_DEFAULT_PORTS = {"redis": 6379, "rediss": 6379, "mysql": 3306, "http": 80, "https": 443}


class TargetRefused(ConnectFailed):
    """The asset's address is one the gateway does not dial; said before any connection is made."""

    code, ws_close = "target_forbidden", 4403


@dataclass(frozen=True)
class AllowList:
    networks: tuple[IPNetwork, ...] = ()
    endpoints: frozenset[tuple[IPAddress, int]] = frozenset()


def parse_allow_list(entries: Iterable[str]) -> AllowList:
    """``WEBGATE_ALLOW_TARGETS`` entries: CIDRs (``127.0.0.0/8``) or exact endpoints (``10.0.0.5:6379``, ``[::1]:22``).

    A CIDR lifts the refusal of loopback/link-local/metadata/... addresses inside it; the
    gateway's own service endpoints stay refused unless named exactly as ``ip:port``.
    """
    networks: list[IPNetwork] = []
    endpoints: set[tuple[IPAddress, int]] = set()
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        try:
            if entry.startswith("[") or (entry.count(":") == 1 and "/" not in entry):
                host, _, port = entry.rpartition(":")
                if not port.isdigit() or not 0 < int(port) < 65536:
                    raise ValueError("the port must be a number from 1 to 65535")
                endpoints.add((unwrap(ipaddress.ip_address(host.strip("[]"))), int(port)))
            else:
                networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ConfigError(f"WEBGATE_ALLOW_TARGETS: {entry!r} is neither a CIDR nor ip:port ({exc})") from None
    return AllowList(tuple(networks), frozenset(endpoints))


def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address a NAT64 or 6to4 address leads to, if any."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        return ip.sixtofour
    return None


def literal_address(host: str) -> IPAddress | None:
    """``host`` as an IP address in any spelling the resolver would accept; None when it is a name."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        return unwrap(ipaddress.ip_address(text))
    except ValueError:
        pass
    try:  # 127.1, 0x7f.1, 2130706433, 017700000001: what getaddrinfo would make of them
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def address_kind(ip: IPAddress) -> str | None:
    """Why this address is not dialled by default ("loopback", "metadata", ...), or None when it may be."""
    for candidate in (ip, _embedded_v4(ip)):
        if candidate is None:
            continue
        if candidate in METADATA:
            return "cloud metadata"
        if candidate.is_loopback:
            return "loopback"
        if candidate.is_link_local:
            return "link-local"
        if candidate.is_unspecified or (isinstance(candidate, ipaddress.IPv4Address) and candidate in _THIS_NETWORK):
            return "unspecified"
        if candidate.is_multicast or candidate == _BROADCAST:
            return "multicast or broadcast"
    return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` stands for, resolved once; a literal needs no lookup."""
    if not _HOST_CHARS.fullmatch(host):
        raise TargetRefused(f"'{host[:80]}' is not a host name or IP address. Ask your admin to fix the asset.",
                            code="bad_address")
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP), RESOLVE_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise dial_failed(exc, host, port, RESOLVE_TIMEOUT) from None
    out: list[IPAddress] = []
    for info in infos:
        ip = unwrap(ipaddress.ip_address(str(info[4][0])))
        if ip not in out:
            out.append(ip)
    if not out:
        raise dial_failed(socket.gaierror(), host, port, RESOLVE_TIMEOUT)
    return out


async def _own_addresses() -> list[IPAddress]:
    """This machine's addresses as far as its name says: what a wildcard listener answers on."""
    try:
        return await resolve(socket.gethostname(), 0)
    except ConnectFailed:
        return []


async def service_endpoints(settings: Settings) -> set[tuple[IPAddress, int]]:
    """The gateway's own listeners and back-ends: guacd, Redis, the database, S3, its HTTP port."""
    pairs: list[tuple[str, int]] = [*settings.guacd, (settings.host, settings.port)]
    for url in (settings.redis_url, settings.database_url, settings.s3_endpoint):
        parts = urlsplit(url) if url else None
        if parts is not None and parts.hostname:
            try:
                port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 0)
            except ValueError:
                continue
            pairs.append((parts.hostname, port))
    out: set[tuple[IPAddress, int]] = set()
    for host, port in pairs:
        try:
            ips = await resolve(host, port)
        except ConnectFailed:
            continue
        for ip in ips:
            if ip.is_unspecified:  # a wildcard listener is reachable on every local address
                local = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"), *await _own_addresses()]
                out.update((a, port) for a in local)
            out.add((ip, port))
    return out


def _refusal(name: str, ip: IPAddress, kind: str) -> TargetRefused:
    shown = name if name == str(ip) else f"{name} ({ip})"
    what = "one of the gateway's own services" if kind == "service" else f"a {kind} address"
    return TargetRefused(
        f"webgate does not connect to loopback, link-local, cloud metadata or its own service addresses, and "
        f"{shown} is {what}. Ask your admin if this asset really must be reached this way.",
        details={"address": str(ip), "kind": kind})


async def check_target(settings: Settings, host: str, port: int) -> IPAddress:
    """The one address to dial for ``host:port``, after checking every address it resolves to.

    Raises ``TargetRefused`` (nothing dialled) when any of them is refused, and
    ``ConnectFailed`` when the name does not resolve.
    """
    allow = parse_allow_list(settings.allow_targets)
    addresses = await resolve(host, port)
    services = await service_endpoints(settings)
    for ip in addresses:
        if (ip, port) in allow.endpoints:
            continue
        if (ip, port) in services:
            raise _refusal(host, ip, "service")
        kind = address_kind(ip)
        if kind is not None and not any(ip in n for n in allow.networks):
            raise _refusal(host, ip, kind)
    return addresses[0]


async def check_api_address(settings: Settings, address: str, port: int | None) -> IPAddress:
    """``check_target`` for a Kubernetes asset, whose address is an API URL (or a bare host).

    For every request to the cluster, the terminal's exec and the namespace/pod listing alike.
    """
    from webgate.protocols.k8s_config import api_url

    parts = urlsplit(api_url(address, port))
    return await check_target(settings, parts.hostname or "", parts.port or _DEFAULT_PORTS[parts.scheme])


async def pin_target(settings: Settings, protocol: str, target: Target) -> Target:
    """``target`` dialling the checked address: ``host`` becomes the IP, ``server_name`` keeps the name.

    Kubernetes assets name an API URL whose host TLS must verify, so its host is checked
    and the checked IP is passed as ``options["dial_address"]`` for the connector to pin.
    """
    if protocol == "k8s":
        ip = await check_api_address(settings, target.host, target.port)
        return replace(target, options={**target.options, "dial_address": str(ip)})
    ip = await check_target(settings, target.host, target.port)
    return replace(target, host=str(ip), server_name=target.host)
