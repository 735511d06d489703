"""``python -m tests.fuzz.run TARGET [libFuzzer flags] [corpus dirs]``: fuzz one target.

The webgate modules are imported under ``atheris.instrument_imports`` so the fuzzer sees
their branch coverage. Useful flags: ``-max_total_time=S`` (stop after S seconds),
``-timeout=S`` (one input running longer is a hang), ``-rss_limit_mb=M`` (memory), and a
writable corpus directory first, then the seed corpus (tests/fuzz/corpus/TARGET).
"""

from __future__ import annotations

import sys

import atheris  # type: ignore[import-untyped]


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    name = sys.argv.pop(1)
    with atheris.instrument_imports(include=["webgate"]):
        from tests.fuzz.targets import TARGETS
    if name not in TARGETS:
        sys.exit(f"unknown target {name!r}; one of {', '.join(TARGETS)}")
    atheris.Setup(sys.argv, TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
