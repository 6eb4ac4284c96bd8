"""The command palette, built from the action registry: one entry per action
(`category: help`), one per tunnel for the actions that take one, and one per
other phone. On any other screen (the editor, doctor, a dialog) it offers
that screen's own key bindings instead (`editor: save ...`), and the
registry's app-wide actions: the main screen's actions were offered over the
editor (its "create a new tunnel" opened a second editor on top) and the
editor's were not offered at all. Entries are found by their title, the footer's words, and the
registry's aliases ("stats", "toggle", "remove"), word prefixes first; a
fuzzy match on the title only ranks below those."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from wgdroid.tui.actions import ACTIONS, Scope

if TYPE_CHECKING:
    from textual.screen import Screen

    from wgdroid.tui.app import WgdroidApp

FUZZY_WEIGHT = 0.5  # a fuzzy title match ranks below any word match (0.8 and up)


@dataclass(frozen=True)
class Entry:
    title: str
    run: Callable[[], Any]
    help: str
    words: tuple[str, ...] = ()


def binding_title(b: Binding) -> str | None:
    """A screen binding's palette title (`editor: save ...`); None: not offered
    (no id or no words)."""
    if not b.id or not b.description:
        return None
    return f"{b.id.split('.', 1)[0]}: {b.tooltip or b.description.lower()}"


def screen_entries(screen: Screen[Any]) -> list[Entry]:
    """A screen's own actions, from its key bindings (those with an id and words)."""
    found = []
    for b in type(screen).BINDINGS:
        if not isinstance(b, Binding) or (title := binding_title(b)) is None:
            continue
        keys = "/".join(k.strip() for k in b.key.split(","))
        found.append(Entry(title, partial(screen.run_action, b.action),
                           f"keys {keys} · {b.description}",
                           (b.description.lower(), str(b.id).split(".")[-1].replace("_", " "))))
    return found


def entries(app: WgdroidApp, screen: Screen[Any] | None = None) -> list[Entry]:
    """What the palette offers over `screen` (the one it was opened on)."""
    session = app.session
    found: list[Entry] = []
    on_main = (screen or app.screen) is app.main_screen
    if not on_main:
        found += screen_entries(screen or app.screen)
    for a in ACTIONS:
        if a.scope in (Scope.TUNNEL, Scope.PHONE):  # offered per tunnel and per phone below
            continue
        if not on_main and a.scope is not Scope.APP:
            continue
        found.append(Entry(a.palette_name, partial(app.action_do, a.id),
                           f"keys {a.display_keys()} · {a.description}", a.words()))
    if not on_main:
        return found
    for name in session.tunnel_names():
        up = session.is_up(name)
        for a in ACTIONS:
            title = a.tunnel_title(name, up)
            if title is not None:
                found.append(Entry(title, partial(getattr(app.flows, a.method), name),
                                   f"{a.help} · keys {a.display_keys()}", (*a.words(), name)))
    for info in session.devices:
        if info.state == "device" and info.serial != session.serial:
            found.append(Entry(f"device: use {info.serial}",
                               partial(app.choose_device, info.serial), info.model or "",
                               ("phone", "switch", "use")))
    return found


def rank(query: str, title: str, words: Iterable[str]) -> float:
    """How well `query` names an entry, from its words (0: not at all)."""
    q = " ".join(query.lower().split())
    if not q:
        return 0.0
    aliases = [w.lower() for w in words]
    if q in aliases:
        return 1.0
    vocab = set(re.findall(r"[\w.+=-]+", title.lower()))
    vocab |= {part for w in aliases for part in w.split()}
    if all(any(v.startswith(term) for v in vocab) for term in q.split()):
        return 0.9
    if q in title.lower():
        return 0.8
    return 0.0


class WgdroidCommands(Provider):
    def _app(self) -> WgdroidApp:
        return self.app  # type: ignore[return-value]

    async def discover(self) -> Hits:
        for e in entries(self._app(), self.screen):
            yield DiscoveryHit(e.title, e.run, help=e.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for e in entries(self._app(), self.screen):
            fuzzy = matcher.match(e.title)  # unbounded: squashed into [0, FUZZY_WEIGHT)
            score = rank(query, e.title, e.words) or FUZZY_WEIGHT * fuzzy / (1 + fuzzy)
            if score > 0:
                yield Hit(score, matcher.highlight(e.title), e.run, text=e.title, help=e.help)
