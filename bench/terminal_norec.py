"""`webgate serve` with session recording switched off, for the recording-cost comparison.

webgate has no setting that turns terminal recording off (recording is audit evidence),
so this launcher keeps each session's ``NullRecorder`` by skipping
``LiveSession._start_recording`` and then runs the unchanged ``webgate`` command.
Benchmark use only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webgate.__main__ import main  # noqa: E402
from webgate.sessions.lifecycle import LiveSession  # noqa: E402


async def _keep_null_recorder(self: LiveSession, policy: dict[str, Any], req: Any) -> None:
    return None


LiveSession._start_recording = _keep_null_recorder  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main())
