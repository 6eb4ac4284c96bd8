"""App-wide messages: small, carrying results from workers to the screens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from wgdroid.tui.adapter import Snapshot


@dataclass
class SnapshotUpdated(Message):
    """A status poll of the chosen phone finished; collapses to the latest."""

    snapshot: Snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotUpdated)


@dataclass
class ActivityLogged(Message):
    """One line of the device-operation log (never holds a secret)."""

    line: str
