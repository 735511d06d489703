"""GUAC: a hostile browser on /ws/guacamole against real guacd 1.3.0 and Xvnc.

Extends tests/integration/test_vnc.py (which covers select/connect/args after ``ready``,
a simple length lie, clipboard without permission and a blob on an unopened stream) with
the rest of the class: out-of-range and absurd stream indices, oversized instructions
and too many elements, the UTF-16 length lie of CVE-2023-30575 on a permitted clipboard,
invalid UTF-8 (binary and text frames), abuse of the tunnel-internal opcode, bad numbers,
a flood of instructions before the session opens — and, as the control, the same
clipboard stream passing when the permission grants paste. Every refusal: an ``error``
instruction with 768, close 1008, the row finalised as ``protocol_error`` and an
``input_refused`` audit row naming the session.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import websockets

from tests.peers.desktop import Desktop, GuacClient, ended_row, open_vnc
from webgate.db.models import OperationLog, Session
from webgate.protocols.guacamole.instruction import encode
from webgate.services import Services
from webgate.settings import Settings

pytestmark = pytest.mark.slow

PASTE = ("connect", "paste")


@pytest.fixture
def settings(settings: Settings, desktop: Desktop) -> Settings:  # noqa: F811 - fixture
    """guacd and Xvnc listen on loopback, which the target address policy refuses by default."""
    return settings.with_(guacd=(("127.0.0.1", desktop.guacd_port),), allow_targets=("127.0.0.0/8",))


async def _assert_refused(client: GuacClient, why: str) -> None:
    error = await client.until("error")
    assert error[2] == "768", error
    await client.wait_closed()
    assert client.ws.close_code == 1008
    row = await ended_row()
    assert row.end_reason == "protocol_error"
    refused = await OperationLog.filter(action="input_refused").first()
    assert refused is not None and refused.resource_id == str(row.id)
    assert why in refused.changes["reason"], refused.changes


CLIP = encode("clipboard", "0", "text/plain")
ATTACKS = {
    "ack on a stream index past guacd's 64": (encode("ack", "64", "OK", "0"), ("connect",), "out of range"),
    "blob on a 25-digit stream index": (encode("blob", "9" * 25, "aGk="), PASTE, "whole number"),
    "negative stream index": (CLIP.replace("1.0,", "2.-1,"), PASTE, "out of range"),
    "a stream opened twice": (CLIP + CLIP, PASTE, "opened twice"),
    "end of a stream never opened": (encode("end", "3"), PASTE, "never opened"),
    "an instruction over 8192 characters": (encode("key", "1" * 9000, "1"), ("connect",), "longer than 8192"),
    "129 elements": (encode("mouse", *(["1"] * 128)), ("connect",), "more than 128 elements"),
    "a length of six digits": ("100000.x;", ("connect",), "too many digits"),
    "UTF-16 length lie on a permitted clipboard (CVE-2023-30575)":
        (CLIP + "4.blob,1.0,2.😀;", PASTE, "length"),
    "tunnel-internal opcode other than ping": (encode("", "connect", "vnc"), ("connect",), "tunnel instruction"),
    "tunnel ping with extra elements": (encode("", "ping", "1", "x"), ("connect",), "tunnel instruction"),
    "a screen wider than 8192 pixels": (encode("size", "100000", "768"), ("connect",), "out of range"),
    "a mouse x that is not a number": (encode("mouse", "1e3", "1", "0"), ("connect",), "whole number"),
    "an unknown opcode": (encode("put", "0", "1", "text/plain", "x"), ("connect",), "may not send 'put'"),
}


@pytest.mark.parametrize("name", list(ATTACKS))
async def test_attack_is_refused_audited_and_closed(services: Services, gateway: str, desktop: Desktop,  # noqa: F811
                                                    name: str) -> None:
    attack, actions, why = ATTACKS[name]
    client = await open_vnc(services, gateway, desktop, actions=actions)
    await client.until("sync")
    await client.send(attack)
    await _assert_refused(client, why)


async def test_the_same_clipboard_passes_when_paste_is_permitted(services: Services, gateway: str,
                                                                 desktop: Desktop) -> None:  # noqa: F811
    client = await open_vnc(services, gateway, desktop, actions=PASTE)
    await client.until("sync")
    await client.send(CLIP + encode("blob", "0", "aGVsbG8g8J+YgA==") + encode("end", "0") + encode("", "ping", "7"))
    await client.until("", args=["ping", "7"])  # answered after the clipboard, so that passed the filter
    assert "error" not in client.opcodes()
    assert (await Session.get()).status == "live"
    await client.ws.close()
    assert (await ended_row()).end_reason == "client_closed"


async def test_invalid_utf8_in_a_binary_frame(services: Services, gateway: str, desktop: Desktop) -> None:  # noqa: F811
    client = await open_vnc(services, gateway, desktop)
    await client.until("sync")
    await client.ws.send(b"4.sync,1.\xff;")
    await _assert_refused(client, "UTF-8")


async def test_invalid_utf8_in_a_text_frame_is_closed_by_the_socket(services: Services, gateway: str,
                                                                    desktop: Desktop) -> None:  # noqa: F811
    client = await open_vnc(services, gateway, desktop)
    await client.until("sync")
    with contextlib.suppress(websockets.ConnectionClosed):
        await client.ws.send(b"4.sync,1.\xc0\xaf;", text=True)
    await client.wait_closed()
    assert client.ws.close_code == 1007
    assert (await ended_row()).end_reason == "protocol_error"  # not "closed from the browser"


async def test_a_message_over_the_servers_frame_limit(services: Services, production_gateway: str,
                                                      desktop: Desktop) -> None:  # noqa: F811
    """``webgate serve`` caps frames at 1 MiB: a 10 MiB message is cut by the socket (1009)."""
    client = await open_vnc(services, production_gateway, desktop)
    await client.until("sync")
    with contextlib.suppress(websockets.ConnectionClosed):
        await client.send(encode("key", "65", "1") * ((10 << 20) // 15))  # valid instructions, 10 MiB
    await client.wait_closed()
    assert client.ws.close_code == 1009
    assert (await ended_row()).end_reason == "protocol_error"


async def test_a_flood_before_the_session_opens_is_refused(services: Services, gateway: str,
                                                           desktop: Desktop) -> None:  # noqa: F811
    client = await open_vnc(services, gateway, desktop)
    await client.send(encode("mouse", "1", "1", "0") * 65)  # held while opening: at most 64
    error = await client.until("error")
    assert error[2] == "768"
    refused = await OperationLog.filter(action="input_refused").first()
    assert refused is not None and "before the session opened" in refused.changes["reason"]
    await asyncio.sleep(0.5)
    assert all(row.status == "ended" for row in await Session.all())
