"""webgate: a web-only privileged-access gateway."""

__version__ = "0.1.0"
