"""Text from the user, a config or the phone is shown as it is, never read as
Textual markup: a typed `[/x]` ended the app with a MarkupError, and
`[Interface]` vanished from the parser's messages."""

from __future__ import annotations

import dataclasses
from typing import Any

from textual.widgets import DataTable, Input
from textual.widgets._toast import Toast
from tui_sample import PEER, PRIVATE, Notes, SampleAdapter, capabilities, sync, until

from wgdroid.exit_codes import ExitCode
from wgdroid.tui.app import WgdroidApp, exit_status
from wgdroid.tui.screens.doctor import DoctorScreen
from wgdroid.tui.screens.editor import EditorScreen

SIZE = (100, 40)


def _app() -> WgdroidApp:
    return WgdroidApp(SampleAdapter(), poll=False, offer_sim=False)


def _toasts(app: WgdroidApp) -> list[str]:
    return [str(t.render()) for t in app.screen.query(Toast)]


@sync
async def test_a_name_that_looks_like_markup_is_refused_in_plain_words() -> None:
    app = _app()
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes, notifications=True) as pilot:
        editor = EditorScreen(None)
        await app.push_screen(editor)
        await until(pilot, "the first check", lambda: editor.checks)
        editor.query_one("#name", Input).value = "[/x]"
        await pilot.press("ctrl+s")
        await until(pilot, "the refusal on screen",
                    lambda: any("[/x]" in t for t in _toasts(app)))
        assert app.screen is editor  # still editing: nothing lost
        assert notes.titled("Name")[0].markup is False


BROKEN = f"""[Interface]
PrivateKey = {PRIVATE}
Address = 10.0.0.2/32
PublicKey = {PEER}
"""


@sync
async def test_a_config_error_keeps_its_section_names() -> None:
    app = _app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        editor = EditorScreen("office", BROKEN)  # opens as raw text
        await app.push_screen(editor)
        await until(pilot, "the first check", lambda: editor.checks)
        await pilot.press("ctrl+s")
        await until(pilot, "the refusal on screen", lambda: _toasts(app))
        shown = " ".join(_toasts(app))
        assert "office.conf:4: [Interface] PublicKey" in shown, shown
        assert "[Peer]" in shown, shown


@sync
async def test_phone_values_in_tables_are_shown_whole() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        caps = dataclasses.replace(capabilities(), kernel="6.1.0 [/x] [b]odd[/b]")
        screen = DoctorScreen(caps)
        await app.push_screen(screen)
        await pilot.pause()
        table = screen.query_one("#doctor-facts", DataTable)
        cells = [str(table.get_row_at(n)[1]) for n in range(table.row_count)]
        assert "6.1.0 [/x] [b]odd[/b]" in cells
        await pilot.pause()
        assert app.screen is screen  # drawn without a MarkupError


def test_a_crash_exits_non_zero(capsys: Any) -> None:
    def bug() -> None:
        raise RuntimeError("a bug")

    async def crash(pilot: Any) -> None:
        await pilot.pause()
        pilot.app.call_later(bug)

    async def quit_(pilot: Any) -> None:
        await pilot.press("q")

    app = WgdroidApp(SampleAdapter(), poll=False, offer_sim=False)
    result = app.run(headless=True, size=SIZE, auto_pilot=crash)
    assert exit_status(app, result) == ExitCode.INTERNAL
    assert "a bug" in capsys.readouterr().err  # Textual printed the traceback
    done = WgdroidApp(SampleAdapter(), poll=False, offer_sim=False)
    assert exit_status(done, done.run(headless=True, size=SIZE, auto_pilot=quit_)) == 0


@sync
async def test_a_filter_and_a_phone_model_that_look_like_markup_are_shown_as_they_are(
) -> None:
    """Pane titles are markup when given a str: a filter typed as `[/x]` or a
    phone whose model reads `[b]` ended the app or lost its text."""
    from tui_sample import SERIAL, fill

    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await fill(app, pilot)
        app.session.caps[SERIAL].model = "Pixel [b]8[/b]"
        await pilot.press("slash")
        box = app.main_screen.query_one("#filter", Input)
        await until(pilot, "the filter box", lambda: box.has_focus)
        box.value = "[/x]"
        await pilot.press("enter")
        pane = app.main_screen.query_one("#tunnels-pane")
        await until(pilot, "the filter shown", lambda: "[/x]" in str(pane.border_subtitle))
        app.changed()
        await pilot.pause()
        assert "Pixel [b]8[/b]" in str(pane._border_title)
        assert "[/x]" in str(pane._border_subtitle)
        assert app.screen is app.main_screen
