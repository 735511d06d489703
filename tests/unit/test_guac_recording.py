"""Desktop recordings: what the relay passed on, stored whole, on every kind of end.

An auditor's player needs the same instructions the browser got, in order, with the
person's keys and pointer stamped like guacd stamps them; a crash of the gateway must cost
at most the last second and never leave half an instruction in the stored file.
"""

from __future__ import annotations

import gzip
import hashlib
import uuid
from pathlib import Path

import pytest

from webgate.protocols.guacamole.instruction import Parser, encode
from webgate.recording.guac import WRITE_AT, GuacRecorder, collect_spool, guac_recording_key
from webgate.recording.storage import LocalStorage, Storage


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return LocalStorage(tmp_path / "recordings")


def _parse(text: str) -> list[list[str]]:
    parser = Parser(max_chars=1 << 24, max_elements=4096)
    instructions = parser.feed(text)
    assert parser.pending == 0, "the stored recording ends with a whole instruction"
    return instructions


async def _stored(storage: Storage, key: str) -> str:
    return gzip.decompress(await storage.get_bytes(key)).decode()


async def test_the_recording_is_the_relayed_stream_with_keys_and_pointer_stamped(
        tmp_path: Path, storage: Storage) -> None:
    sid = uuid.uuid4()
    rec = GuacRecorder(session_id=sid, spool_dir=tmp_path / "spool", storage=storage, wall_ms=lambda: 1700000000123)
    frame = (encode("size", "0", "800", "600") + encode("name", "a;b,1.x;") + encode("sync", "42")).encode()
    rec.output(frame)
    rec.input(encode("key", "65", "1").encode())
    rec.input(encode("mouse", "10", "20", "1").encode())
    rec.input(encode("clipboard", "0", "text/plain").encode())  # not an input a player shows
    rec.input(encode("size", "1024", "768").encode())
    rec.output(encode("sync", "43").encode())
    finished = await rec.finalize()
    assert finished is not None and finished.key == guac_recording_key(sid)
    packed = await storage.get_bytes(finished.key)
    assert hashlib.sha256(packed).hexdigest() == finished.sha256 and finished.size == len(packed)
    assert _parse(gzip.decompress(packed).decode()) == [
        ["size", "0", "800", "600"], ["name", "a;b,1.x;"], ["sync", "42"],
        ["key", "65", "1", "1700000000123"], ["mouse", "10", "20", "1", "1700000000123"], ["sync", "43"]]
    assert not list((tmp_path / "spool").iterdir()), "the spool is gone once stored"
    assert await rec.finalize() is None, "a second finalize does nothing"


async def test_a_session_that_showed_nothing_stores_nothing(tmp_path: Path, storage: Storage) -> None:
    rec = GuacRecorder(session_id=uuid.uuid4(), spool_dir=tmp_path / "spool", storage=storage)
    assert await rec.finalize() is None
    assert not list((tmp_path / "spool").iterdir())


def test_pending_output_is_written_at_the_tick_or_when_large(tmp_path: Path, storage: Storage) -> None:
    sid = uuid.uuid4()
    rec = GuacRecorder(session_id=sid, spool_dir=tmp_path, storage=storage)
    spool = tmp_path / f"{sid}.guac"
    small = encode("sync", "1").encode()
    rec.output(small)
    assert spool.read_bytes() == b"", "small batches wait for the tick"
    rec.flush()  # the session's one-second tick
    assert spool.read_bytes() == small
    big = encode("blob", "1", "A" * WRITE_AT).encode()
    rec.output(big)
    assert spool.read_bytes() == small + big, "a large batch is written at once"


async def test_a_crashed_gateways_spool_is_stored_up_to_its_last_whole_instruction(
        tmp_path: Path, storage: Storage) -> None:
    sid = uuid.uuid4()
    whole = encode("size", "0", "800", "600") + encode("name", "x;4.sync,1.9;") + encode("sync", "7")
    (tmp_path / f"{sid}.guac").write_text(whole + "4.blob,1.1,10.AAA")  # cut mid-instruction by the crash
    finished = await collect_spool(sid, tmp_path, storage)
    assert finished is not None
    assert await _stored(storage, finished.key) == whole
    assert not (tmp_path / f"{sid}.guac").exists()
    assert await collect_spool(uuid.uuid4(), tmp_path, storage) is None, "no spool, no recording"


async def test_a_spool_with_no_whole_instruction_stores_nothing(tmp_path: Path, storage: Storage) -> None:
    sid = uuid.uuid4()
    (tmp_path / f"{sid}.guac").write_text("4.si")
    assert await collect_spool(sid, tmp_path, storage) is None
    assert not (tmp_path / f"{sid}.guac").exists()


def test_a_full_disk_is_an_error_the_session_sees(tmp_path: Path, storage: Storage) -> None:
    sid = uuid.uuid4()
    (tmp_path / f"{sid}.guac").symlink_to("/dev/full")  # every write: ENOSPC
    rec = GuacRecorder(session_id=sid, spool_dir=tmp_path, storage=storage)
    rec.output(encode("sync", "1").encode())
    with pytest.raises(OSError):
        rec.flush()  # raised into the relay's tap: the session ends as recording_failed
