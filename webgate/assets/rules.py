"""What a valid asset is: platforms, protocols and their default ports, addresses, labels, extra.

The API and the CSV/XLSX importer both pass rows through ``clean_asset``, so a row that the
form would refuse is refused by the import with the same field names and sentences.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

from webgate.errors import ValidationFailed
from webgate.protocols.rdp import asset_options_error as rdp_options_error
from webgate.sessions.hostkeys import RESERVED as HOST_KEY_FIELDS

PROTOCOLS = ("ssh", "telnet", "rdp", "vnc", "sftp", "mysql", "postgresql", "redis", "k8s", "http", "https")

# The protocols an asset of each platform gets when none are given, with their usual ports.
PLATFORM_DEFAULTS: dict[str, list[dict[str, Any]]] = {
    "linux": [{"name": "ssh", "port": 22}, {"name": "sftp", "port": 22}],
    "unix": [{"name": "ssh", "port": 22}, {"name": "sftp", "port": 22}],
    "windows": [{"name": "rdp", "port": 3389}],
    "network": [{"name": "ssh", "port": 22}, {"name": "telnet", "port": 23}],
    "mysql": [{"name": "mysql", "port": 3306}],
    "mariadb": [{"name": "mysql", "port": 3306}],
    "postgresql": [{"name": "postgresql", "port": 5432}],
    "redis": [{"name": "redis", "port": 6379}],
    "kubernetes": [{"name": "k8s", "port": 443}],
    "website": [{"name": "https", "port": 443}],
    "remoteapp_host": [{"name": "rdp", "port": 3389}],
}
PLATFORMS = tuple(PLATFORM_DEFAULTS)
DEFAULT_PORTS = {"ssh": 22, "telnet": 23, "rdp": 3389, "vnc": 5900, "sftp": 22, "mysql": 3306,
                 "postgresql": 5432, "redis": 6379, "k8s": 443, "http": 80, "https": 443}
URL_PLATFORMS = frozenset({"website", "kubernetes"})
MAX_EXTRA_BYTES = 16 * 1024
MAX_LABELS = 50
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_LABEL = re.compile(r"^[A-Za-z0-9_.\-]{1,64}:[^;\n\r]{0,128}$")


class ProtocolIn(BaseModel):
    name: str
    port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in PROTOCOLS:
            raise ValueError(f"Unknown protocol; use one of: {', '.join(PROTOCOLS)}")
        return value


class AssetPatch(BaseModel):
    """Every writable asset field; ``org`` and ``id`` are deliberately absent."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    address: str | None = Field(default=None, min_length=1, max_length=1024)
    platform: str | None = None
    protocols: list[ProtocolIn] | None = Field(default=None, max_length=20)
    node_ids: list[uuid.UUID] | None = Field(default=None, max_length=100)
    labels: list[str] | None = None
    comment: str | None = Field(default=None, max_length=2000)
    is_active: bool | None = None
    extra: dict[str, Any] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else value.strip() or _fail("Give the asset a name.")

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if value not in PLATFORMS:
            raise ValueError(f"Unknown platform; use one of: {', '.join(PLATFORMS)}")
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else clean_labels(value)

    @field_validator("extra")
    @classmethod
    def _extra(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        # Host keys are trusted through /assets/{id}/host-key only; a round-tripped copy is ignored.
        value = {k: v for k, v in value.items() if k not in HOST_KEY_FIELDS}
        if len(json.dumps(value)) > MAX_EXTRA_BYTES:
            raise ValueError(f"Extra settings are limited to {MAX_EXTRA_BYTES // 1024} KB.")
        for key, item in value.items():
            if not isinstance(item, str | int | float | bool) and item is not None:
                raise ValueError(f"'{key}' must be a plain value (text, number or true/false).")
        if (rdp := rdp_options_error(value)) is not None:
            raise ValueError(rdp)
        return value


class AssetCreate(AssetPatch):
    name: str = Field(min_length=1, max_length=128)
    address: str = Field(min_length=1, max_length=1024)
    platform: str


def _fail(message: str) -> str:
    raise ValueError(message)


def clean_labels(values: list[str]) -> list[str]:
    out: list[str] = []
    for raw in values:
        label = raw.strip()
        if not _LABEL.match(label):
            raise ValueError(f"'{label[:40]}' is not a label: write key:value (key of letters, digits, _ . -).")
        if label not in out:
            out.append(label)
    if len(out) > MAX_LABELS:
        raise ValueError(f"At most {MAX_LABELS} labels.")
    return out


def address_error(address: str, platform: str) -> str | None:
    """None when the address suits the platform; else a sentence saying what is expected."""
    if platform in URL_PLATFORMS and "://" in address:
        parts = urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "Give a URL such as https://host:port/path."
        return None if host_error(parts.hostname) is None else "The URL's host name is not valid."
    if platform == "website":
        return "Give the site's URL, such as https://intranet.example.com/login."
    return host_error(address)


def host_error(host: str) -> str | None:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return None
    except ValueError:
        pass
    name = host.rstrip(".")
    if 0 < len(name) <= 253 and all(_HOST_LABEL.match(part) for part in name.split(".")):
        return None
    return "Give a host name (db1.example.com) or an IP address."


def clean_asset(data: dict[str, Any]) -> dict[str, Any]:
    """Checks across fields once name/platform/address are known; fills default protocols."""
    platform = data["platform"]
    errors: dict[str, str] = {}
    address = data["address"].strip()
    problem = address_error(address, platform)
    if problem:
        errors["address"] = problem
    protocols = data.get("protocols")
    if not protocols:
        protocols = [dict(p) for p in PLATFORM_DEFAULTS[platform]]
    else:
        seen: set[str] = set()
        cleaned = []
        for proto in protocols:
            item = proto.model_dump() if isinstance(proto, BaseModel) else dict(proto)
            if item["name"] in seen:
                errors["protocols"] = f"{item['name']} is listed twice."
            seen.add(item["name"])
            cleaned.append({"name": item["name"], "port": item.get("port") or DEFAULT_PORTS[item["name"]]})
        protocols = cleaned
    if errors:
        raise ValidationFailed(errors)
    return {**data, "address": address, "protocols": protocols}


def parse_protocols(text: str) -> list[dict[str, Any]]:
    """"ssh/22 sftp/22" (or "ssh" alone, for the default port) as the import file writes it."""
    out: list[dict[str, Any]] = []
    for token in re.split(r"[\s,;]+", text.strip()):
        if not token:
            continue
        name, _, port = token.partition("/")
        if port and not port.isdigit():
            raise ValidationFailed({"protocols": f"'{token}' is not name/port, such as ssh/22."})
        out.append({"name": name, "port": int(port) if port else None})
    return out


def format_protocols(protocols: list[dict[str, Any]]) -> str:
    return " ".join(f"{p['name']}/{p['port']}" for p in protocols)


def check_node_name(name: str) -> str:
    """Node names appear in paths such as /Prod/DB, so they may not hold '/' or ';'."""
    name = name.strip()
    if not name or len(name) > 128:
        raise ValidationFailed({"name": "Give the node a name of 1 to 128 characters."})
    if "/" in name or ";" in name:
        raise ValidationFailed({"name": "A node name may not contain '/' or ';'."})
    return name
