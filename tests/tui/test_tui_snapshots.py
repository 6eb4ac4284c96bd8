"""Snapshots with fixed sample data at a small, a medium and a large terminal
(update with `pytest tests/tui/test_tui_snapshots.py --snapshot-update`).

Each one waits for what it shows (the configs read, the editor's check done),
never for a time: they must come out the same on a loaded machine."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from tui_sample import SampleAdapter, capabilities, config, fill, qr_drawn, until

from wgdroid.tui.app import WgdroidApp
from wgdroid.tui.screens.doctor import DoctorScreen
from wgdroid.tui.screens.editor import EditorScreen
from wgdroid.tui.widgets.detail_pane import DetailPane

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 36), id="120x36"),
         pytest.param((200, 60), id="200x60")]

Step = Callable[[WgdroidApp, Any], Awaitable[None]]


def _shot(snap_compare: Any, size: tuple[int, int], step: Step | None = None) -> bool:
    app = WgdroidApp(SampleAdapter(), poll=False, offer_sim=False)

    async def before(pilot: Any) -> None:
        await fill(app, pilot)
        if step is not None:
            await step(app, pilot)

    return bool(snap_compare(app, run_before=before, terminal_size=size))


def _details_of(row: int) -> Step:
    async def step(app: WgdroidApp, pilot: Any) -> None:
        for _ in range(row):
            await pilot.press("down")
        await pilot.press("enter")
        pane = app.main_screen.query_one(DetailPane)
        await until(pilot, "the details focused", lambda: pane.has_focus)

    return step


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert _shot(snap_compare, size)


@pytest.mark.parametrize("size", SIZES)
def test_details_of_an_up_tunnel(snap_compare: Any, size: tuple[int, int]) -> None:
    assert _shot(snap_compare, size, _details_of(0))


@pytest.mark.parametrize("size", SIZES)
def test_details_of_a_down_tunnel(snap_compare: Any, size: tuple[int, int]) -> None:
    assert _shot(snap_compare, size, _details_of(1))


def test_doctor_screen(snap_compare: Any) -> None:
    async def step(app: WgdroidApp, pilot: Any) -> None:
        await app.push_screen(DoctorScreen(capabilities()))

    assert _shot(snap_compare, (100, 30), step)


@pytest.mark.parametrize("size", SIZES)
def test_editor_screen_with_a_warning(snap_compare: Any, size: tuple[int, int]) -> None:
    async def step(app: WgdroidApp, pilot: Any) -> None:
        text = config("home").replace("DNS = 1.1.1.1", "DNS = 1.1.1.1\nTable = off")
        editor = EditorScreen("home", text)
        await app.push_screen(editor)
        # It validates after a short quiet time.
        await until(pilot, "the check", lambda: editor.checks and not editor.check_pending)

    assert _shot(snap_compare, size, step)


@pytest.mark.parametrize("size", SIZES)
def test_qr_code(snap_compare: Any, size: tuple[int, int]) -> None:
    async def step(app: WgdroidApp, pilot: Any) -> None:
        await qr_drawn(pilot)

    assert _shot(snap_compare, size, step)
