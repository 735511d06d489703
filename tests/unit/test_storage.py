"""Recording storage: one contract over the local directory and a real S3 server (moto)."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import peer_missing
from webgate.errors import NotFound, Unavailable
from webgate.recording.storage import LocalStorage, S3Storage, create_storage
from webgate.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        peer_missing("moto (pip install 'moto[server]')")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
async def storage(request, tmp_path):
    if request.param == "local":
        yield LocalStorage(tmp_path / "rec")
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    settings = Settings(storage_url="s3://recordings/prod", s3_endpoint=endpoint, s3_access_key="k", s3_secret_key="s")
    store = create_storage(settings)
    assert isinstance(store, S3Storage)
    client = await store._c()
    await client.create_bucket(Bucket="recordings")
    yield store
    await store.close()


async def test_put_get_exists_delete(storage, tmp_path):
    src = tmp_path / "one.cast.gz"
    src.write_bytes(b"\x1f\x8b recording bytes")
    key = "terminal/ab/0b1e6f5c-5c8e-4b4e-9a57-0c6bd1a7f1c2.cast.gz"
    await storage.put_file(key, src)
    assert await storage.exists(key)
    assert await storage.get_bytes(key) == src.read_bytes()
    assert (await storage.check()).split()[0] in ("local", "s3")
    await storage.delete(key)
    assert not await storage.exists(key)
    with pytest.raises(NotFound):
        await storage.get_bytes(key)


async def test_stored_recording_outlives_its_spool_file_and_replaces_an_older_one(storage, tmp_path):
    """The gateway removes its converted spool right after storing it; the recording must stay whole."""
    key = "terminal/cd/3f0c5a4e-2b1d-4c8e-8f57-1a2b3c4d5e6f.cast.gz"
    for content in (b"first version", b"second, longer version"):
        src = tmp_path / "packed.cast.gz"
        src.write_bytes(content)
        await storage.put_file(key, src)
        src.unlink()
        assert await storage.get_bytes(key) == content
    if isinstance(storage, LocalStorage):
        assert [p.name for p in (storage.root / "terminal" / "cd").iterdir()] == [key.rsplit("/", 1)[1]]


async def test_local_storage_copies_when_it_cannot_link(tmp_path, monkeypatch):
    import os

    def no_link(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    store = LocalStorage(tmp_path / "rec")
    src = tmp_path / "packed.cast.gz"
    src.write_bytes(b"bytes on another file system")
    await store.put_file("terminal/ab/x.cast.gz", src)
    src.write_bytes(b"changed afterwards")
    assert await store.get_bytes("terminal/ab/x.cast.gz") == b"bytes on another file system"


async def test_local_storage_refuses_keys_that_leave_its_root(tmp_path):
    store = LocalStorage(tmp_path / "rec")
    for key in ("../secret.key", "/etc/passwd", "a/../../x"):
        with pytest.raises(NotFound):
            await store.get_bytes(key)


async def test_dead_s3_is_reported_in_words():
    settings = Settings(storage_url="s3://recordings", s3_endpoint=f"http://127.0.0.1:{_free_port()}",
                        s3_access_key="k", s3_secret_key="s")
    store = create_storage(settings)
    with pytest.raises(Unavailable, match="S3"):
        await store.check()
    await store.close()
