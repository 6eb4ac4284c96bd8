"""A device operation the user started, and what it waits for (pure: no
Textual). The device layer reports su and the phone script's steps
(`wgdroid.device.progress`); an operation turns them into words for the
tunnel's row (short), the details pane and the activity log (long)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wgdroid.device.progress import Watch

SU_PROMPT_AFTER = 1.0  # s without an answer from su: a prompt waits on the phone
WAIT_FOR_GRANT = "waiting for you to tap Grant on the phone"
SU_LABEL = "… tap Grant"  # the row's short form


@dataclass
class Op:
    id: int
    label: str  # "enable demo"
    tunnel: str | None
    done: Callable[[Any], None] | None
    watch: Watch
    pending: str | None = None  # the row's word while it runs: "… going up"
    started: float = field(default_factory=time.monotonic)
    su_since: float | None = None  # su asked, not answered yet
    waiting: str | None = None  # what it waits for now, in words
    cancelled: bool = False

    def progressed(self, kind: str, detail: str) -> str | None:
        """Take a progress report; the line to log, if any."""
        if kind == "su":
            self.su_since = time.monotonic()
        elif kind == "granted":
            self.su_since = None
            self.waiting = None
        elif kind == "step":
            self.waiting = f"{detail} on the phone"
            return f"{self.label}: {detail} …"
        return None

    def su_prompt_pending(self, since: float) -> bool:
        """Still waiting for the same su answer as at `since`: show the prompt."""
        if self.su_since is None or self.su_since != since:
            return False
        self.waiting = WAIT_FOR_GRANT
        return True

    @property
    def row_label(self) -> str | None:
        if self.waiting == WAIT_FOR_GRANT:
            return SU_LABEL
        return self.pending
