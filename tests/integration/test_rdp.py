"""RDP remote desktops through /ws/guacamole: real guacd 1.3.0, real xrdp (xorgxrdp) with an xterm desktop.

A Guacamole client drives the gateway's WebSocket as guacamole-common-js does. xrdp has no
NLA server, so ``security=nla`` is only unit-tested (tests/unit/test_rdp_params.py); ``any``
and ``tls`` are exercised here, as are the permission-driven clipboard and drive — from the
browser's side and from the Linux desktop's, where chansrv mounts the drive with FUSE (commands
typed into the xterm read and write it).
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.terminal_client import grant, make_account, user_and_cookie
from tests.peers.desktop import GuacClient
from tests.peers.desktop import ended_row as _ended_row
from tests.peers.sshd import free_port
from tests.peers.xrdp import RdpPeer, need_fuse
from webgate.db.models import Asset, FileTransfer, OperationLog, Organization, Session
from webgate.protocols.guacamole.instruction import Parser, encode
from webgate.protocols.rdp import drive_dir
from webgate.services import Services
from webgate.settings import Settings

pytestmark = pytest.mark.slow

RETURN, SHIFT, INSERT = 0xFF0D, 0xFFE1, 0xFF63


@pytest.fixture
def settings(settings: Settings, guacd_port: int) -> Settings:  # noqa: F811 - the fixture, specialised
    return settings.with_(guacd=(("127.0.0.1", guacd_port),))


async def _open(services: Services, gateway: str, port: int, *, password: str, username: str = "wgrdp",
                actions: tuple[str, ...] = ("connect",), extra: dict[str, Any] | None = None,
                size: tuple[int, int] = (800, 600)) -> GuacClient:
    cookie, query = await _setup(services, gateway, port, password=password, username=username, actions=actions,
                                 extra=extra, size=size)
    return await GuacClient.connect(gateway, cookie, query)


async def _setup(services: Services, gateway: str, port: int, *, password: str, username: str = "wgrdp",
                 actions: tuple[str, ...] = ("connect",), extra: dict[str, Any] | None = None,
                 size: tuple[int, int] = (800, 600)) -> tuple[str, str]:
    """A user allowed ``actions`` on an RDP asset; returns (cookie, tunnel query)."""
    user, cookie = await user_and_cookie(services, gateway)
    org = await Organization.get(is_default=True)
    asset = await Asset.create(org=org, name="win01", address="127.0.0.1", platform="windows",
                               protocols=[{"name": "rdp", "port": port}],
                               extra={"rdp_ignore_cert": True} if extra is None else extra)  # xrdp's is self-signed
    await make_account(services, asset, "rdpacct", username, secret=password)
    perm = await grant(user, asset, ["rdpacct"], actions)
    perm.protocols = ["rdp"]
    await perm.save()
    return cookie, f"asset={asset.id}&account=rdpacct&protocol=rdp&width={size[0]}&height={size[1]}&dpi=96"


async def _open_drive(services: Services, gateway: str, port: int, *, password: str,
                      actions: tuple[str, ...]) -> tuple[GuacClient, str, uuid.UUID]:
    """A desktop with the shared drive: (client, drive object, session id). guacd 1.3.0 loses a
    race to offer the drive about once in eight connections; the gateway then connects again
    before the browser sees anything, so here it must always come."""
    cookie, query = await _setup(services, gateway, port, password=password, actions=actions)
    client = await GuacClient.connect(gateway, cookie, query)
    session = uuid.UUID(json.loads((await client.until("webgate"))[2])["session_id"])
    return client, (await client.until("filesystem"))[1], session


async def _ended(session_id: uuid.UUID) -> Session:
    for _ in range(150):
        row = await Session.get(id=session_id)
        if row.status == "ended":
            return row
        await asyncio.sleep(0.1)
    raise AssertionError("the session row was not finalised")


async def keepalive(client: GuacClient) -> None:
    """``nop`` every second, as guacamole-common-js sends one every 5 s: guacd notices that the RDP
    side has gone only when its browser says something."""
    while True:
        await asyncio.sleep(1)
        await client.send(encode("nop"))


def _on_layer0(instruction: list[str]) -> bool:
    return instruction[3] == "0"  # img stream mask LAYER mimetype x y


async def first_frame(client: GuacClient) -> None:
    """The desktop's first image on the default layer (xrdp draws it ~1.5 s after ``ready``)."""
    await client.until("img", timeout=20, where=_on_layer0)


def keys(text: str) -> str:
    """Key presses and releases for plain ASCII text (keysym = code point), then Return."""
    out = [encode("key", str(ord(ch)), pressed) for ch in text for pressed in ("1", "0")]
    return "".join(out) + encode("key", str(RETURN), "1") + encode("key", str(RETURN), "0")


async def appears(path: Path, within: float = 10) -> bool:
    for _ in range(int(within / 0.1)):
        if await asyncio.to_thread(path.exists):
            return True
        await asyncio.sleep(0.1)
    return False


async def test_desktop_draws_and_the_recording_is_complete(services: Services, gateway: str, xrdp: RdpPeer) -> None:
    client = await _open(services, gateway, xrdp.port, password=xrdp.password)
    await first_frame(client)
    assert client.messages[0].startswith("0.,36.") and "ready" not in client.opcodes()
    assert ["size", "0", "800", "600"] in client.instructions
    await client.send(encode("mouse", "100", "100", "0") + encode("key", "97", "1") + encode("key", "97", "0"))
    await client.until("sync")
    await client.ws.close()
    row = await _ended_row()
    assert row.protocol == "rdp" and row.end_reason == "client_closed" and row.account_username == "wgrdp"
    assert row.bytes_out > 0 and row.bytes_in > 0
    packed = await services.storage.get_bytes(row.recording_key)
    assert hashlib.sha256(packed).hexdigest() == row.recording_sha256
    text = gzip.decompress(packed).decode()
    parser = Parser(max_chars=1 << 22, max_elements=4096)
    recorded = parser.feed(text)
    assert parser.pending == 0 and text.endswith(";"), "the recording ends in a complete instruction"
    assert any(i[0] == "img" and i[3] == "0" for i in recorded) and "key" in {i[0] for i in recorded}
    assert not (services.settings.data_dir / "spool" / "guacamole" / f"{row.id}.guac").exists(), "the spool is gone"


async def test_tls_with_ignore_cert_works(services: Services, gateway: str, xrdp: RdpPeer) -> None:
    client = await _open(services, gateway, xrdp.port, password=xrdp.password,
                         extra={"rdp_security": "tls", "rdp_ignore_cert": True})
    await first_frame(client)
    await client.ws.close()
    assert (await _ended_row()).end_reason == "client_closed"


async def test_an_untrusted_certificate_is_reported_in_words(services: Services, gateway: str,
                                                            xrdp: RdpPeer) -> None:
    client = await _open(services, gateway, xrdp.port, password=xrdp.password, extra={})
    error = await client.until("error", timeout=20)
    assert "certificate is not trusted" in error[1] and "rdp_ignore_cert" in error[1]
    assert (await _ended_row()).end_reason == "certificate_untrusted"


async def test_security_rdp_is_refused_by_xrdp_in_words(services: Services, gateway: str, xrdp: RdpPeer) -> None:
    client = await _open(services, gateway, xrdp.port, password=xrdp.password, extra={"rdp_security": "rdp"})
    error = await client.until("error", timeout=20)
    assert error[2] == "515" and "reported an error" in error[1]
    assert (await _ended_row()).status == "ended"


async def test_a_wrong_password_is_reported_in_words(services: Services, gateway: str, xrdp: RdpPeer) -> None:
    client = await _open(services, gateway, xrdp.port, password="not-" + xrdp.password)
    alive = asyncio.create_task(keepalive(client))
    try:
        error = await client.until("error", timeout=20)
    finally:
        alive.cancel()
    assert "wrong password" in error[1] and error[2] == "769"
    assert (await _ended_row()).end_reason == "login_failed"


async def test_an_unreachable_host_is_reported_in_words(services: Services, gateway: str, xrdp: RdpPeer) -> None:
    client = await _open(services, gateway, free_port(), password=xrdp.password)
    error = await client.until("error", timeout=20)
    assert error[2] == "519" and "could not be reached" in error[1]
    assert (await _ended_row()).status == "ended"


async def test_a_browser_resize_redraws_the_desktop_at_the_new_size(services: Services, gateway: str,
                                                                   xrdp: RdpPeer) -> None:
    client = await _open(services, gateway, xrdp.port, password=xrdp.password)
    await first_frame(client)
    await client.send(encode("size", "1024", "700"))
    await client.until("size", timeout=15, args=["0", "1024", "700"])
    await client.ws.close()
    await _ended_row()


async def test_paste_without_permission_closes_the_session(services: Services, gateway: str,
                                                           xrdp: RdpPeer) -> None:
    client = await _open(services, gateway, xrdp.port, password=xrdp.password, actions=("connect", "copy"))
    await first_frame(client)
    await client.send(encode("clipboard", "1", "text/plain"))
    error = await client.until("error")
    assert error[2] == "768"
    assert (await _ended_row()).end_reason == "protocol_error"
    assert await OperationLog.filter(action="input_refused").exists()


async def test_paste_and_copy_pass_when_permitted(services: Services, gateway: str, xrdp: RdpPeer) -> None:
    client = await _open(services, gateway, xrdp.port, password=xrdp.password,
                         actions=("connect", "copy", "paste"))
    await first_frame(client)
    name = f"pasted-{uuid.uuid4().hex[:8]}"
    text = base64.b64encode(f"touch {name}".encode()).decode()
    await client.send(encode("clipboard", "1", "text/plain") + encode("blob", "1", text) + encode("end", "1"))
    await asyncio.sleep(0.5)  # xrdp's clipboard channel announces the new text to X first
    shift_insert = [encode("key", str(SHIFT), "1"), encode("key", str(INSERT), "1"),
                    encode("key", str(INSERT), "0"), encode("key", str(SHIFT), "0")]
    await client.send("".join(shift_insert))
    await asyncio.sleep(1.0)  # X asks xrdp, xrdp asks guacd for the text: the paste is asynchronous
    await client.send(keys(""))
    assert await appears(xrdp.home / name), "the browser's clipboard text was pasted into the xterm"
    # copy: a double-click on the first word selects it, xterm puts it on the clipboard, the browser gets it
    for buttons in ("1", "0", "1", "0"):
        await client.send(encode("mouse", "30", "8", buttons))
    stream = await client.until("clipboard", timeout=10)
    assert stream[2] == "text/plain"
    await client.ws.close()
    await _ended_row()


async def test_copy_is_withheld_without_permission(services: Services, gateway: str, xrdp: RdpPeer) -> None:
    client = await _open(services, gateway, xrdp.port, password=xrdp.password, actions=("connect",))
    await first_frame(client)
    before = max(int(i[1]) for i in client.instructions if i[0] == "sync")
    for buttons in ("1", "0", "1", "0"):
        await client.send(encode("mouse", "30", "8", buttons))
    await client.until("sync", where=lambda i: int(i[1]) > before + 2500)  # guacd's clock: 2.5 s later
    assert "clipboard" not in client.opcodes()
    await client.ws.close()
    row = await _ended_row()
    assert row.end_reason == "client_closed" and await Session.all().count() == 1


async def test_keys_typed_right_after_connecting_are_not_lost(services: Services, gateway: str,
                                                              xrdp: RdpPeer) -> None:
    """guacd drops input that reaches it before xrdp's first frame (~1.5 s after ready): the
    gateway holds it until guacd has drawn on layer 0, so a user who types at once loses nothing."""
    name = f"early-{uuid.uuid4().hex[:8]}"
    client = await _open(services, gateway, xrdp.port, password=xrdp.password)
    await client.send(keys(f"touch {name}"))  # sent before the session even opened
    assert await appears(xrdp.home / name, within=15), "the early keys reached the xterm"
    assert not any(i[0] == "img" and i[3] == "0" for i in client.instructions[:3])
    await client.ws.close()
    await _ended_row()


def _after(client: GuacClient, start: int, opcode: str, stream: str) -> list[list[str]]:
    return [i for i in client.instructions[start:] if i[0] == opcode and i[1] == stream]


async def _upload(client: GuacClient, opening: str, stream: str, payload: bytes) -> None:
    chunks = [base64.b64encode(payload[at:at + 6000]).decode() for at in range(0, len(payload), 6000)]
    await client.send(opening + "".join(encode("blob", stream, c) for c in chunks) + encode("end", stream))
    await client.until("ack", args=[stream, "OK (STREAM END)", "0"])


async def _download(client: GuacClient, drive: str, path: str) -> bytes:
    """``get`` a file of the drive as guacamole-common-js does: guacd answers with a ``body``
    stream, and the browser acks each blob before guacd sends the next."""
    start = len(client.instructions)
    await client.send(encode("get", drive, path))
    return await _receive(client, start, (await client.until("body", where=lambda i: i[4] == path))[2])


async def _receive(client: GuacClient, start: int, stream: str) -> bytes:
    """The bytes of a guacd stream, acking each blob so guacd sends the next."""
    for _ in range(400):
        if _after(client, start, "end", stream):
            break
        seen = len(client.instructions)
        await client.send(encode("ack", stream, "OK", "0"))
        await client.until("sync", where=lambda i, seen=seen: client.instructions.index(i) >= seen)
    return b"".join(base64.b64decode(i[2]) for i in _after(client, start, "blob", stream))


async def _listing(client: GuacClient, drive: str) -> dict[str, str]:
    """The drive's root as the browser's file panel sees it: {path: mimetype} (guacd's stream index)."""
    return json.loads(await _download(client, drive, "/"))


async def test_uploads_land_in_the_drive_and_each_is_a_row(services: Services, gateway: str,
                                                           xrdp: RdpPeer) -> None:
    """A file put into the drive, and one dropped on the desktop (``file``: guacd writes it to the root)."""
    client, drive, session_id = await _open_drive(services, gateway, xrdp.port, password=xrdp.password,
                                                  actions=("connect", "upload"))
    session = await Session.get(id=session_id)
    folder = drive_dir(services.settings.data_dir, session.id)
    report, note = b"quarterly numbers\n" * 700, b"dropped on the desktop"
    await _upload(client, encode("put", drive, "5", "text/plain", "/report.txt"), "5", report)
    await _upload(client, encode("file", "6", "text/plain", "note.txt"), "6", note)
    assert (folder / "report.txt").read_bytes() == report and (folder / "note.txt").read_bytes() == note
    rows = {(t.direction, t.path, t.size, t.status) for t in await FileTransfer.filter(session_id=session.id)}
    assert rows == {("upload", "/report.txt", len(report), "done"), ("upload", "/note.txt", len(note), "done")}
    audits = await OperationLog.filter(action="file_upload", resource_id=str(session.id)).values_list("changes",
                                                                                                        flat=True)
    assert sorted(a["path"] for a in audits) == ["/note.txt", "/report.txt"]  # type: ignore[index]
    # Download is not granted: a `get` on the drive is refused, recorded, and ends the session.
    await client.send(encode("get", drive, "/report.txt"))
    assert (await client.until("error"))[2] == "768"
    assert (await _ended(session.id)).end_reason == "protocol_error"
    refused = await FileTransfer.get(session_id=session.id, direction="download")
    assert (refused.path, refused.status, refused.size) == ("/report.txt", "refused", 0)
    assert not folder.exists(), "the drive spool is removed when the session ends"


async def test_a_file_put_in_a_folder_comes_back_as_a_download(services: Services, gateway: str,
                                                               xrdp: RdpPeer) -> None:
    client, drive, session_id = await _open_drive(services, gateway, xrdp.port, password=xrdp.password,
                                                  actions=("connect", "upload", "download"))
    session = await Session.get(id=session_id)
    content = bytes(range(256)) * 90
    await _upload(client, encode("put", drive, "5", "application/octet-stream", "/ledger.bin"), "5", content)
    assert (drive_dir(services.settings.data_dir, session.id) / "ledger.bin").read_bytes() == content
    assert "/ledger.bin" in await _listing(client, drive)  # a directory listing is no transfer
    assert await _download(client, drive, "/ledger.bin") == content
    await client.ws.close()
    await _ended(session.id)
    rows = {(t.direction, t.path, t.size, t.status) for t in await FileTransfer.filter(session_id=session.id)}
    assert rows == {("upload", "/ledger.bin", len(content), "done"), ("download", "/ledger.bin", len(content), "done")}
    assert await OperationLog.filter(action="file_download", resource_id=str(session.id)).count() == 1


async def test_an_upload_without_permission_is_refused_and_recorded(services: Services, gateway: str,
                                                                    xrdp: RdpPeer) -> None:
    client, drive, session_id = await _open_drive(services, gateway, xrdp.port, password=xrdp.password,
                                                  actions=("connect", "download"))
    await client.send(encode("put", drive, "5", "text/plain", "/payload.exe"))
    error = await client.until("error")
    assert error[2] == "768"
    session = await _ended(session_id)
    assert session.end_reason == "protocol_error"
    refused = await FileTransfer.get(session_id=session.id)
    assert (refused.direction, refused.path, refused.status) == ("upload", "/payload.exe", "refused")
    assert await OperationLog.filter(action="input_refused", resource_id=str(session.id)).exists()
    assert not list(drive_dir(services.settings.data_dir, session.id).parent.glob("*/payload.exe"))


async def test_an_initial_program_runs_instead_of_the_desktop(services: Services, gateway: str,
                                                              xrdp: RdpPeer) -> None:
    """xrdp starts the user's startwm.sh (an xterm with -xrm options) unless the client names a
    program: then it runs that alone, with no arguments."""
    client = await _open(services, gateway, xrdp.port, password=xrdp.password,
                         extra={"rdp_ignore_cert": True, "rdp_initial_program": "/usr/bin/xterm"})
    await first_frame(client)
    shown = ""
    for _ in range(50):
        shown = (await asyncio.to_thread(subprocess.run, ["pgrep", "-a", "-u", xrdp.user, "xterm"],
                                         capture_output=True, text=True)).stdout
        if shown:
            break
        await asyncio.sleep(0.1)
    assert shown.split(maxsplit=1)[1].strip() == "/usr/bin/xterm", shown
    await client.ws.close()
    await _ended_row()


# -- the drive inside the Linux desktop (chansrv's FUSE mount, ~/thinclient_drives/GUACFS) ----

GUACFS = "GUACFS"  # the DOS name guacd 1.3.0 gives the drive: chansrv's folder for it


async def on_the_desktop(client: GuacClient, peer: RdpPeer, command: str, within: float = 20) -> str:
    """Type ``command`` into the desktop's xterm, as the person would, with its output (and
    errors) going to a file in the home directory that appears only once the command is done."""
    name = f"typed-{uuid.uuid4().hex[:8]}"
    await client.send(keys(f"({command}) > ~/.{name} 2>&1; mv ~/.{name} ~/{name}"))
    assert await appears(peer.home / name, within=within), f"the xterm ran: {command}"
    return (peer.home / name).read_text()


def _wait_for(path: str) -> str:
    """Shell: wait up to 10 s for ``path`` (chansrv mounts the drive ~0.1 s after the first image)."""
    return f"for i in $(seq 50); do [ -e {path} ] && break; sleep 0.2; done"


async def test_an_uploaded_file_is_in_the_desktops_drive(services: Services, gateway: str, xrdp: RdpPeer) -> None:
    need_fuse()
    client, drive, session_id = await _open_drive(services, gateway, xrdp.port, password=xrdp.password,
                                                  actions=("connect", "upload"))
    report = bytes(range(256)) * 40 + "报表 quarterly\n".encode()
    await _upload(client, encode("put", drive, "5", "application/octet-stream", "/report.bin"), "5", report)
    await first_frame(client)
    mounted = xrdp.drives.relative_to(xrdp.home)
    listed = await on_the_desktop(client, xrdp, f"{_wait_for(f'~/{mounted}/{GUACFS}/report.bin')}; "
                                                f"ls ~/{mounted}/{GUACFS}; cp ~/{mounted}/{GUACFS}/report.bin ~/seen.bin")
    assert listed.split() == ["report.bin"]  # and no "Download" folder: guacd makes it only with download
    assert (xrdp.home / "seen.bin").read_bytes() == report, "the desktop user reads what the browser uploaded"
    (xrdp.home / "seen.bin").unlink()
    assert "Detected remote drive 'GUACFS'" in xrdp.chansrv_log()
    # download is not granted: a file the user saves in a Download folder of their own stays there
    saved = await on_the_desktop(client, xrdp, f"mkdir ~/{mounted}/{GUACFS}/Download && "
                                               f"seq 1 99 > ~/{mounted}/{GUACFS}/Download/out.txt && echo saved")
    assert saved == "saved\n", saved
    with pytest.raises(AssertionError, match="no file"):
        await client.until("file", timeout=3)  # with download, guacd sends it within milliseconds
    await client.ws.close()
    await _ended(session_id)
    rows = [(t.direction, t.path, t.status) for t in await FileTransfer.filter(session_id=session_id)]
    assert rows == [("upload", "/report.bin", "done")]


async def test_a_file_written_on_the_desktop_downloads_byte_for_byte(services: Services, gateway: str,
                                                                     xrdp: RdpPeer) -> None:
    need_fuse()
    client, drive, session_id = await _open_drive(services, gateway, xrdp.port, password=xrdp.password,
                                                  actions=("connect", "download"))
    await first_frame(client)
    content = os.urandom(150_000)  # every byte value, many blobs
    source = xrdp.home / f"src-{uuid.uuid4().hex[:8]}.bin"
    source.write_bytes(content)
    try:
        mounted = f"~/{xrdp.drives.relative_to(xrdp.home)}/{GUACFS}"
        done = await on_the_desktop(client, xrdp, f"{_wait_for(mounted)}; cp ~/{source.name} {mounted}/made.bin "
                                                  f"&& cmp ~/{source.name} {mounted}/made.bin && echo copied")
    finally:
        source.unlink()
    assert done == "copied\n", done
    assert (await _listing(client, drive)).get("/made.bin") == "application/octet-stream"
    assert await _download(client, drive, "/made.bin") == content
    await client.ws.close()
    await _ended(session_id)
    rows = [(t.direction, t.path, t.size, t.status) for t in await FileTransfer.filter(session_id=session_id)]
    assert rows == [("download", "/made.bin", len(content), "done")]
    audit = await OperationLog.get(action="file_download", resource_id=str(session_id))
    assert audit.changes == {"path": "/made.bin", "size": len(content), "status": "done"}


async def test_without_upload_or_download_the_desktop_has_no_drive(services: Services, gateway: str,
                                                                   xrdp: RdpPeer) -> None:
    need_fuse()
    client = await _open(services, gateway, xrdp.port, password=xrdp.password, actions=("connect", "copy", "paste"))
    await first_frame(client)
    mounted = f"~/{xrdp.drives.relative_to(xrdp.home)}"
    # chansrv mounts its folder for the clipboard's files anyway: wait for it, then give a drive time to come
    listed = await on_the_desktop(client, xrdp, f"{_wait_for(mounted + '/.clipboard')}; sleep 2; ls -A {mounted}")
    assert listed.split() == [".clipboard"], listed
    assert "filesystem" not in client.opcodes() and "Detected remote drive" not in xrdp.chansrv_log()
    await client.ws.close()
    row = await _ended_row()
    assert not await FileTransfer.filter(session_id=row.id).exists()


async def test_a_file_saved_in_the_download_folder_goes_to_the_browser(services: Services, gateway: str,
                                                                       xrdp: RdpPeer) -> None:
    """guacd watches the drive's ``Download`` folder: a file closed there is sent to the browser
    at once (a ``file`` stream, saved by the browser) and removed from the drive."""
    need_fuse()
    client, _, session_id = await _open_drive(services, gateway, xrdp.port, password=xrdp.password,
                                              actions=("connect", "download"))
    await first_frame(client)
    root = f"~/{xrdp.drives.relative_to(xrdp.home)}/{GUACFS}"
    start = len(client.instructions)
    # guacd makes the Download folder when the drive's root is first opened (as a file manager does)
    await on_the_desktop(client, xrdp, f"{_wait_for(root)}; ls {root} > /dev/null; "
                                       f"seq 1 20000 > {root}/Download/numbers.txt")
    stream = await client.until("file", timeout=20)
    assert stream[2:] == ["application/octet-stream", "numbers.txt"]
    content = "".join(f"{n}\n" for n in range(1, 20001)).encode()
    assert await _receive(client, start, stream[1]) == content
    drive_folder = drive_dir(services.settings.data_dir, session_id) / "Download"
    assert not (drive_folder / "numbers.txt").exists(), "guacd removes a file once it is sent"
    await client.ws.close()
    await _ended(session_id)
    rows = [(t.direction, t.path, t.size, t.status) for t in await FileTransfer.filter(session_id=session_id)]
    assert rows == [("download", "/Download/numbers.txt", len(content), "done")]
