"""`webgate serve` with recording switched off, for the desktop relay comparison.

webgate has no setting that turns recording off (recording is audit evidence). With it
on, the gateway also appends every relayed batch to the session's spool and gzips it at
the end, work the direct client and guacamole-lite do not do; this launcher gives each
desktop session a ``NullRecorder`` instead, so that the relay itself is compared.
Benchmark use only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webgate.__main__ import main  # noqa: E402
from webgate.recording.asciicast import NullRecorder  # noqa: E402
from webgate.sessions import graphical  # noqa: E402


def _unrecorded(**_: Any) -> NullRecorder:
    return NullRecorder()


graphical.GuacRecorder = _unrecorded  # type: ignore[assignment,misc]

if __name__ == "__main__":
    sys.exit(main())
