"""App-wide messages. Workers post results to the App; the App applies them to
its `Session` and tells the screens what changed with the `*Changed`
messages, which do not bubble (a screen's parent is the App, which sent them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from wgdroid.device.connection import DeviceInfo
    from wgdroid.device.doctor import Capabilities
    from wgdroid.tui.adapter import Snapshot
    from wgdroid.tui.details import ConfigInfo


# -- from workers to the App --------------------------------------------------------


@dataclass
class DevicesListed(Message):
    """The phone poll finished."""

    devices: list[DeviceInfo]

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DevicesListed)


@dataclass
class SnapshotPolled(Message):
    """A status poll of a phone finished; a burst collapses to the latest."""

    snapshot: Snapshot
    epoch: int  # the app's operation count when the poll started

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotPolled)


@dataclass
class DoctorDone(Message):
    """What a phone has and lacks (a failure goes to the worker error handler)."""

    serial: str
    caps: Capabilities


@dataclass
class ConfigRead(Message):
    """A stored config was read (and reduced to what may be shown)."""

    serial: str
    name: str
    info: ConfigInfo


@dataclass
class OpProgress(Message):
    """What a running operation waits for now (wgdroid.device.progress)."""

    op: int
    kind: str  # su-waiting | su-granted | step
    detail: str


# -- from the App to the screens -----------------------------------------------------


@dataclass
class SessionChanged(Message, bubble=False):
    """The phones, the chosen phone or its tunnels changed: render again.

    Only the latest matters, so a burst (a status poll every second, hot-plug)
    collapses to one repaint."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SessionChanged)


@dataclass
class ActivityLogged(Message, bubble=False):
    """One line of the device-operation log (never holds a secret)."""

    line: str
    number: int  # its place in the log since start (`Session.logged`)
