"""Applet argument templates: argv lists with placeholders, never a shell command line.

Each list item is one argv element after substitution, so a value holding spaces, quotes
or ``;`` stays one argument and nothing is interpreted by a shell. The placeholders are
the connection facts a program needs; ``{password}`` is refused on purpose: a password
in argv is readable by every local user through ``ps``. The app host hands it over
another way (``{password_file}``: a 0600 file, or the applet's ``password_env``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence

PLACEHOLDERS = ("url", "host", "port", "username", "database", "password_file")
MAX_ARGS = 64
MAX_ARG_CHARS = 1024
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
# Variables a program must never get from an applet: they change what is loaded or run.
_FORBIDDEN_ENV = frozenset({"PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "HOME", "DISPLAY", "SHELL", "IFS",
                            "PYTHONPATH", "PYTHONSTARTUP", "BASH_ENV", "ENV", "XAUTHORITY"})


def template_error(template: str) -> str | None:
    """None when ``template`` is a valid argument template, else a sentence saying what is wrong."""
    if len(template) > MAX_ARG_CHARS:
        return f"An argument may hold at most {MAX_ARG_CHARS} characters."
    if "\x00" in template:
        return "An argument may not contain a NUL character."
    try:
        fields = [name for _, name, spec, conv in string.Formatter().parse(template) if name is not None]
        specs = [(spec, conv) for _, name, spec, conv in string.Formatter().parse(template) if name is not None]
    except ValueError:
        return "Unbalanced braces: write {{ and }} for literal braces."
    for name in fields:
        if name == "password":
            return ("{password} is not allowed: a password on the command line is visible to every "
                    "local user. Use {password_file} or the password environment variable.")
        if name not in PLACEHOLDERS:
            return f"Unknown placeholder {{{name}}}; use one of: " + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
    if any(spec or conv for spec, conv in specs):
        return "Placeholders take no format specs or conversions: write {host}, not {host!r} or {port:5}."
    return None


def arguments_error(arguments: Sequence[str]) -> str | None:
    if len(arguments) > MAX_ARGS:
        return f"At most {MAX_ARGS} arguments."
    for item in arguments:
        problem = template_error(item)
        if problem:
            return problem
    return None


def env_name_error(name: str) -> str | None:
    if not name:
        return None
    if not _ENV_NAME.fullmatch(name):
        return "An environment variable name is written in capitals, digits and _ (e.g. MYSQL_PWD)."
    if name in _FORBIDDEN_ENV or name.startswith("LD_") or name.startswith("WEBGATE_"):
        return f"{name} cannot carry the password: it changes how programs are loaded or run."
    return None


def render(arguments: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """The argv after substitution; each template stays exactly one argument."""
    out: list[str] = []
    for template in arguments:
        problem = template_error(template)
        if problem:
            raise ValueError(problem)
        out.append(template.format_map({name: str(values.get(name, "")) for name in PLACEHOLDERS}))
    return out
