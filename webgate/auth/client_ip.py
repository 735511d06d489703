"""The client's address, believing X-Forwarded-For only from configured trusted proxies.

Walks the header from the right, skipping trusted hops; the first untrusted address is
the client. A client cannot make itself look like another address by sending the
header directly (JumpServer CVE-2023-46123).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.types import Scope

from webgate.netaddr import parse_ip


def _trusted(addr: str, proxies: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    ip = parse_ip(addr)
    return ip is not None and any(ip in net for net in proxies)


def client_ip(scope: Scope, proxies: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str:
    peer = (scope.get("client") or ("", 0))[0] or ""
    if not proxies or not _trusted(peer, proxies):
        return peer
    forwarded = ""
    for name, value in scope.get("headers", []):
        if name == b"x-forwarded-for":
            forwarded = (forwarded + "," if forwarded else "") + value.decode("latin-1")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return hops[0] if hops else peer
