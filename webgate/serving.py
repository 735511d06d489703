"""How ``webgate serve`` configures uvicorn, shared with the tests that serve the app for real.

The WebSocket choices are measured ones (bench/terminal.py, bench/desktop.py):

- ``websockets-sansio`` (what uvicorn's ``auto`` picks today; pinned so that an upgrade
  cannot switch it silently): frames are parsed in the connection's ``data_received`` and
  handed to the app through one queue. The legacy ``websockets`` protocol runs three tasks
  per socket: ~8 KiB more per idle terminal and a slower echo at 500 sessions, measured
  side by side with bench/terminal.py.
- no permessage-deflate: compressing every terminal frame at level 6 cost a third of the
  gateway's CPU and ~45 KiB per socket; terminal output is small and desktop images are
  already compressed.
- 1 MiB per message at most: the largest legitimate message (a pasted block, a file chunk)
  is far smaller; bigger ones are refused by the server before the app sees them.
"""

from __future__ import annotations

from typing import Any

import uvicorn

WS_OPTIONS: dict[str, Any] = {"ws": "websockets-sansio", "ws_per_message_deflate": False, "ws_max_size": 1 << 20}


def uvicorn_config(app: Any, *, host: str, port: int, **options: Any) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, proxy_headers=False, server_header=False,
                          **{**WS_OPTIONS, **options})
