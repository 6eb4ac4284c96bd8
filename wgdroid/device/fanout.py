"""`--all`: one operation on every device, in parallel on a bounded pool;
each device's failure is its own and never stops the others."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from wgdroid.device.connection import Device
from wgdroid.errors import WgdroidError
from wgdroid.lean import Generic, TypeVar, Value

T = TypeVar("T")
MAX_WORKERS = 8  # adb round trips are I/O bound; the server serialises per transport anyway


class Outcome(Value, Generic[T]):
    __slots__ = ("error", "serial", "value")

    def __init__(self, serial: str, value: T | None = None,
                 error: WgdroidError | None = None) -> None:
        self.serial = serial
        self.value = value
        self.error = error

    @property
    def ok(self) -> bool:
        return self.error is None


def run_all(
    devices: Sequence[Device],
    operation: Callable[[Device], T],
    *,
    max_workers: int = MAX_WORKERS,
) -> list[Outcome[T]]:
    """Run `operation` on each device; outcomes in the order of `devices`."""

    def one(device: Device) -> Outcome[T]:
        try:
            return Outcome(device.serial, value=operation(device))
        except WgdroidError as exc:
            return Outcome(device.serial, error=exc)
        except Exception as exc:  # a bug on one device must not hide the others' results
            return Outcome(
                device.serial, error=WgdroidError(f"internal error: {type(exc).__name__}")
            )

    from concurrent.futures import ThreadPoolExecutor  # only --all needs threads

    if not devices:
        return []
    workers = max(1, min(max_workers, len(devices)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wgdroid-all") as pool:
        return list(pool.map(one, devices))

