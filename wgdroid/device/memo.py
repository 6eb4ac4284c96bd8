"""What this process has learnt about each device (how to get root, which
wg-quick it runs), so later operations skip asking again."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from wgdroid.device.connection import Device

T = TypeVar("T")


class DeviceMemo(Generic[T]):
    """A thread-safe map from a device (its adb server and serial) to a fact."""

    def __init__(self) -> None:
        self._facts: dict[tuple[str, str], T] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(device: Device) -> tuple[str, str]:
        return (str(device.address), device.serial)

    def get(self, device: Device) -> T | None:
        with self._lock:
            return self._facts.get(self._key(device))

    def put(self, device: Device, fact: T | None) -> None:
        """Remember `fact`; None forgets (the device changed, or we were wrong)."""
        with self._lock:
            if fact is None:
                self._facts.pop(self._key(device), None)
            else:
                self._facts[self._key(device)] = fact
