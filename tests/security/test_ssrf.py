"""SSRF: an asset's address cannot make the gateway dial loopback, link-local, metadata or its own services.

Each attack goes through /ws/terminal as a browser would, with a real listener on
127.0.0.1 standing in for a loopback service: the refusal must come with a clear
sentence *before* any connection (the listener counts zero), and the same asset works
once the operator allows the range in ``WEBGATE_ALLOW_TARGETS``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.terminal_client import (
    Term,
    grant,
    make_account,
    make_ssh_asset,
    user_and_cookie,
)
from tests.peers import gateway as gateway_peer
from webgate.db.models import Session
from webgate.errors import ConfigError
from webgate.policy import targets
from webgate.policy.targets import TargetRefused, check_target, parse_allow_list, pin_target
from webgate.services import Services
from webgate.settings import Settings
from webgate.terminal.channel import ConnectFailed, Target

gateway = gateway_peer.gateway  # the fixture: the app served by uvicorn

# Spellings of 127.0.0.1 (and of loopback generally) that the C resolver or the kernel accept.
LOOPBACK_FORMS = ["127.0.0.1", "localhost", "127.1", "0x7f.1", "2130706433", "017700000001", "0x7f000001",
                  "127.000.000.001", "::ffff:127.0.0.1", "[::ffff:7f00:1]", "127.9.9.9"]
OTHER_FORBIDDEN = {
    "::1": "loopback", "169.254.169.254": "cloud metadata", "fd00:ec2::254": "cloud metadata",
    "100.100.100.200": "cloud metadata", "169.254.10.1": "link-local", "fe80::1": "link-local",
    "0.0.0.0": "unspecified",  # noqa: S104 - an address under attack, not a bind
    "0": "unspecified", "::": "unspecified", "224.0.0.1": "multicast or broadcast",
    "ff02::1": "multicast or broadcast", "255.255.255.255": "multicast or broadcast",
    "64:ff9b::7f00:1": "loopback",  # NAT64 to 127.0.0.1
    "2002:a9fe:a9fe::": "cloud metadata",  # 6to4 wrapping 169.254.169.254
}


class Listener:
    """A TCP listener on 127.0.0.1 that counts connections (each is closed at once)."""

    def __init__(self) -> None:
        self.accepted = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> Listener:
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            writer.close()

        self.server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    lst = await Listener().start()
    yield lst
    assert lst.server is not None
    lst.server.close()


@pytest.fixture
def allow_loopback(services: Services) -> None:
    """What an operator's ``WEBGATE_ALLOW_TARGETS=127.0.0.0/8`` does (the running app reads it per dial)."""
    services.settings = services.settings.with_(allow_targets=("127.0.0.0/8",))


async def _attempt(services: Services, gateway: str, address: str, port: int,
                   user: str = "alice") -> tuple[dict[str, Any], Session]:
    person, cookie = await user_and_cookie(services, gateway, user)
    asset = await make_ssh_asset(services, port, address=address, name=f"asset-of-{user}")
    await make_account(services, asset, "ops", "root", secret="irrelevant")  # noqa: S106 - never used
    await grant(person, asset, ["ops"], name=f"perm-{user}")
    term = await Term.connect(gateway, cookie, f"asset={asset.id}&account=ops")
    err = await term.until_control("error", timeout=20)
    await term.close()
    return err, await Session.get(asset_id=asset.id)


@pytest.mark.parametrize("address", LOOPBACK_FORMS)
async def test_loopback_in_any_spelling_is_refused_before_dialling(services: Services, gateway: str,
                                                                   listener: Listener, address: str) -> None:
    err, row = await _attempt(services, gateway, address, listener.port)
    assert err["code"] == "target_forbidden" and err["fatal"] is True
    assert "webgate does not connect to loopback" in err["message"] and "Ask your admin" in err["message"]
    assert err["details"]["kind"] == "loopback" and ipaddress.ip_address(err["details"]["address"]).is_loopback
    assert listener.accepted == 0
    assert row.status == "ended" and row.end_reason == "target_forbidden"


@pytest.mark.parametrize("address", sorted(OTHER_FORBIDDEN))
async def test_forbidden_address_kinds_are_refused(services: Services, gateway: str, address: str) -> None:
    err, row = await _attempt(services, gateway, address, 22)
    assert err["code"] == "target_forbidden", err
    assert err["details"]["kind"] == OTHER_FORBIDDEN[address]
    assert "Ask your admin" in err["message"]
    assert row.end_reason == "target_forbidden"


@pytest.mark.usefixtures("allow_loopback")
@pytest.mark.parametrize("address", ["127.0.0.1", "0x7f.1", "localhost"])
async def test_allow_list_lets_the_operator_open_loopback(services: Services, gateway: str, listener: Listener,
                                                          address: str) -> None:
    err, row = await _attempt(services, gateway, address, listener.port)
    assert err["code"] != "target_forbidden"  # it was dialled: the listener hung up on the SSH handshake
    assert listener.accepted == 1 and row.end_reason == err["code"]


@pytest.mark.usefixtures("allow_loopback")
async def test_gateway_own_services_stay_refused_even_in_an_allowed_range(services: Services, gateway: str,
                                                                         listener: Listener) -> None:
    services.settings = services.settings.with_(guacd=(("127.0.0.1", listener.port),))
    err, _ = await _attempt(services, gateway, "127.0.0.1", listener.port)
    assert err["code"] == "target_forbidden" and err["details"]["kind"] == "service"
    assert "own services" in err["message"] and listener.accepted == 0


@pytest.mark.usefixtures("allow_loopback")
async def test_gateway_http_port_is_a_service_even_when_listening_on_all_interfaces(services: Services,
                                                                                   gateway: str,
                                                                                   listener: Listener) -> None:
    services.settings = services.settings.with_(host="0.0.0.0", port=listener.port)  # noqa: S104 - the case tested
    err, _ = await _attempt(services, gateway, "localhost", listener.port)
    assert err["code"] == "target_forbidden" and err["details"]["kind"] == "service" and listener.accepted == 0


async def test_an_exact_endpoint_entry_opens_one_service(listener: Listener, settings: Settings) -> None:
    s = settings.with_(guacd=(("127.0.0.1", listener.port),), allow_targets=(f"127.0.0.1:{listener.port}",))
    assert str(await check_target(s, "127.0.0.1", listener.port)) == "127.0.0.1"
    with pytest.raises(TargetRefused):  # another port on loopback is still refused
        await check_target(s, "127.0.0.1", listener.port + 1)


def _fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[list[str]]]) -> list[str]:
    """Replace the loop's resolver: each lookup of a name returns its next answer."""
    asked: list[str] = []
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def getaddrinfo(host: str, port: int, **kw: Any) -> list[Any]:
        if host not in answers:
            return await real(host, port, **kw)
        asked.append(host)
        ips = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
                for ip in ips]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return asked


async def test_dns_name_resolving_to_a_forbidden_address_is_refused(services: Services, gateway: str,
                                                                    listener: Listener,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dns(monkeypatch, {"intranet.example": [["192.0.2.10", "127.0.0.1"]],
                            "metadata.example": [["169.254.169.254"]]})
    err, row = await _attempt(services, gateway, "intranet.example", listener.port)
    assert err["code"] == "target_forbidden" and "intranet.example (127.0.0.1)" in err["message"]
    err, _ = await _attempt(services, gateway, "metadata.example", listener.port, user="bob")
    assert err["details"]["kind"] == "cloud metadata"
    assert listener.accepted == 0


async def test_the_checked_address_is_the_one_dialled(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: a second lookup would say loopback, but the connector gets the checked IP, not the name."""
    asked = _fake_dns(monkeypatch, {"rebind.example": [["192.0.2.7"], ["127.0.0.1"]]})
    target = Target(host="rebind.example", port=22, username="u")
    pinned = await pin_target(settings, "ssh", target)
    assert pinned.host == "192.0.2.7" and pinned.server_name == "rebind.example" and asked == ["rebind.example"]
    k8s = await pin_target(settings, "k8s", Target(host="https://192.0.2.8:6443", port=443, username=""))
    assert k8s.options["dial_address"] == "192.0.2.8"
    with pytest.raises(TargetRefused):
        await pin_target(settings, "k8s", Target(host="https://[::ffff:169.254.169.254]/", port=443, username=""))


async def test_unresolvable_name_and_junk_addresses(settings: Settings) -> None:
    with pytest.raises(ConnectFailed) as exc:
        await check_target(settings, "no-such-host.invalid", 22)
    assert exc.value.code == "target_unreachable"
    for junk in ("127.0.0.1 evil.example", "host\nname", "a/b", ""):  # inet_aton would read "127.0.0.1 x"
        with pytest.raises(TargetRefused) as refused:
            await check_target(settings, junk, 22)
        assert refused.value.code == "bad_address"


def test_allow_list_parsing() -> None:
    allow = parse_allow_list(["127.0.0.0/8", " 10.0.0.5:6379 ", "[::1]:22", "fe80::/10", ""])
    assert [str(n) for n in allow.networks] == ["127.0.0.0/8", "fe80::/10"]
    assert (ipaddress.ip_address("::1"), 22) in allow.endpoints
    for bad in ("nonsense", "10.0.0.5:99999", "10.0.0.0/33"):
        with pytest.raises(ConfigError, match="WEBGATE_ALLOW_TARGETS"):
            parse_allow_list([bad])
    assert Settings.from_env({"WEBGATE_ALLOW_TARGETS": "127.0.0.0/8,10.0.0.5:6379"}).allow_targets == (
        "127.0.0.0/8", "10.0.0.5:6379")


def test_private_networks_are_ordinary_targets() -> None:
    for ip in ("10.1.2.3", "192.168.0.5", "172.16.9.9", "100.64.0.1", "2001:db8::1", "fd12::1", "8.8.8.8"):
        assert targets.address_kind(ipaddress.ip_address(ip)) is None, ip
