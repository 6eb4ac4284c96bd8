"""Local paths for import, export and screenshots (pure: no Textual).

Completion as a shell does it: the longest common continuation of what was
typed among the entries of that folder (folders end in "/"), else the first
one. The folders last used are remembered in $XDG_STATE_HOME/wgdroid/tui.json
(0600, written atomically), so export and import start where they were left.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from wgdroid.errors import WgdroidError

IMPORTABLE = frozenset({".conf", ".zip", ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp",
                        ".tif", ".tiff"})
MAX_LISTED = 2000  # entries looked at in one folder: a huge folder must not stall typing


def complete(typed: str, *, dirs_only: bool = False, home: Path | None = None) -> str | None:
    """`typed` completed with the entries of its folder, or None (nothing more)."""
    if not typed:
        return None
    home = home or Path.home()
    expanded = str(home) + typed[1:] if typed.startswith("~") else typed
    folder, _, prefix = expanded.rpartition("/")
    where = Path(folder or ("/" if expanded.startswith("/") else "."))
    try:
        entries = []
        with os.scandir(where) as found:
            for n, entry in enumerate(found):
                if n >= MAX_LISTED:
                    break
                if not entry.name.startswith(prefix) or entry.name.startswith(".") != (
                        prefix.startswith(".")):
                    continue
                is_dir = entry.is_dir()
                if is_dir or (not dirs_only and Path(entry.name).suffix.lower() in IMPORTABLE):
                    entries.append(entry.name + ("/" if is_dir else ""))
    except OSError:
        return None
    if not entries:
        return None
    entries.sort()
    common = os.path.commonprefix(entries)  # noqa: RUF071 (names: a shell's completion)
    chosen = common if len(common) > len(prefix) else entries[0]
    done = typed[: len(typed) - len(prefix)] + chosen
    return done if done != typed else None


def _state_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "wgdroid" / "tui.json"


def remembered(key: str) -> str | None:
    try:
        value = json.loads(_state_file().read_text(encoding="utf-8")).get(key)
    except (OSError, ValueError, AttributeError):
        return None  # none yet, or not ours to read: start afresh
    return value if isinstance(value, str) else None


def remember(key: str, value: str) -> None:
    """Keep `value` for next time; a state file that cannot be written is let be."""
    from wgdroid.fileio import write_private

    state = _state_file()
    try:
        data = json.loads(state.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data[key] = value
    try:
        state.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(state, json.dumps(data, indent=1) + "\n", overwrite=True)
    except (OSError, WgdroidError):
        pass


def folder(key: str) -> Path:
    """The folder last used for `key`, else ~/Downloads, else the home folder."""
    for candidate in (remembered(key), str(Path.home() / "Downloads")):
        if candidate and Path(candidate).expanduser().is_dir():
            return Path(candidate).expanduser()
    return Path.home()


def shown(path: Path) -> str:
    """`path` as typed: under the home folder it starts with ~."""
    try:
        inside = path.relative_to(Path.home())
    except ValueError:
        return str(path)
    return "~" if str(inside) == "." else f"~/{inside}"
