"""The editor, driven with keys through Pilot (no device: saving only
dismisses with the bytes; the sim tests push them to a phone)."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

from textual.widgets import Collapsible, Input, Static, TabbedContent, TextArea
from tui_sample import PEER, PRIVATE, Notes, SampleAdapter, config, shown, sync, until

from wgdroid.config.dialect import Dialect
from wgdroid.config.parser import parse
from wgdroid.tui import allowedips
from wgdroid.tui.app import WgdroidApp
from wgdroid.tui.screens.dialogs import ConfirmScreen
from wgdroid.tui.screens.editor import EditorScreen

SIZE = (100, 40)


def _app() -> WgdroidApp:
    return WgdroidApp(SampleAdapter(), poll=False, offer_sim=False)


def _text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


async def _open(app: WgdroidApp, pilot: Any, editor: EditorScreen) -> list[Any]:
    results: list[Any] = []
    await app.push_screen(editor, results.append)
    await until(pilot, "the first check", lambda: editor.checks and not editor.check_pending)
    return results


async def rechecked(pilot: Any, editor: EditorScreen, change: Callable[[], Awaitable[None]]
                    ) -> None:
    """Make a change, then wait for the re-check it triggers (after a quiet time)."""
    before = editor.checks
    await change()
    await until(pilot, "the re-check",
                lambda: editor.checks > before and not editor.check_pending)


async def _type(pilot: Any, screen: EditorScreen, selector: str, text: str) -> None:
    widget = screen.query_one(selector, Input)

    async def typing() -> None:
        widget.focus()
        widget.value = ""
        if len(text) > 12:
            widget.value = text  # a pasted key: typing 44 characters only slows the test
        else:
            await pilot.press(*text)

    await rechecked(pilot, screen, typing)


@sync
async def test_new_tunnel_shows_errors_at_fields_then_saves() -> None:
    app = _app()
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        editor = EditorScreen(None, taken=frozenset({"home"}))
        results = await _open(app, pilot, editor)
        await _type(pilot, editor, "#name", "home")
        assert "exists already" in _text(editor, "#name-msg")
        await _type(pilot, editor, "#name", "wg9")
        await _type(pilot, editor, "#if-listen_port", "99999")
        assert _text(editor, "#if-listen_port-msg") == (
            "✗ 99999 is out of range for a port (0-65535)")
        assert editor.query_one("#if-listen_port").has_class("-invalid")
        assert _text(editor, "#p0-public_key-msg") == "✗ is missing"
        await pilot.press("ctrl+s")
        await until(pilot, "the refusal", lambda: notes.titled("Not saved"))
        assert results == [] and app.screen is editor  # not saved while invalid
        await _type(pilot, editor, "#if-listen_port", "51820")
        assert _text(editor, "#if-listen_port-msg") == ""
        await _type(pilot, editor, "#if-addresses", "10.9.0.2/32")
        await _type(pilot, editor, "#p0-public_key", PEER)
        assert "✓ valid" in _text(editor, "#summary")
        await pilot.press("ctrl+s")
        await until(pilot, "the save", lambda: results)
        assert len(results) == 1
        name, data = results[0]
        parsed = parse(data, filename=f"{name}.conf")
        assert name == "wg9" and parsed.config.interface.listen_port == 51820
        assert parsed.config.peers[0].public_key.base64() == PEER


@sync
async def test_dialect_warning_shown_next_to_field() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        editor = EditorScreen("home", config("home"))
        await _open(app, pilot, editor)
        await _type(pilot, editor, "#if-table", "off")
        assert "Android wg-quick has no Table" in _text(editor, "#if-table-msg")
        assert editor.query_one("#if-table").has_class("-warning")


@sync
async def test_generate_and_copy_public_key() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        editor = EditorScreen("home", config("home"))
        await _open(app, pilot, editor)
        before = _text(editor, "#public-key")
        await pilot.press("ctrl+g")
        await until(pilot, "the new key", lambda: _text(editor, "#public-key") != before)
        after = _text(editor, "#public-key")
        assert after.startswith("public key: ")
        await pilot.press("ctrl+y")
        await until(pilot, "the copy", lambda: app.clipboard == after.removeprefix(
            "public key: "))


@sync
async def test_exclude_private_ips_and_peers() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        editor = EditorScreen("home", config("home"))
        await _open(app, pilot, editor)
        field = editor.query_one("#p0-allowed_ips", Input)
        field.focus()
        await until(pilot, "the focus", lambda: field.has_focus)
        await pilot.press("ctrl+e")
        await until(pilot, "the exclusion", lambda: "::/0" in field.value
                    and "0.0.0.0/0" not in allowedips.split_items(field.value))
        items = allowedips.split_items(field.value)
        assert "1.1.1.1/32" in items
        assert set(allowedips.IPV4_PUBLIC_NETWORKS) <= set(items)
        await pilot.press("ctrl+e")
        await until(pilot, "the inclusion", lambda: allowedips.split_items(
            field.value) == ["0.0.0.0/0", "::/0"])
        await rechecked(pilot, editor, lambda: pilot.press("ctrl+n"))
        assert len(editor.query(".peer")) == 2
        await until(pilot, "the new peer's focus",
                    lambda: editor.query_one("#p1-public_key", Input).has_focus)
        assert _text(editor, "#p1-public_key-msg") == "✗ is missing"
        await pilot.press("ctrl+w")
        await until(pilot, "the removal", lambda: len(editor.query(".peer")) == 1)
        assert editor.query_one("#p0-endpoint", Input).value == "vpn.example.com:51820"


@sync
async def test_raw_mode_shows_parser_lines_and_round_trips() -> None:
    app = _app()
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        editor = EditorScreen("home", config("home"))
        results = await _open(app, pilot, editor)
        tabs = editor.query_one("#modes", TabbedContent)
        raw = editor.query_one("#raw", TextArea)
        await pilot.press("ctrl+t")
        await until(pilot, "raw mode", lambda: editor.mode == "raw")
        assert tabs.active == "raw-tab" and raw.text.startswith("# home\n[Interface]")

        async def set_raw(text: str) -> None:
            raw.text = text

        await rechecked(pilot, editor, lambda: set_raw(raw.text.replace(
            "Address = 10.0.0.2/32", "Address = 10.0.0.300/32")))
        issues = _text(editor, "#raw-issues")
        assert issues.startswith("home.conf:4: [Interface] Address: '10.0.0.300/32'")
        await pilot.press("ctrl+t")  # refused while invalid
        await until(pilot, "the refusal", lambda: notes.titled("Fix the raw text first"))
        assert tabs.active == "raw-tab" and editor.mode == "raw"
        await rechecked(pilot, editor, lambda: set_raw(raw.text.replace(
            "10.0.0.300/32", "10.0.0.3/32").replace("[Peer]", "# the server\n[Peer]")))
        assert _text(editor, "#raw-issues") == "✓ valid"
        await pilot.press("ctrl+t")
        await until(pilot, "form mode", lambda: editor.mode == "form"
                    and editor.query_one("#if-addresses", Input).value == "10.0.0.3/32")
        assert tabs.active == "form-tab"
        await _type(pilot, editor, "#if-mtu", "1380")
        await pilot.press("ctrl+s")
        await until(pilot, "the save", lambda: results)
        name, data = results[0]
        text = data.decode()
        assert name == "home" and "# the server" in text and "MTU = 1380" in text


@sync
async def test_a_broken_config_opens_as_raw_text_with_line_errors() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        editor = EditorScreen("old", "[Interface]\nPrivateKey = nope\nBogus = 1\n")
        await _open(app, pilot, editor)
        assert editor.query_one("#modes", TabbedContent).active == "raw-tab"
        issues = _text(editor, "#raw-issues").splitlines()
        assert issues[0].startswith("old.conf:2: [Interface] PrivateKey:")
        assert issues[1] == "old.conf:3: [Interface] unknown key 'Bogus'"
        assert "nope" not in _text(editor, "#raw-issues")  # a key's value is never echoed


@sync
async def test_3_esc_asks_before_throwing_edits_away() -> None:
    """#3: Esc in the editor threw edits away without asking (form and raw)."""
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        editor = EditorScreen("home", config("home"))
        results = await _open(app, pilot, editor)
        await _type(pilot, editor, "#if-mtu", "1380")
        await pilot.press("escape")
        dialog = await shown(pilot, ConfirmScreen)
        assert str(dialog.query_one(".dialog-title").content) == "Discard changes?"
        await pilot.press("enter")  # it starts on Cancel
        await until(pilot, "back in the editor", lambda: app.screen is editor)
        assert results == [] and editor.query_one("#if-mtu", Input).value == "1380"
        await pilot.press("ctrl+t")
        await until(pilot, "raw mode", lambda: editor.mode == "raw")
        raw = editor.query_one("#raw", TextArea)

        async def comment() -> None:
            raw.text = "# a note\n" + raw.text

        await rechecked(pilot, editor, comment)
        await pilot.press("escape")
        await shown(pilot, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, "closed without saving", lambda: results == [None])


@sync
async def test_3_esc_closes_at_once_when_nothing_changed() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        editor = EditorScreen("home", config("home"))
        results = await _open(app, pilot, editor)
        await pilot.press("ctrl+t")  # a look at the raw text changes nothing
        await until(pilot, "raw mode", lambda: editor.mode == "raw")
        await pilot.press("escape")
        await until(pilot, "closed", lambda: results == [None])


@sync
async def test_3_keys_are_hidden_in_both_modes_until_revealed() -> None:
    """#3: raw mode showed the private key in clear; after ctrl+t the text
    needed two Tabs before typing reached it."""
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        psk = base64.b64encode(bytes(range(32))).decode()
        text = config("home").replace("[Peer]\n", f"[Peer]\nPresharedKey = {psk}\n")
        editor = EditorScreen("home", text)
        results = await _open(app, pilot, editor)
        private = editor.query_one("#if-private_key", Input)
        assert private.password
        await pilot.press("ctrl+t")
        raw = editor.query_one("#raw", TextArea)
        await until(pilot, "raw mode", lambda: editor.mode == "raw" and raw.has_focus)
        assert PRIVATE not in raw.text and psk not in raw.text
        assert "PrivateKey = «hidden key 1»" in raw.text
        assert "PresharedKey = «hidden key 2»" in raw.text
        await pilot.press("ctrl+r")
        await until(pilot, "the keys shown", lambda: PRIVATE in raw.text)
        await pilot.press("ctrl+r")
        await until(pilot, "the keys hidden", lambda: PRIVATE not in raw.text)
        await rechecked(pilot, editor, lambda: pilot.press("end", *" 1380"))  # typing lands
        await pilot.press("ctrl+s")
        await until(pilot, "the save", lambda: results)
        _, data = results[0]
        saved = data.decode()
        assert f"PrivateKey = {PRIVATE}" in saved and f"PresharedKey = {psk}" in saved
        assert "«hidden" not in saved


@sync
async def test_3_reveal_shows_the_form_keys_too() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        editor = EditorScreen("home", config("home"))
        await _open(app, pilot, editor)
        private = editor.query_one("#if-private_key", Input)
        await pilot.press("ctrl+r")
        await until(pilot, "the key shown", lambda: not private.password)
        await pilot.press("ctrl+n")  # a new peer's preshared key follows the choice
        await until(pilot, "the new peer", lambda: len(editor.query(".peer")) == 2)
        assert not editor.query_one("#p1-preshared_key", Input).password


@sync
async def test_10_warnings_follow_the_phones_wg_quick() -> None:
    """#10: the editor's Table / "Linux keys" warnings ignored the phone's wg-quick."""
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        editor = EditorScreen("home", config("home"), dialect=Dialect.LINUX)
        await _open(app, pilot, editor)
        await _type(pilot, editor, "#if-table", "off")
        assert _text(editor, "#if-table-msg") == ""
        assert not editor.query_one("#if-table").has_class("-warning")
        assert "Linux" not in str(editor.query_one(Collapsible).title)


@sync
async def test_every_field_of_every_peer_is_reachable_at_80x24() -> None:
    """The peers' box took the form's leftover height (1fr) inside the scrolling
    form: at 80x24 only a peer's PublicKey showed and nothing scrolled."""
    from wgdroid.tui.form import INTERFACE_FIELDS, PEER_FIELDS, field_id

    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        editor = EditorScreen("home", config("home"))
        await _open(app, pilot, editor)
        await editor.action_add_peer()  # two peers
        form_box = editor.query_one("#form")
        ids = [field_id(None, s.attr) for s in INTERFACE_FIELDS if not s.advanced]
        ids += [field_id(n, s.attr) for n in (0, 1) for s in PEER_FIELDS]
        for fid in ids:
            widget = editor.query_one(f"#{fid}")
            widget.focus()  # Textual scrolls the focused field into view
            await pilot.pause()
            shown_at = widget.region
            assert shown_at.height >= 1 and form_box.region.contains_region(shown_at), (
                fid, shown_at, form_box.region)
        assert form_box.max_scroll_y > 0


@sync
async def test_the_palette_offers_the_editors_own_actions() -> None:
    """Over the editor the palette listed the main screen's actions (its "create
    a new tunnel" opened a second editor) and none of the editor's."""
    from tui_sample import run_from_palette

    from wgdroid.tui.commands import entries

    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        editor = EditorScreen("home", config("home"))
        await _open(app, pilot, editor)
        titles = [e.title for e in entries(app, editor)]
        for binding in EditorScreen.BINDINGS:
            assert any(binding.tooltip in t for t in titles), (binding, titles)  # type: ignore[union-attr]
        assert "app: keys and actions" in titles
        assert not [t for t in titles if t.startswith(("tunnel:", "device:", "import:"))]

        await run_from_palette(pilot, "raw", "form and raw")
        await until(pilot, "raw mode", lambda: app.screen is editor and editor.mode == "raw")
        assert len(app.screen_stack) == 2  # main screen and this editor, no second one
