"""Where the simulator daemon keeps its state, and its control protocol:
one JSON request line and one JSON reply line per connection on a Unix socket
(mode 0600 in a 0700 directory: only root talks to it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from wgdroid import errors

REQUEST_LIMIT = 1 << 20
SERIALS_FILE = "serials"  # the phones' serials, one a line, kept by the daemon


def state_dir() -> Path:
    """WGDROID_SIM_DIR, else /run/wgdroid-sim as root, else $XDG_RUNTIME_DIR/wgdroid-sim."""
    explicit = os.environ.get("WGDROID_SIM_DIR")
    if explicit:
        return Path(explicit)
    if os.geteuid() == 0:
        return Path("/run/wgdroid-sim")
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/wgdroid-sim-{os.geteuid()}"
    return Path(runtime) / "wgdroid-sim"


def socket_path(state: Path) -> Path:
    return state / "control.sock"


def unwrap(reply: dict[str, Any]) -> dict[str, Any]:
    """A daemon reply without its "ok", or the error it carries, raised."""
    if not reply.pop("ok", False):
        cls = getattr(errors, str(reply.get("kind")), errors.WgdroidError)
        known = isinstance(cls, type) and issubclass(cls, errors.WgdroidError)
        if not known or cls is errors.DeviceCommandError:
            cls = errors.WgdroidError
        raise cls(str(reply.get("error")), hint=reply.get("hint"))
    return reply
