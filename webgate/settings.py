"""Typed, frozen settings read once from ``WEBGATE_*`` environment variables.

Everything has an embedded default so that a fresh checkout runs with no server at
all: SQLite under the data directory, the in-process bus and recordings on disk.
An optional ``KEY=VALUE`` file (``WEBGATE_ENV_FILE``) is read first; real environment
variables win over it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from webgate.errors import ConfigError

_REPO_ROOT = Path(__file__).resolve().parent.parent


def _parse_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def _networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in text.split(",") if p.strip())
    except ValueError as exc:
        raise ConfigError(f"WEBGATE_TRUSTED_PROXIES: {exc}") from None


def _endpoints(text: str) -> tuple[tuple[str, int], ...]:
    out: list[tuple[str, int]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        host, _, port = part.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"WEBGATE_GUACD: expected host:port, got {part!r}")
        out.append((host.strip("[]"), int(port)))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class AppHostRef:
    """One RemoteApp host: ``local`` (this machine) or an agent's base URL (webgate/remoteapp/)."""

    name: str
    url: str = ""  # "" for the local host


def _app_hosts(value: str) -> tuple[AppHostRef, ...]:
    """``WEBGATE_APP_HOSTS``: ``local`` and/or ``name=http://host:port`` entries, comma-separated."""
    out: list[AppHostRef] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        if part == "local":
            out.append(AppHostRef("local"))
            continue
        name, sep, url = part.partition("=")
        if not sep or not name.strip() or urlsplit(url.strip()).scheme not in ("http", "https"):
            raise ConfigError(f"WEBGATE_APP_HOSTS: expected local or name=http(s)://host:port, got {part!r}")
        out.append(AppHostRef(name.strip(), url.strip().rstrip("/")))
    if len({h.name for h in out}) != len(out):
        raise ConfigError("WEBGATE_APP_HOSTS: each app host needs its own name")
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path("data")
    database_url: str = ""
    redis_url: str = ""
    storage_url: str = ""
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    guacd: tuple[tuple[str, int], ...] = (("127.0.0.1", 4822),)
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    secret_key_file: Path | None = None
    node_name: str = field(default_factory=socket.gethostname)
    log_level: str = "info"
    # Extra Origins accepted for WebSockets and CSRF-bearing requests besides public_url.
    allowed_origins: tuple[str, ...] = ()
    # Target addresses dialled despite the address policy: CIDRs or ip:port (webgate/policy/targets.py).
    allow_targets: tuple[str, ...] = ()
    # Argon2 cost; tests lower it so that a suite of logins stays fast.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    # RemoteApp hosts (the first is the default) and the token their agents require.
    app_hosts: tuple[AppHostRef, ...] = (AppHostRef("local"),)
    app_host_token: str = ""
    # Programs the local app host may run (names or absolute paths): deployment config, not an admin's choice.
    app_programs: tuple[str, ...] = ("chromium",)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite://{(self.data_dir / 'webgate.sqlite3').resolve()}"

    @property
    def key_file(self) -> Path:
        return self.secret_key_file or self.data_dir / "secret.key"

    @property
    def recordings_url(self) -> str:
        if self.storage_url:
            return self.storage_url
        # In a checkout the top-level recordings/ folder; in an installed package (no
        # pyproject.toml beside it) under the data directory, never inside site-packages.
        root = _REPO_ROOT / "recordings" if (_REPO_ROOT / "pyproject.toml").is_file() else self.data_dir / "recordings"
        return f"file://{root.resolve()}"

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def dialect(self) -> str:
        return urlsplit(self.db_url).scheme

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        env_file = env.get("WEBGATE_ENV_FILE")
        if env_file:
            env = {**_parse_env_file(Path(env_file)), **env}
        values: dict[str, object] = {}
        get = env.get
        if v := get("WEBGATE_DATA_DIR"):
            values["data_dir"] = Path(v)
        for name in ("database_url", "redis_url", "storage_url", "s3_endpoint", "s3_access_key",
                     "s3_secret_key", "s3_region", "host", "public_url", "node_name", "log_level"):
            if (v := get(f"WEBGATE_{name.upper()}")) is not None and v != "":
                values[name] = v
        if v := get("WEBGATE_GUACD"):
            values["guacd"] = _endpoints(v)
        if v := get("WEBGATE_PORT"):
            if not v.isdigit():
                raise ConfigError("WEBGATE_PORT must be a number")
            values["port"] = int(v)
        if v := get("WEBGATE_TRUSTED_PROXIES"):
            values["trusted_proxies"] = _networks(v)
        if v := get("WEBGATE_SECRET_KEY_FILE"):
            values["secret_key_file"] = Path(v)
        if v := get("WEBGATE_ALLOWED_ORIGINS"):
            values["allowed_origins"] = tuple(o.strip().rstrip("/") for o in v.split(",") if o.strip())
        if v := get("WEBGATE_ALLOW_TARGETS"):
            values["allow_targets"] = tuple(t.strip() for t in v.split(",") if t.strip())
        if v := get("WEBGATE_APP_HOSTS"):
            values["app_hosts"] = _app_hosts(v)
        if v := get("WEBGATE_APP_PROGRAMS"):
            values["app_programs"] = tuple(p.strip() for p in v.split(",") if p.strip())
        if v := get("WEBGATE_APP_HOST_TOKEN"):
            values["app_host_token"] = v
        for name in ("argon2_time_cost", "argon2_memory_kib"):
            if v := get(f"WEBGATE_{name.upper()}"):
                values[name] = int(v)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse impossible combinations at start-up rather than at first use."""
        scheme = self.dialect
        if scheme not in ("sqlite", "mysql"):
            raise ConfigError(f"WEBGATE_DATABASE_URL: unsupported scheme {scheme!r} (sqlite or mysql)")
        if self.redis_url and urlsplit(self.redis_url).scheme not in ("redis", "rediss", "unix"):
            raise ConfigError("WEBGATE_REDIS_URL must start with redis://, rediss:// or unix://")
        if urlsplit(self.recordings_url).scheme not in ("file", "s3"):
            raise ConfigError("WEBGATE_STORAGE_URL must be file:///path or s3://bucket/prefix")
        if self.public_url and urlsplit(self.public_url).scheme not in ("http", "https"):
            raise ConfigError("WEBGATE_PUBLIC_URL must be an http(s) URL")
        if any(h.url for h in self.app_hosts) and len(self.app_host_token) < 16:
            raise ConfigError("WEBGATE_APP_HOST_TOKEN (16+ characters) is required for remote app host agents")
        from webgate.policy.targets import parse_allow_list

        parse_allow_list(self.allow_targets)

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def public_dict(self) -> dict[str, str]:
        """Settings safe to print: credentials inside URLs are masked."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            text = str(value)
            if f.name in ("s3_secret_key", "app_host_token") and value:
                text = "***"
            elif isinstance(value, str) and "@" in value and "://" in value:
                parts = urlsplit(value)
                if parts.password:
                    text = value.replace(parts.password, "***")
            out[f.name] = text
        return out
