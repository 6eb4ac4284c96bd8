"""What wgdroid has learnt about each device (how to get root, which wg-quick
it runs), so later operations skip asking again.

A memo lives in this process; one made with `persist=KIND` is also kept in
the user's cache (`$XDG_CACHE_HOME/wgdroid/devices.tsv`, else `~/.cache/...`;
mode 0600; `KIND<TAB>DEVICE<TAB>FACT` lines: read by every command, so no
JSON parser to import), so the next `wgdroid` process starts knowing it:
a CLI command then runs its root script directly instead of finding the root
method first (one su less per command). Facts are per adb connection (the
server's transport id), so a phone that reconnects, or another one on the
same address, is asked afresh; a fact gone stale anyway is found out and
corrected by its user (rootshell detects again when the remembered form does
not get root).
"""

from __future__ import annotations

import os
from _thread import allocate_lock  # threading.Lock, without importing threading
from collections.abc import Callable

from wgdroid.lean import Generic, TypeVar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wgdroid.device.connection import Device

T = TypeVar("T")
MAX_ENTRIES = 256  # per kind: the cache never grows without bound


def cache_path() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "wgdroid", "devices.tsv")


class DeviceMemo(Generic[T]):
    """A thread-safe map from a device (its adb server and serial) to a fact."""

    def __init__(self, persist: str | None = None,
                 load: Callable[[str], T] | None = None) -> None:
        self._facts: dict[str, T] = {}
        self._lock = allocate_lock()
        self._kind = persist
        self._load = load
        self._loaded = persist is None

    @staticmethod
    def _key(device: Device) -> str:
        return device.identity

    def get(self, device: Device) -> T | None:
        with self._lock:
            self._load_cache()
            return self._facts.get(self._key(device))

    def put(self, device: Device, fact: T | None) -> None:
        """Remember `fact`; None forgets (the device changed, or we were wrong)."""
        with self._lock:
            self._load_cache()
            key = self._key(device)
            if self._facts.get(key) == fact:
                return
            if fact is None:
                self._facts.pop(key, None)
            else:
                self._facts[key] = fact
            self._save_cache()

    # -- the user's cache (best effort: a cache that can't be read or written
    # only costs the detection it would have saved) ---------------------------

    @staticmethod
    def _read() -> list[list[str]]:
        """The cache's lines, each [KIND, DEVICE, FACT]; others are skipped."""
        try:
            with open(cache_path(), encoding="utf-8") as fh:
                rows = [line.rstrip("\n").split("\t") for line in fh]
        except (OSError, ValueError):
            return []
        return [row for row in rows if len(row) == 3]

    def _load_cache(self) -> None:
        if self._loaded or self._kind is None or self._load is None:
            return
        self._loaded = True
        for kind, key, raw in self._read():
            if kind == self._kind:
                try:
                    self._facts.setdefault(key, self._load(raw))
                except (ValueError, TypeError):
                    continue

    def _save_cache(self) -> None:
        if self._kind is None:
            return
        from wgdroid.errors import WgdroidError
        from wgdroid.fileio import write_private

        kind = self._kind
        rows = [row for row in self._read() if row[0] != kind]
        rows += [[kind, key, str(fact)] for key, fact in list(self._facts.items())[-MAX_ENTRIES:]
                 if _one_field(key) and _one_field(str(fact))]
        path = cache_path()
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            write_private(path, "".join("\t".join(row) + "\n" for row in rows), overwrite=True)
        except (OSError, WgdroidError):
            return


def _one_field(text: str) -> bool:
    return "\t" not in text and "\n" not in text and "\r" not in text
