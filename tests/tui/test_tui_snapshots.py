"""Snapshots of the main screens with fixed sample data
(update with `pytest tests/tui/test_snapshots.py --snapshot-update`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.screen import Screen
from tui_sample import SampleAdapter, capabilities, config, fill, until

from wgdroid.tui.app import WgdroidApp
from wgdroid.tui.screens.detail import DetailScreen
from wgdroid.tui.screens.doctor import DoctorScreen
from wgdroid.tui.screens.editor import EditorScreen

SIZE = (100, 30)


def _app() -> WgdroidApp:
    return WgdroidApp(SampleAdapter(), poll=False, offer_sim=False)


def _shot(snap_compare: Any, make: Callable[[WgdroidApp], Screen[Any]] | None = None) -> bool:
    app = _app()

    async def before(pilot: Any) -> None:
        await fill(app, pilot)
        if make is None:
            return
        screen = make(app)
        await app.push_screen(screen)
        if isinstance(screen, EditorScreen):  # it validates after a short quiet time
            await until(pilot, "the check", lambda: screen.checks and not screen.check_pending)

    return bool(snap_compare(app, run_before=before, terminal_size=SIZE))


def test_main_screen(snap_compare: Any) -> None:
    assert _shot(snap_compare)


def test_detail_screen(snap_compare: Any) -> None:
    assert _shot(snap_compare, lambda app: DetailScreen("home", app.session))


def test_doctor_screen(snap_compare: Any) -> None:
    assert _shot(snap_compare, lambda app: DoctorScreen(capabilities()))


def test_editor_screen_with_a_warning(snap_compare: Any) -> None:
    text = config("home").replace("DNS = 1.1.1.1", "DNS = 1.1.1.1\nTable = off")
    assert _shot(snap_compare, lambda app: EditorScreen("home", text))
