"""`webgate serve` with guacd's session recording switched off, for the desktop relay comparison.

webgate has no setting that turns recording off (recording is audit evidence). With it
on, guacd also writes every instruction to the recording file and the gateway gzips it at
the end, work the direct client and guacamole-lite do not cause; this launcher drops the
recording parameters from the guacd handshake and keeps the session's ``NullRecorder``,
so that the relay itself is compared. Benchmark use only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webgate.__main__ import main  # noqa: E402
from webgate.recording.asciicast import NullRecorder  # noqa: E402
from webgate.sessions import graphical  # noqa: E402

_dial = graphical.GraphicalSession._dial


def _no_recording_parameters(folder: Path) -> dict[str, str]:
    return {}


async def _started(self: Any, connected: Any, recording: Any) -> bool:
    return True


async def _dial_unrecorded(self: Any, *args: Any, **kwargs: Any) -> None:
    await _dial(self, *args, **kwargs)
    self.recorder = NullRecorder()


graphical.recording_parameters = _no_recording_parameters  # type: ignore[assignment]
graphical.GraphicalSession._recording_started = _started  # type: ignore[method-assign]
graphical.GraphicalSession._dial = _dial_unrecorded  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main())
