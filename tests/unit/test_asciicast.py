"""asciicast v2 recorder: what an auditor gets back from storage after a session."""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from pathlib import Path

from webgate.clock import FakeClock
from webgate.recording.asciicast import WRITE_AT, AsciicastRecorder, NullRecorder, collect_spool, recording_key
from webgate.recording.storage import LocalStorage


def _recorder(tmp_path: Path, clock: FakeClock, **kw: object) -> tuple[AsciicastRecorder, LocalStorage, uuid.UUID]:
    storage = LocalStorage(tmp_path / "store")
    sid = uuid.uuid4()
    rec = AsciicastRecorder(session_id=sid, spool_dir=tmp_path / "spool", storage=storage, cols=80, rows=24,
                            started_at=clock.time(), monotonic=clock.monotonic, title="web01", **kw)  # type: ignore[arg-type]
    return rec, storage, sid


def _events(raw: bytes) -> tuple[dict, list[list]]:
    lines = gzip.decompress(raw).decode("utf-8").splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


async def test_recording_is_gzipped_asciicast_v2_with_hash(tmp_path: Path) -> None:
    clock = FakeClock()
    rec, storage, sid = _recorder(tmp_path, clock)
    rec.output(b"$ ls\r\n")
    clock.advance(1.5)
    rec.resize(120, 40)
    rec.output(b"a  b\r\n")
    done = await rec.finalize()
    assert done is not None and done.key == recording_key(sid) and str(sid) in done.key
    raw = await storage.get_bytes(done.key)
    assert hashlib.sha256(raw).hexdigest() == done.sha256
    header, events = _events(raw)
    assert header["version"] == 2 and (header["width"], header["height"]) == (80, 24)
    assert header["title"] == "web01"
    assert events == [[0.0, "o", "$ ls\r\n"], [1.5, "r", "120x40"], [1.5, "o", "a  b\r\n"]]
    assert list((tmp_path / "spool").iterdir()) == []  # spool cleaned up
    assert await rec.finalize() is None  # second call is harmless


async def test_utf8_split_across_reads_is_joined_not_mangled(tmp_path: Path) -> None:
    rec, storage, _ = _recorder(tmp_path, FakeClock())
    data = "你好，世界 ok".encode()
    for i in range(len(data)):  # one byte per read: the worst split there is
        rec.output(data[i:i + 1])
    done = await rec.finalize()
    assert done is not None
    _, events = _events(await storage.get_bytes(done.key))
    assert "".join(e[2] for e in events) == "你好，世界 ok"
    assert "\ufffd" not in "".join(e[2] for e in events)


async def test_truncated_character_at_end_is_marked_not_dropped_silently(tmp_path: Path) -> None:
    rec, storage, _ = _recorder(tmp_path, FakeClock())
    rec.output("ok 你".encode()[:-1])
    done = await rec.finalize()
    assert done is not None
    _, events = _events(await storage.get_bytes(done.key))
    assert "".join(e[2] for e in events) == "ok \ufffd"


async def test_input_recorded_only_when_policy_says_so(tmp_path: Path) -> None:
    for record_input, expected in ((False, []), (True, [[0.0, "i", "ls\r"]])):
        rec, storage, _ = _recorder(tmp_path / str(record_input), FakeClock(), record_input=record_input)
        rec.input(b"ls\r")
        done = await rec.finalize()
        assert done is not None
        _, events = _events(await storage.get_bytes(done.key))
        assert [e for e in events if e[1] == "i"] == expected


async def test_flushed_to_disk_within_a_second(tmp_path: Path) -> None:
    clock = FakeClock()
    rec, _, sid = _recorder(tmp_path, clock)
    spool = tmp_path / "spool" / f"{sid}.cast.gz"
    rec.output(b"first\r\n")
    assert b"first" not in gzip.decompress(spool.read_bytes())  # buffered
    clock.advance(1.0)
    rec.output(b"second\r\n")
    assert b"second" in gzip.decompress(spool.read_bytes())  # a crash now loses nothing
    rec.output(b"third\r\n")
    rec.flush()  # the session's one-second tick
    assert b"third" in gzip.decompress(spool.read_bytes())
    await rec.finalize()


async def test_bulk_output_is_written_without_waiting_for_the_tick(tmp_path: Path) -> None:
    rec, _, sid = _recorder(tmp_path, FakeClock())
    spool = tmp_path / "spool" / f"{sid}.cast.gz"
    screenful = b"x" * 4000 + b"\r\n"
    for _ in range(WRITE_AT // len(screenful) + 1):  # a `cat` of a big file: no clock tick in between
        rec.output(screenful)
    assert gzip.decompress(spool.read_bytes()).count(b"x" * 4000) > 1  # memory stays bounded too
    await rec.finalize()


async def test_a_spool_cut_short_by_a_crash_keeps_every_whole_flush(tmp_path: Path) -> None:
    clock = FakeClock()
    rec, storage, sid = _recorder(tmp_path, clock)
    rec.output(b"$ make\r\n")
    clock.advance(1.0)
    rec.output(b"built\r\n")  # written: more than a second since the last flush
    spool = tmp_path / "spool" / f"{sid}.cast.gz"
    whole = spool.read_bytes()
    clock.advance(1.0)
    rec.output(b"installing\r\n")  # written too, then the gateway dies halfway through the next write
    cut = spool.read_bytes()[: len(whole) + (len(spool.read_bytes()) - len(whole)) // 2]
    spool.write_bytes(cut)

    done = await collect_spool(sid, tmp_path / "spool", storage)
    assert done is not None and done.key == recording_key(sid)
    raw = await storage.get_bytes(done.key)
    assert raw == whole and hashlib.sha256(raw).hexdigest() == done.sha256 and done.size == len(whole)
    _, events = _events(raw)
    assert [e[2] for e in events] == ["$ make\r\n", "built\r\n"]
    assert not spool.exists()
    assert await collect_spool(uuid.uuid4(), tmp_path / "spool", storage) is None  # no spool: nothing stored


async def test_a_plain_spool_from_an_older_gateway_is_still_collected(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    sid = uuid.uuid4()
    (tmp_path / "spool").mkdir()
    (tmp_path / "spool" / f"{sid}.cast").write_text('{"version": 2}\n[0.1, "o", "hello"]\n[0.2, "o", "wor')
    done = await collect_spool(sid, tmp_path / "spool", storage)
    assert done is not None
    raw = await storage.get_bytes(done.key)
    assert hashlib.sha256(raw).hexdigest() == done.sha256
    assert gzip.decompress(raw) == b'{"version": 2}\n[0.1, "o", "hello"]\n'
    assert list((tmp_path / "spool").iterdir()) == []


async def test_null_recorder_stores_nothing(tmp_path: Path) -> None:
    rec = NullRecorder()
    rec.output(b"x")
    rec.input(b"y")
    rec.resize(1, 1)
    rec.flush()
    assert await rec.finalize() is None
