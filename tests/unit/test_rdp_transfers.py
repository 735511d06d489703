"""The drive's file streams: the filter's checks on put/file/get, the transfer rows, the input hold.

The same paths run against real xrdp and guacd in tests/integration/test_rdp.py; here the
edges that a real peer rarely produces (a reused stream index, guacd refusing a write, a
browser aborting a download, a session ending mid-transfer) are driven by hand.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from webgate.db.models import FileTransfer, OperationLog, Organization, Session
from webgate.protocols.guacamole.filters import InstructionFilter, Refused
from webgate.protocols.guacamole.instruction import encode
from webgate.protocols.rdp import drive_dir
from webgate.services import Services
from webgate.sessions.input_hold import InputHold
from webgate.sessions.recovery import close_stale_sessions
from webgate.sessions.transfers import LISTING, Transfers, base64_size


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_get_passes_only_with_download_and_names_stay_inside_the_drive() -> None:
    upload = InstructionFilter({"connect", "upload"})
    with pytest.raises(Refused, match="may not send 'get'"):
        upload.check(["get", "0", "/report.txt"])
    upload.check(["put", "0", "1", "text/plain", "/folder/report.txt"])
    upload.check(["file", "2", "text/plain", "report.txt"])
    download = InstructionFilter({"connect", "download"})
    download.check(["get", "0", "/"])
    download.check(["get", "0", "/folder/ledger.bin"])
    for bad in (["get", "0", "../etc/passwd"], ["get", "0", "/a/../../etc/passwd"], ["get", "0", ""],
                ["get", "0", "/a\x00b"], ["get", "0", "/" + "a" * 1100], ["get", "99", "/x"], ["get", "0"]):
        with pytest.raises(Refused):
            download.check(bad)
    for bad in (["put", "0", "3", "text/plain", "relative.txt"], ["put", "0", "3", "text/plain", "/..\\up.txt"],
                ["file", "4", "text/plain", "dir/escape.txt"], ["file", "4", "text/plain", ".."]):
        with pytest.raises(Refused):
            upload.check(bad)
    viewer = InstructionFilter({"connect", "upload", "download"}, read_only=True)
    with pytest.raises(Refused):
        viewer.check(["get", "0", "/"])


def test_base64_size_is_the_decoded_length() -> None:
    for raw in (b"", b"a", b"ab", b"abc", b"abcd", bytes(range(256)) * 3):
        assert base64_size(_b64(raw)) == len(raw)


async def _session(services: Services) -> Session:
    org = await Organization.get(is_default=True)
    return await Session.create(org_id=org.id, username="alice", asset_name="win01", account_username="ops",
                                protocol="rdp", status="live", started_at=services.clock.now())


async def _rows(session: Session) -> set[tuple[str, str, int, str]]:
    return {(t.direction, t.path, t.size, t.status) for t in await FileTransfer.filter(session_id=session.id)}


async def test_uploads_count_what_passed_and_guacd_refusals_fail_them(services: Services) -> None:
    session = await _session(services)
    transfers = Transfers(services, session)
    await transfers.from_browser(["put", "0", "0", "text/plain", "/ok.txt"])  # stream 0 is a real index
    await transfers.from_browser(["blob", "0", _b64(b"x" * 1000)])
    await transfers.from_browser(["blob", "0", _b64(b"y" * 24)])
    await transfers.from_browser(["end", "0"])
    await transfers.from_browser(["file", "1", "text/plain", "denied.txt"])
    await transfers.from_browser(["blob", "1", _b64(b"z" * 10)])
    await transfers.from_guacd(encode("ack", "1", "File uploads are disabled", "771").encode())
    await transfers.from_browser(["blob", "1", _b64(b"z" * 10)])  # after the refusal: not counted
    assert await _rows(session) == {("upload", "/ok.txt", 1024, "done"), ("upload", "/denied.txt", 10, "failed")}
    audits = await OperationLog.filter(action="file_upload", resource_id=str(session.id)).values_list("changes",
                                                                                                        flat=True)
    assert sorted((a["path"], a["status"]) for a in audits) == [  # type: ignore[index]
        ("/denied.txt", "failed"), ("/ok.txt", "done")]
    assert any(a.get("error") == "File uploads are disabled" for a in audits)  # type: ignore[union-attr]


async def test_downloads_skip_listings_and_end_as_done_aborted_or_interrupted(services: Services) -> None:
    session = await _session(services)
    transfers = Transfers(services, session)
    listing = encode("body", "0", "4", LISTING, "/") + encode("blob", "4", _b64(b"{}")) + encode("end", "4")
    await transfers.from_guacd(listing.encode())
    done = (encode("body", "0", "5", "application/octet-stream", "/a.bin") + encode("blob", "5", _b64(b"a" * 300))
            + encode("sync", "123") + encode("blob", "5", _b64(b"a" * 12)) + encode("end", "5"))
    await transfers.from_guacd(done.encode())
    await transfers.from_guacd(encode("body", "0", "6", "text/plain", "/aborted.txt").encode())
    await transfers.from_guacd(encode("blob", "6", _b64(b"b" * 7)).encode())
    await transfers.from_browser(["ack", "6", "Cancelled", "522"])
    await transfers.from_guacd(encode("file", "7", "text/plain", "pushed.txt").encode())  # the Download folder
    await transfers.from_guacd(encode("blob", "7", _b64(b"c" * 5)).encode())
    await transfers.from_guacd((encode("body", "0", "5", "text/plain", "/reused.txt")).encode())
    await transfers.from_guacd((encode("body", "0", "5", "text/plain", "/again.txt")).encode())  # 5 never ended
    await transfers.close()  # the session ended
    assert await _rows(session) == {
        ("download", "/a.bin", 312, "done"), ("download", "/aborted.txt", 7, "failed"),
        ("download", "/Download/pushed.txt", 5, "failed"), ("download", "/reused.txt", 0, "failed"),
        ("download", "/again.txt", 0, "failed")}
    assert all(t.ended_at is not None for t in await FileTransfer.filter(session_id=session.id))


async def test_a_refused_transfer_is_a_row_of_its_own(services: Services) -> None:
    session = await _session(services)
    transfers = Transfers(services, session)
    await transfers.refused(["put", "0", "3", "text/plain", "/payload.exe"])
    await transfers.refused(["file", "3", "text/plain", "dropped.exe"])
    await transfers.refused(["get", "0", "/secret.xlsx"])
    await transfers.refused(["key", "65", "1"])  # not a transfer
    await transfers.refused(["put", "0"])  # malformed: nothing to record
    assert await _rows(session) == {("upload", "/payload.exe", 0, "refused"), ("upload", "/dropped.exe", 0, "refused"),
                                    ("download", "/secret.xlsx", 0, "refused")}


async def test_input_is_held_in_order_until_an_image_on_layer_0() -> None:
    hold = InputHold(hold_for=5)
    sent: list[bytes] = []

    async def write(data: bytes) -> None:
        sent.append(data)

    runner = asyncio.create_task(hold.run(write))
    assert hold.hold("key", b"k1") and hold.hold("mouse", b"m1") and hold.hold("key", b"k2")
    assert not hold.hold("sync", b"s") and not hold.hold("size", b"z")  # flow control and resizes pass
    hold.watch(encode("img", "3", "12", "-1", "image/png", "0", "0").encode())  # the cursor layer: not yet
    await asyncio.sleep(0.05)
    assert sent == [] and not runner.done()
    hold.watch((encode("sync", "1") + encode("img", "4", "14", "0", "image/png", "0", "0")).encode())
    await asyncio.wait_for(runner, 1)
    assert sent == [b"k1m1k2"] and not hold.holding and not hold.hold("key", b"k3")


async def test_a_desktop_that_never_draws_gets_its_input_after_the_deadline() -> None:
    hold = InputHold(hold_for=0.2)
    sent: list[bytes] = []

    async def write(data: bytes) -> None:
        sent.append(data)

    hold.hold("key", b"k1")
    await asyncio.wait_for(hold.run(write), 2)
    assert sent == [b"k1"] and not hold.holding


async def test_a_crash_leaves_no_drive_and_no_transfer_running(services: Services) -> None:
    session = await _session(services)
    await Session.filter(id=session.id).update(node_name=services.settings.node_name)
    folder = drive_dir(services.settings.data_dir, session.id)
    folder.mkdir(parents=True)
    (folder / "half.bin").write_bytes(b"x" * 10)
    transfers = Transfers(services, session)
    await transfers.from_browser(["file", "1", "text/plain", "half.bin"])
    await transfers.from_browser(["blob", "1", _b64(b"x" * 10)])
    # the process dies here; the next start closes the row
    assert await close_stale_sessions(services) == 1
    assert not folder.exists()
    assert await _rows(session) == {("upload", "/half.bin", 0, "failed")}  # what passed was never counted in


async def _racy_guacd(offers: list[bool]) -> tuple[asyncio.Server, int, list[str]]:
    """A guacd that, per connection, offers the drive or not (guacd 1.3.0's owner race), then draws."""
    from webgate.protocols.guacamole.instruction import Parser

    drives: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        offer = offers.pop(0) if offers else True
        parser = Parser(max_chars=1 << 16)
        while data := await reader.read(4096):
            for instruction in parser.feed_bytes(data):
                if instruction[0] == "select":
                    writer.write(encode("args", "VERSION_1_3_0", "hostname", "drive-path").encode())
                elif instruction[0] == "connect":
                    drives.append(instruction[3])  # connect VERSION hostname DRIVE-PATH
                    out = encode("ready", "$c") + (encode("filesystem", "0", "Shared Drive") if offer else "")
                    writer.write((out + encode("size", "0", "800", "600")).encode())
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], drives


async def _handshake(port: int, params: dict[str, str]) -> Any:
    from types import SimpleNamespace

    from webgate.protocols.guacamole.handshake import Display
    from webgate.protocols.guacamole.target import DesktopPlan
    from webgate.sessions.graphical import GraphicalSession

    me = SimpleNamespace(id="s1", services=SimpleNamespace(settings=SimpleNamespace(guacd=(("127.0.0.1", port),))))
    plan = DesktopPlan("rdp", dict(params))
    return await GraphicalSession._handshake(me, plan, Display())  # type: ignore[arg-type]


async def test_a_connection_guacd_did_not_offer_the_drive_on_is_replaced() -> None:
    server, port, drives = await _racy_guacd([False, False, True])
    async with server:
        connected = await _handshake(port, {"enable-drive": "true", "drive-path": "/d"})
        assert b"10.filesystem," in connected.pending and len(drives) == 3 == drives.count("/d")
        connected.writer.close()


async def test_the_race_is_run_three_times_at_most_and_only_for_a_drive() -> None:
    server, port, drives = await _racy_guacd([False] * 5)
    async with server:
        connected = await _handshake(port, {"enable-drive": "true"})
        assert len(drives) == 3 and b"10.filesystem," not in connected.pending  # the session goes on without
        connected.writer.close()
        connected = await _handshake(port, {"hostname": "h"})
        assert len(drives) == 4
        connected.writer.close()
