"""Key bindings made from the action registry: every one runs `app.do('<id>')`."""

from __future__ import annotations

from textual.binding import Binding, BindingType

from wgdroid.tui.actions import ACTIONS, Scope


def bindings(*scopes: Scope) -> list[BindingType]:
    """The registry's actions of these scopes, in registry order (the footer's)."""
    return [Binding(a.keys, f"app.do('{a.id}')", a.description, show=a.show, id=a.id,
                    tooltip=a.help) for a in ACTIONS if a.scope in scopes]
