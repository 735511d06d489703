"""IP address parsing shared by the client-address, login-ACL and target-address checks.

An IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) is IPv4 on the wire, so every check
sees it as the IPv4 address: otherwise an IPv4 rule or network would not match it.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def unwrap(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def parse_ip(text: str) -> IPAddress | None:
    """The address in ``text`` (mapped IPv4 unwrapped), or None when it is not one."""
    try:
        return unwrap(ipaddress.ip_address(text))
    except ValueError:
        return None
