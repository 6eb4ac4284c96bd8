"""A device operation the user started, and what it waits for (pure: no
Textual). The device layer reports su and the phone script's steps
(`wgdroid.device.progress`); an operation turns them into words for the
tunnel's row (short), the details pane and the activity log (long)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WAIT_FOR_GRANT = "waiting for you to tap Grant on the phone"
SU_LABEL = "… tap Grant"  # the row's short form


@dataclass
class Op:
    id: int
    label: str  # "enable demo"
    tunnel: str | None
    done: Callable[[Any], None] | None
    cancel: threading.Event  # set: the device layer aborts the operation's stream
    pending: str | None = None  # the row's word while it runs: "… going up"
    started: float = field(default_factory=time.monotonic)
    waiting: str | None = None  # what it waits for now, in words
    failed: Callable[[], None] | None = None  # runs after the error is shown, or when cancelled

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def progressed(self, kind: str, detail: str) -> str | None:
        """Take a progress event (su-waiting, su-granted, step); the line to log."""
        if kind == "su-waiting":
            self.waiting = WAIT_FOR_GRANT
            return f"{self.label}: {WAIT_FOR_GRANT}"
        if kind == "su-granted":
            self.waiting = None
        elif kind == "step":
            self.waiting = f"{detail} on the phone"
            return f"{self.label}: {detail} …"
        return None

    @property
    def row_label(self) -> str | None:
        if self.waiting == WAIT_FOR_GRANT:
            return SU_LABEL
        return self.pending
