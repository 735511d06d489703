"""Graphical recordings: guacd writes the file, the gateway checks it and collects it.

guacd records each connection itself (Guacamole protocol text). The gateway created the
directory, so it can prove the recording started (guacd skips recording silently when
the directory is wrong) and, when the session ends, wait until guacd has stopped
writing before gzipping, hashing and storing it under a key built from the session id.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from pathlib import Path

from webgate.recording.asciicast import Finished, NullRecorder, _gzip_and_hash
from webgate.recording.storage import Storage

log = logging.getLogger("webgate.recording")

STARTED_WITHIN = 10.0  # seconds for guacd to create the file after ``ready`` (after its own VNC/RDP login, slow under load)
SETTLE = 0.25  # the file is complete once its size stays the same this long (guacd closed it)
SETTLE_MAX = 5.0


RECORDING_NAME = "recording.guac"


def recording_dir(data_dir: Path, session_id: uuid.UUID) -> Path:
    """Where guacd writes this session's recording (named from the session's UUID only)."""
    return data_dir / "spool" / "guacamole" / str(session_id)


def prepare_recording_dir(data_dir: Path, session_id: uuid.UUID) -> Path:
    """Create the recording directory (parents included) and prove it is writable: guacd's
    ``create-recording-path`` makes only the last directory, and with a missing parent it
    records nothing without saying so."""
    path = recording_dir(data_dir, session_id)
    path.mkdir(parents=True, exist_ok=True)
    probe = path / ".probe"
    probe.write_bytes(b"")
    probe.unlink()
    return path


def recording_parameters(folder: Path) -> dict[str, str]:
    """guacd's recording parameters, the same for every desktop protocol (keys included)."""
    return {
        "recording-path": str(folder),
        "recording-name": RECORDING_NAME,
        "create-recording-path": "true",
        "recording-include-keys": "true",
    }


def guac_recording_key(session_id: uuid.UUID) -> str:
    return f"guacamole/{session_id.hex[:2]}/{session_id}.guac.gz"


class GuacRecording(NullRecorder):
    """The Recorder seam for a file guacd writes: the stream taps do nothing (guacd sees the
    stream itself), only ``finalize`` works."""

    def __init__(self, *, session_id: uuid.UUID, path: Path, storage: Storage) -> None:
        self._id = session_id
        self.path = path
        self._storage = storage
        self._done = False

    async def _settled(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_MAX
        size = -1
        while loop.time() < deadline:
            now = self.path.stat().st_size
            if now == size:
                return
            size = now
            await asyncio.sleep(SETTLE)
        log.warning("recording %s still growing after %ss; stored as it is", self._id, SETTLE_MAX)

    async def finalize(self) -> Finished | None:
        """Gzip, hash and store guacd's file, then remove the spool directory; safe to call twice."""
        if self._done:
            return None
        self._done = True
        if not self.path.is_file():
            return None
        await self._settled()
        packed = self.path.with_name(self.path.name + ".gz")
        sha, size = await asyncio.to_thread(_gzip_and_hash, self.path, packed)
        key = guac_recording_key(self._id)
        await self._storage.put_file(key, packed)
        await asyncio.to_thread(shutil.rmtree, self.path.parent, True)
        return Finished(key=key, sha256=sha, size=size)
