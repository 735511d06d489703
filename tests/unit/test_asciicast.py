"""asciicast v2 recorder: what an auditor gets back from storage after a session, or after a crash."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import tracemalloc
import uuid
from pathlib import Path

import pytest

from webgate.clock import FakeClock
from webgate.recording.asciicast import (
    WRITE_AT,
    AsciicastRecorder,
    NullRecorder,
    collect_spool,
    recording_key,
)
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


async def _finished_events(rec: AsciicastRecorder, storage: LocalStorage) -> list[list]:
    done = await rec.finalize()
    assert done is not None
    return _events(await storage.get_bytes(done.key))[1]


async def _after_crash(tmp_path: Path, sid: uuid.UUID) -> list[list]:
    """What a restarted gateway would store if this one died now (its spool directory as it is on disk)."""
    crashed = tmp_path / f"crashed-{uuid.uuid4().hex[:6]}"
    shutil.copytree(tmp_path / "spool", crashed)
    storage = LocalStorage(tmp_path / "store-after-crash")
    done = await collect_spool(sid, crashed, storage)
    assert done is not None
    return _events(await storage.get_bytes(done.key))[1]


def _text(events: list[list], code: str = "o") -> str:
    return "".join(e[2] for e in events if e[1] == code)


async def test_recording_is_gzipped_asciicast_v2_with_hash(tmp_path: Path) -> None:
    clock = FakeClock()
    started = clock.time()
    rec, storage, sid = _recorder(tmp_path, clock)
    rec.output(b"$ ls\r\n")
    clock.advance(1.5)
    rec.resize(120, 40)
    rec.output(b"a  b\r\n")
    done = await rec.finalize()
    assert done is not None and done.key == recording_key(sid) and str(sid) in done.key
    raw = await storage.get_bytes(done.key)
    assert hashlib.sha256(raw).hexdigest() == done.sha256 and done.size == len(raw)
    header, events = _events(raw)
    assert header["version"] == 2 and (header["width"], header["height"]) == (80, 24)
    assert header["title"] == "web01" and header["timestamp"] == int(started)
    assert events == [[0.0, "o", "$ ls\r\n"], [1.5, "r", "120x40"], [1.5, "o", "a  b\r\n"]]
    assert list((tmp_path / "spool").iterdir()) == []  # spool cleaned up
    assert await rec.finalize() is None  # second call is harmless


async def test_utf8_split_across_reads_is_joined_not_mangled(tmp_path: Path) -> None:
    clock = FakeClock()
    rec, storage, _ = _recorder(tmp_path, clock)
    data = "你好，世界 ok".encode()
    for i in range(len(data)):  # one byte per read, each its own event: the worst split there is
        rec.output(data[i:i + 1])
        clock.advance(0.1)
    events = await _finished_events(rec, storage)
    assert _text(events) == "你好，世界 ok"
    assert len(events) == len("你好，世界 ok")  # each character at the time its last byte came


async def test_truncated_character_at_end_is_marked_not_dropped_silently(tmp_path: Path) -> None:
    rec, storage, _ = _recorder(tmp_path, FakeClock())
    rec.output("ok 你".encode()[:-1])
    assert _text(await _finished_events(rec, storage)) == "ok \ufffd"


async def test_invalid_bytes_become_replacement_characters_in_the_recording(tmp_path: Path) -> None:
    rec, storage, _ = _recorder(tmp_path, FakeClock())
    rec.output(b"a\xffb\xc3(")
    assert _text(await _finished_events(rec, storage)) == "a\ufffdb\ufffd("


async def test_output_within_a_few_milliseconds_is_one_event(tmp_path: Path) -> None:
    clock = FakeClock()
    rec, storage, _ = _recorder(tmp_path, clock)
    for piece in (b"top - 10:00\r\n", b"Tasks: 80\r\n", b"%Cpu: 3.0\r\n"):  # one screen redraw, three reads
        rec.output(piece)
        clock.advance(0.002)
    clock.advance(0.5)
    rec.output(b"next frame")
    events = await _finished_events(rec, storage)
    assert events == [[0.0, "o", "top - 10:00\r\nTasks: 80\r\n%Cpu: 3.0\r\n"], [0.506, "o", "next frame"]]


async def test_input_recorded_only_when_policy_says_so(tmp_path: Path) -> None:
    for record_input, expected in ((False, []), (True, [[0.0, "i", "ls\r"]])):
        rec, storage, _ = _recorder(tmp_path / str(record_input), FakeClock(), record_input=record_input)
        rec.input(b"ls\r")
        rec.output(b"ls\r\n")
        events = await _finished_events(rec, storage)
        assert [e for e in events if e[1] == "i"] == expected
        assert _text(events) == "ls\r\n"


async def test_a_long_session_replays_byte_for_byte(tmp_path: Path) -> None:
    clock = FakeClock()
    rec, storage, _ = _recorder(tmp_path, clock)
    text = "".join(f"{i:06d} ünïcödé 漢字 ✓ {'x' * (i % 50)}\r\n" for i in range(40_000))  # ~3 MB
    data = text.encode()
    elapsed = 0.0
    for i, at in enumerate(range(0, len(data), 4093)):  # reads that split characters, several spool blocks
        last_read_at = elapsed
        rec.output(data[at:at + 4093])
        step = 0.004 if i % 7 else 0.3
        clock.advance(step)
        elapsed += step
    events = await _finished_events(rec, storage)
    assert _text(events) == text
    times = [e[0] for e in events]
    assert times == sorted(times) and times[-1] == pytest.approx(last_read_at, abs=0.0051)


async def test_flushed_to_disk_within_a_second(tmp_path: Path) -> None:
    clock = FakeClock()
    rec, storage, sid = _recorder(tmp_path, clock)
    assert await _after_crash(tmp_path, sid) == []  # the header is there from the start
    rec.output(b"first\r\n")
    assert await _after_crash(tmp_path, sid) == []  # buffered
    clock.advance(1.0)
    rec.output(b"second\r\n")
    assert _text(await _after_crash(tmp_path, sid)) == "first\r\nsecond\r\n"  # a crash now loses nothing
    rec.output(b"third\r\n")
    rec.flush()  # the session's one-second tick
    assert _text(await _after_crash(tmp_path, sid)) == "first\r\nsecond\r\nthird\r\n"
    assert _text(await _finished_events(rec, storage)) == "first\r\nsecond\r\nthird\r\n"


async def test_bulk_output_is_written_without_waiting_for_the_tick(tmp_path: Path) -> None:
    rec, storage, sid = _recorder(tmp_path, FakeClock())
    screenful = b"x" * 4000 + b"\r\n"
    for _ in range(WRITE_AT // len(screenful) + 1):  # a `cat` of a big file: no clock tick in between
        rec.output(screenful)
    assert _text(await _after_crash(tmp_path, sid)).count("x" * 4000) > 1  # memory stays bounded too
    await rec.finalize()


async def test_a_spool_cut_short_by_a_crash_keeps_every_whole_flush(tmp_path: Path) -> None:
    clock = FakeClock()
    rec, storage, sid = _recorder(tmp_path, clock)
    rec.output(b"$ make\r\n")
    clock.advance(1.0)
    rec.output(b"built\r\n")  # written: more than a second since the last flush
    (spool,) = (tmp_path / "spool").iterdir()
    whole = spool.stat().st_size
    clock.advance(1.0)
    rec.output(b"installing\r\n")  # written too, then the gateway dies halfway through this write
    with spool.open("rb+") as fh:
        fh.truncate(whole + (spool.stat().st_size - whole) // 2)

    done = await collect_spool(sid, tmp_path / "spool", storage)
    assert done is not None and done.key == recording_key(sid)
    raw = await storage.get_bytes(done.key)
    assert hashlib.sha256(raw).hexdigest() == done.sha256 and done.size == len(raw)
    header, events = _events(raw)
    assert header["title"] == "web01"
    assert events == [[0.0, "o", "$ make\r\n"], [1.0, "o", "built\r\n"]]
    assert list((tmp_path / "spool").iterdir()) == []
    assert await collect_spool(uuid.uuid4(), tmp_path / "spool", storage) is None  # no spool: nothing stored


async def test_a_failed_upload_leaves_the_spool_for_the_next_try(tmp_path: Path) -> None:
    class Down(LocalStorage):
        async def put_file(self, key: str, path: Path) -> None:
            raise OSError("bucket unreachable")

    rec, storage, sid = _recorder(tmp_path, FakeClock())
    rec._storage = Down(tmp_path / "store")
    rec.output(b"evidence\r\n")
    with pytest.raises(OSError, match="unreachable"):
        await rec.finalize()
    done = await collect_spool(sid, tmp_path / "spool", storage)
    assert done is not None
    assert _text(_events(await storage.get_bytes(done.key))[1]) == "evidence\r\n"


async def test_a_gzip_spool_from_an_older_gateway_is_still_collected(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    sid = uuid.uuid4()
    (tmp_path / "spool").mkdir()
    members = [gzip.compress(b'{"version": 2}\n[0.1, "o", "hello"]\n'), gzip.compress(b'[1.1, "o", " world"]\n')]
    cut = gzip.compress(b'[2.1, "o", "lost"]\n')[:10]
    (tmp_path / "spool" / f"{sid}.cast.gz").write_bytes(b"".join(members) + cut)
    done = await collect_spool(sid, tmp_path / "spool", storage)
    assert done is not None
    raw = await storage.get_bytes(done.key)
    assert raw == b"".join(members) and hashlib.sha256(raw).hexdigest() == done.sha256
    assert list((tmp_path / "spool").iterdir()) == []


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


async def test_an_idle_session_s_recorder_holds_well_under_a_kilobyte(tmp_path: Path) -> None:
    # Issue 3: <= 64 KiB per idle session in all; the recorder keeps no buffer, decoder or compressor then.
    clock = FakeClock()
    storage = LocalStorage(tmp_path / "store")
    ids = [uuid.uuid4() for _ in range(200)]
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    recs = [AsciicastRecorder(session_id=sid, spool_dir=tmp_path / "spool", storage=storage, cols=80, rows=24,
                              started_at=clock.time(), monotonic=clock.monotonic, title="alice@web01")
            for sid in ids]
    for rec in recs:
        rec.output(b"$ ")
        rec.flush()  # the one-second tick: the session now waits for its user
    grown = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    assert grown / len(recs) < 1024, f"{grown / len(recs):.0f} bytes per idle recorder"
    for rec in recs:
        await rec.finalize()


async def test_null_recorder_stores_nothing(tmp_path: Path) -> None:
    rec = NullRecorder()
    rec.output(b"x")
    rec.input(b"y")
    rec.resize(1, 1)
    rec.flush()
    assert await rec.finalize() is None
