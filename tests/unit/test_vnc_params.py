"""VNC parameters from the permission, and guacd endpoint failover."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from webgate.protocols.guacamole.handshake import Display, NoGuacd, handshake_any
from webgate.protocols.guacamole.instruction import Parser, encode
from webgate.protocols.vnc import vnc_parameters


def test_clipboard_follows_copy_and_paste_and_read_only_is_passed(tmp_path: Path) -> None:
    none = vnc_parameters(address="10.0.0.5", port=5901, password="s", actions={"connect"}, options={})
    assert none["disable-copy"] == "true" and none["disable-paste"] == "true" and none["read-only"] == ""
    assert not any(key.startswith("recording") for key in none), "guacd is never asked to record"
    both = vnc_parameters(address="10.0.0.5", port=5901, password="s", actions={"connect", "copy", "paste"},
                          options={"color_depth": 16, "read_only": True}, read_only=False)
    assert both["disable-copy"] == "" and both["disable-paste"] == "" and both["read-only"] == "true"
    assert both["color-depth"] == "16" and both["hostname"] == "10.0.0.5" and both["port"] == "5901"
    odd = vnc_parameters(address="h", port=1, password=None, actions=(), options={"color_depth": "7",
                                                                                  "read_only": "false"})
    assert "color-depth" not in odd and odd["password"] == "" and odd["read-only"] == ""


async def _fake_guacd(ready: bool = True) -> tuple[asyncio.Server, int, list[list[str]]]:
    seen: list[list[str]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser = Parser(max_chars=1 << 16)
        while True:
            data = await reader.read(4096)
            if not data:
                break
            for instruction in parser.feed_bytes(data):
                seen.append(instruction)
                if instruction[0] == "select":
                    writer.write(encode("args", "VERSION_1_3_0", "hostname", "port", "password").encode())
                elif instruction[0] == "connect":
                    writer.write((encode("ready", "$abc") if ready else encode("error", "nope", "519")).encode()
                                 + encode("sync", "1").encode())
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


async def test_handshake_skips_a_dead_endpoint_and_sends_values_in_args_order() -> None:
    server, port, seen = await _fake_guacd()
    dead = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    dead_port = dead.sockets[0].getsockname()[1]
    dead.close()
    await dead.wait_closed()
    async with server:
        for _ in range(4):  # whichever endpoint is tried first, the live one answers
            c = await handshake_any((("127.0.0.1", dead_port), ("127.0.0.1", port)), "vnc",
                                    {"hostname": "h", "port": "5900", "password": "pw;,"}, Display(width=640))
            assert c.connection_id == "$abc" and c.version == "VERSION_1_3_0"
            c.writer.close()
        connects = [i for i in seen if i[0] == "connect"]
        assert connects[0] == ["connect", "VERSION_1_3_0", "h", "5900", "pw;,"]
        assert ["size", "640", "768", "96"] in seen
        with pytest.raises(NoGuacd):
            await handshake_any((("127.0.0.1", dead_port),), "vnc", {}, Display())
