"""The app-host seam: what the gateway asks of a machine that runs RemoteApp programs.

``start(spec)`` starts one isolated display running only the applet's program and returns
where guacd reaches it (``AppDisplay``: host, port and a one-time VNC password);
``stop(id)`` kills the program and the display and removes every file made for it. Two
implementations: ``LocalAppHost`` (this machine, the default) and ``RemoteAppHost`` (the
same two calls over HTTP to ``webgate apphost-agent`` on another machine).

The spec carries the target's password because the host injects it (web login autofill, a
0600 file, an environment variable): it never appears in argv, a URL, a log line or the
browser. ``values`` are the placeholders' values for the argument templates.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from webgate.settings import Settings

BROWSERS = frozenset({"chromium", "chromium-browser", "google-chrome", "chrome"})


class AppHostError(Exception):
    """The app host could not start the program; the message is a sentence for the person."""


@dataclass(frozen=True)
class AppSpec:
    session_id: str
    program: str  # a Chromium name gets the kiosk browser with login autofill, anything else is run as is
    arguments: list[str]  # argv templates (webgate/remoteapp/templates.py)
    values: dict[str, str]  # url, host, port, username, database
    width: int = 1024
    height: int = 768
    username: str = ""
    password: str | None = field(default=None, repr=False)
    password_env: str = ""
    autofill: dict[str, str] = field(default_factory=dict)  # CSS selectors: username, password, submit
    pin: dict[str, str] = field(default_factory=dict)  # browser: host name → the checked IP to dial

    @property
    def is_browser(self) -> bool:
        return self.program.rsplit("/", 1)[-1] in BROWSERS

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AppSpec:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class AppDisplay:
    id: str
    host: str  # where guacd reaches the display's VNC server
    port: int
    password: str = field(repr=False)  # one-time VNC password, valid for this display only


class AppHost(Protocol):
    async def start(self, spec: AppSpec) -> AppDisplay: ...

    async def stop(self, display_id: str) -> None: ...


def app_host(settings: Settings, name: str = "") -> AppHost:
    """The configured app host called ``name`` (the first configured one for "")."""
    hosts = settings.app_hosts
    ref = next((h for h in hosts if h.name == name), None) if name else (hosts[0] if hosts else None)
    if ref is None:
        raise AppHostError(f"The app host {name!r} is not configured. Tell your admin.")
    if not ref.url:
        from webgate.remoteapp.local import LocalAppHost

        return LocalAppHost(programs=settings.app_programs)
    from webgate.remoteapp.remote import RemoteAppHost

    return RemoteAppHost(ref.url, settings.app_host_token)
