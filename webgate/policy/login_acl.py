"""Login ACL rules: the first active rule (by priority) matching the user, address and time decides.

No matching rule means "allow". Rules are pure data so this is a pure function.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from webgate.netaddr import parse_ip


def _ip_matches(ip: str, networks: Iterable[str]) -> bool:
    nets = list(networks)
    if not nets:
        return True
    addr = parse_ip(ip)
    if addr is None:
        return False
    for net in nets:
        try:
            if addr in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


def _time_matches(rule: Any, now: datetime) -> bool:
    if rule.weekdays and now.weekday() not in rule.weekdays:
        return False
    if rule.time_start and rule.time_end:
        hhmm = now.strftime("%H:%M")
        # Both ends are whole minutes and inclusive: 00:00-23:59 is the whole day.
        if rule.time_start <= rule.time_end:
            return rule.time_start <= hhmm <= rule.time_end
        return hhmm >= rule.time_start or hhmm <= rule.time_end  # window across midnight
    return True


def decide(rules: Iterable[Any], user_id: str | None, ip: str, now: datetime) -> Any | None:
    """The deciding rule, or None (allowed by default)."""
    for rule in sorted(rules, key=lambda r: (r.priority, r.name)):
        if not rule.is_active:
            continue
        if rule.user_ids and (user_id is None or user_id not in rule.user_ids):
            continue
        if _ip_matches(ip, rule.ips) and _time_matches(rule, now):
            return rule
    return None
