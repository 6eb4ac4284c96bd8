"""The one tunnel-name rule, used by the config model, the CLI, the zip reader
and the device layer.

A tunnel's name is its interface name and its file name on the phone
(`/data/misc/wireguard/NAME.conf`): 1-15 of `[a-zA-Z0-9_=+.-]` (the kernel's
IFNAMSIZ and the Android app's rule), matched in full (a trailing newline is
not a name), not starting with `-` (it would read as an option to `wg-quick`,
`ip` or `rm`), and not starting with `.` (a hidden file: the phone's store
lists `*.conf`, which skips it, and `.`/`..` are directories).

Light on purpose (no pydantic): the device layer imports it on every call.
"""

from __future__ import annotations

import re

from wgdroid.errors import InvalidInputError
from wgdroid.redact import quote_value

MAX_LENGTH = 15  # IFNAMSIZ - 1
_NAME_RE = re.compile(r"[a-zA-Z0-9_=+.-]+")


def name_problem(name: str) -> str | None:
    """Why `name` can't be a tunnel name (one line, safe to show), or None."""
    # A name is chosen, not pasted: shown unless it has a key's shape.
    shown = quote_value(name, fragments=False)
    if not name:
        return "a tunnel name can't be empty"
    if len(name) > MAX_LENGTH:
        return (f"tunnel name {shown} is longer than {MAX_LENGTH} characters "
                "(it is an interface name)")
    if _NAME_RE.fullmatch(name) is None:
        return f"tunnel name {shown} may only use letters, digits and _=+.-"
    if name.startswith("-"):
        return f"tunnel name {shown} can't start with '-' (it would read as an option)"
    if name.startswith("."):
        return (f"tunnel name {shown} can't start with '.' (a hidden file on the phone, "
                "which its list would not show)")
    return None


def check_tunnel_name(name: str, *, hint: str | None = None) -> str:
    """`name` if it is a valid tunnel name; InvalidInputError (exit 1) otherwise."""
    problem = name_problem(name)
    if problem is not None:
        raise InvalidInputError(problem, hint=hint)
    return name


def is_tunnel_name(name: str) -> bool:
    return name_problem(name) is None
