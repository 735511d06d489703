"""Run inside an xterm: redraw the whole terminal with changing text ``--fps`` times a second.

Every frame rewrites every cell (cursor home, then each line), sliding a random text by
one character, so that each frame changes the whole screen: the worst case a remote
desktop relay has to carry (guacd re-encodes the screen as images). ``--lines 1`` changes
only the top line: a light, mostly idle desktop (a clock ticking) for the latency phase.
"""

from __future__ import annotations

import argparse
import os
import random
import string
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fps", type=float, default=60)
    parser.add_argument("--lines", type=int, default=0, help="lines redrawn per frame (0: all)")
    args = parser.parse_args()
    cols, rows = os.get_terminal_size(sys.stdout.fileno())
    lines = args.lines or rows - 1
    text = "".join(random.choices(  # noqa: S311 - screen filler, not a secret
        string.ascii_letters + string.digits + " .,:;#", k=cols * (lines + 1) * 4))
    out = sys.stdout
    out.write("\x1b[2J\x1b[?25l")  # clear, hide the cursor
    period = 1.0 / args.fps
    frame = 0
    nxt = time.monotonic()
    while True:
        shift = frame % (len(text) - cols * lines)
        out.write("\x1b[H" + "\r\n".join(text[shift + i * cols: shift + (i + 1) * cols] for i in range(lines)))
        out.flush()
        frame += 1
        nxt += period
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            nxt = time.monotonic()


if __name__ == "__main__":
    main()
