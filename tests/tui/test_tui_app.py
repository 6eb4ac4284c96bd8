"""The main screen, palette, dialogs, QR widget and error handling, with
fixed sample data (no device; the device flows are in test_sim_flows.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input
from tui_sample import (
    PRIVATE,
    SERIAL,
    Notes,
    SampleAdapter,
    config,
    fill,
    run_from_palette,
    scan,
    shown,
    snapshot,
    sync,
    until,
)

from wgdroid.device.connection import DeviceInfo
from wgdroid.errors import RootError
from wgdroid.tui import form, paths
from wgdroid.tui.actions import ACTIONS
from wgdroid.tui.adapter import known_local_ports
from wgdroid.tui.app import WgdroidApp
from wgdroid.tui.commands import WgdroidCommands, entries, rank
from wgdroid.tui.flows import Flows
from wgdroid.tui.screens.dialogs import ConfirmScreen, PromptScreen
from wgdroid.tui.screens.editor import EditorScreen
from wgdroid.tui.screens.help import HelpScreen, KeyTable
from wgdroid.tui.screens.qr import QrScreen
from wgdroid.tui.widgets.activity import ActivityLog
from wgdroid.tui.widgets.detail_pane import DetailPane
from wgdroid.tui.widgets.qr_view import QrView
from wgdroid.tui.widgets.tunnel_table import name_cell, rows

SIZE = (120, 36)
ROOT = Path(__file__).resolve().parents[2]


def _app(adapter: SampleAdapter | None = None) -> WgdroidApp:
    return WgdroidApp(adapter or SampleAdapter(), poll=False, offer_sim=False)


def _cells(table: DataTable[object], column: str) -> list[str]:
    return [str(table.get_cell(row, column)) for row in table.rows]


def test_qr_view_draws_a_scannable_code() -> None:
    text = config("home")
    assert scan(QrView(text).drawing) == text


def test_the_official_apps_tunnels_are_marked() -> None:
    """Issue 11 #9: a tunnel the official app stored (`source` app in list) is
    marked in the list, up or down; the row stays keyed by its name."""
    import dataclasses

    base = snapshot()  # home and office up, lab down
    mixed = dataclasses.replace(base, tunnels=[
        dataclasses.replace(t, source="app") if t.name in ("home", "lab") else t
        for t in base.tunnels])
    listed = rows(mixed)
    assert [name_cell(r) for r in listed] == ["home (app)", "lab (app)", "office"]
    assert [r.name for r in listed] == ["home", "lab", "office"]


def test_every_action_has_an_id_keys_and_a_palette_name() -> None:
    ids = [a.id for a in ACTIONS]
    assert len(ids) == len(set(ids))
    for a in ACTIONS:
        assert a.keys and a.palette_name.startswith(f"{a.category}: ")
        assert callable(getattr(Flows, a.method))


@sync
async def test_main_screen_shows_phone_and_tunnels() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await fill(app, pilot)
        devices = app.main_screen.query_one("#devices", DataTable)
        assert _cells(devices, "model") == ["Pixel 8"] and _cells(devices, "root") == ["magisk"]
        assert _cells(devices, "ready") == ["✓ wireguard-go"]
        tunnels = app.main_screen.query_one("#tunnels", DataTable)
        assert _cells(tunnels, "name") == ["home", "lab", "office"]
        assert _cells(tunnels, "state") == ["● up", "○ down", "● up"]
        assert _cells(tunnels, "handshake") == ["12s ago", "—", "6m 40s ago (stale)"]
        # A down tunnel's endpoint comes from its config (issue 14 #4: it read "—").
        assert _cells(tunnels, "endpoint") == [
            "198.51.100.7:51820", "vpn.example.com:51820", "198.51.100.7:51820"]
        assert app.session.history("home")[-1] == (20480.0, 4096.0)  # between the two polls


@sync
async def test_palette_commands_follow_state_and_run() -> None:
    adapter = SampleAdapter()
    app = _app(adapter)
    async with app.run_test(size=SIZE) as pilot:
        await fill(app, pilot)
        names = [e.title for e in entries(app)]
        for expected in ("tunnel: disable home", "tunnel: enable lab", "tunnel: edit office",
                         "export: QR code of lab", "device: what the phone has and lacks, "
                         "with fixes", "import: import a .conf, a .zip or a QR image"):
            assert expected in names
        await run_from_palette(pilot, "enable lab", "enable lab")
        await until(pilot, "the enable", lambda: any(
            re.search(r"enable lab: done \(\d+\.\d s\)$", line)
            for line in app.session.activity))
        assert ("enable", "lab") in adapter.calls


async def _best(app: WgdroidApp, query: str) -> str:
    """The palette's first hit for `query` (it sorts hits by score, stably)."""
    hits = [hit async for hit in WgdroidCommands(app.screen).search(query)]
    assert hits, f"nothing found for {query!r}"
    return str(max(hits, key=lambda hit: hit.score).text)


@sync
async def test_palette_knows_the_footer_words_and_synonyms() -> None:
    """Issue 14 #5: "doctor", "help", "toggle" found nothing; "stats" found
    "start a simulated phone"."""
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await fill(app, pilot)
        assert await _best(app, "doctor") == "device: what the phone has and lacks, with fixes"
        assert await _best(app, "help") == "app: keys and actions"
        assert await _best(app, "toggle") == "tunnel: disable home"
        assert await _best(app, "stats") == "tunnel: details of home"
        assert await _best(app, "remove lab") == "tunnel: delete lab"
        assert await _best(app, "quit") == "app: quit wgdroid"


def test_every_footer_word_finds_its_action() -> None:
    for a in ACTIONS:
        for word in (a.description.lower(), *a.aliases):
            assert rank(word, a.palette_name, a.words()) == 1.0, (a.id, word)


@sync
async def test_toggle_keys_and_port_clash_is_explained_first() -> None:
    adapter = SampleAdapter()
    adapter.ports["lab"] = 51821  # office (up) listens there
    app = _app(adapter)
    async with app.run_test(size=SIZE) as pilot:
        await fill(app, pilot)
        await pilot.press("down")  # home -> lab
        mark = len(adapter.calls)
        await pilot.press("space")
        dialog = await shown(pilot, ConfirmScreen)
        assert "51821" in str(dialog.query_one("#question").content)
        assert ("enable", "lab") not in adapter.calls
        await pilot.press("y")
        await until(pilot, "the swap", lambda: ("enable", "lab") in adapter.calls)
        # One su call per step: the clash came from the config read for the details
        # pane, not from a second read before enabling (issue 14 #6).
        assert adapter.since(mark) == [("disable", "office"), ("enable", "lab")]
        await pilot.press("up")
        mark = len(adapter.calls)
        await pilot.press("t")  # home is up: straight down
        await until(pilot, "the disable", lambda: adapter.since(mark) == [("disable", "home")])


@sync
async def test_device_errors_become_notifications_and_log_lines() -> None:
    adapter = SampleAdapter()
    adapter.fail["remove"] = RootError("su: permission denied by Magisk", hint="grant shell")
    app = _app(adapter)
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await fill(app, pilot)
        await pilot.press("delete")
        await shown(pilot, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, "the notification", lambda: notes.titled("Root access refused"))
        assert notes.shown[-1].title == "delete home: Root access refused"
        assert notes.shown[-1].message == "su: permission denied by Magisk\ngrant shell"
        log = app.main_screen.query_one("#activity", ActivityLog)
        await until(pilot, "the log line", lambda: any(
            "delete home: failed: su: permission denied" in str(s.text) for s in log.lines))


@sync
async def test_status_poll_pauses_under_a_modal() -> None:
    adapter = SampleAdapter()
    app = _app(adapter)
    async with app.run_test(size=SIZE) as pilot:
        await fill(app, pilot)
        app.polling = True
        app.push_screen(ConfirmScreen("t", "q"))
        await pilot.pause()
        steps = adapter.step
        app._kick_status()  # under the dialog: re-armed, no poll started
        assert adapter.step == steps and not app._status_busy
        app.pop_screen()
        app._kick_status()
        await until(pilot, "the poll", lambda: adapter.step == steps + 1
                    and not app._status_busy)
        assert app.session.snapshot is not None
        assert app.session.snapshot.serial == SERIAL


@sync
async def test_detail_help_and_qr_screens() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await fill(app, pilot)
        pane = app.main_screen.query_one(DetailPane)
        await pilot.press("enter")
        await until(pilot, "the details focused", lambda: pane.has_focus)
        assert pane.shown is not None and pane.shown.name == "home"
        assert pane.shown.headline == "up · wireguard-go · port 51820 · up 1h 01m · 1 peer"
        await pilot.press("escape")
        tunnels = app.main_screen.query_one("#tunnels", DataTable)
        await until(pilot, "the list focused", lambda: tunnels.has_focus)
        await pilot.press("f1")
        help_screen = await shown(pilot, HelpScreen)
        assert len(help_screen.query_one("#help-main", KeyTable).rows) == len(ACTIONS)
        await pilot.press("escape")
        await until(pilot, "the main screen", lambda: app.screen is app.main_screen)
        await pilot.press("v")
        qr = await shown(pilot, QrScreen)
        assert scan(qr.query_one(QrView).drawing) == config("home")


async def _export_to(folder: Path, *, expected_start: str) -> str:
    """Export with x into `folder`; what the notification said. Every tunnel
    comes in one pull_many (one su on a phone), none on its own."""
    adapter = SampleAdapter()
    app = _app(adapter)
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await fill(app, pilot)
        await pilot.press("x")
        prompt = await shown(pilot, PromptScreen)
        answer = prompt.query_one("#answer", Input)
        # First the home folder (no ~/Downloads here), then the one used last time.
        assert answer.value == expected_start
        answer.value = str(folder)
        start = len(adapter.calls)
        await pilot.press("enter")
        await until(pilot, "the zip", lambda: notes.titled("Export"))
    pulls = [call for call in adapter.calls[start:] if call[0] in ("pull", "pull_many")]
    assert pulls == [("pull_many", "home", "lab", "office")]
    return notes.titled("Export")[0].message


@sync
async def test_export_asks_for_a_folder_and_remembers_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """#10: the export wrote into the current directory without saying where."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    out = tmp_path / "backups"
    out.mkdir()
    for round in range(2):
        said = await _export_to(out, expected_start="~" if round == 0 else str(out))
        zips = sorted(out.glob("wireguard-export-*.zip"))
        assert len(zips) == round + 1
        assert str(zips[-1]) in said  # it says where
    target = zips[-1]
    assert target.stat().st_mode & 0o777 == 0o600
    with zipfile.ZipFile(target) as zf:
        assert sorted(zf.namelist()) == ["home.conf", "lab.conf", "office.conf"]
        assert zf.read("lab.conf").decode() == config("lab")


@sync
async def test_import_completes_paths_and_selects_what_came_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """#10: import paths were typed by hand with no completion."""
    monkeypatch.setenv("HOME", str(tmp_path))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "wg-new.conf").write_text(config("wg-new"))
    (inbox / "wg-old.conf").write_text(config("wg-old"))
    (inbox / "notes.txt").write_text("not a config")
    adapter = SampleAdapter()
    app = _app(adapter)
    async with app.run_test(size=SIZE) as pilot:
        await fill(app, pilot)
        await pilot.press("i")
        prompt = await shown(pilot, PromptScreen)
        answer = prompt.query_one("#answer", Input)
        assert answer.value == "~/"
        await pilot.press(*"in", "tab")
        await until(pilot, "the folder completed", lambda: answer.value == "~/inbox/")
        await pilot.press("tab")  # the common start of the two configs (notes.txt is not one)
        await until(pilot, "the common start", lambda: answer.value == "~/inbox/wg-")
        await pilot.press("n", "tab")
        await until(pilot, "the file", lambda: answer.value == "~/inbox/wg-new.conf")
        app.polling = True
        await pilot.press("enter")
        await until(pilot, "the import", lambda: ("push_many", "wg-new") in adapter.calls)
        await until(pilot, "the new tunnel selected", lambda: app.session.selected == "wg-new"
                    and "wg-new" in app.main_screen.query_one("#tunnels", DataTable).rows)
        app.polling = False


@sync
async def test_a_zip_is_imported_in_one_batch_and_each_refusal_is_said(tmp_path: Path) -> None:
    """The import pushed each tunnel of a zip on its own (a su each on a
    phone): now one push_many takes them all, and what the phone refuses (a
    name it has) or the user must allow (hooks) is said per tunnel while the
    rest land; the hooked ones go in a second batch once allowed."""
    hooked = config("hooked").replace("[Peer]", "PostUp = echo up\n\n[Peer]", 1)
    archive = tmp_path / "tunnels.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("new1", "home", "hooked", "new2"):
            zf.writestr(f"{name}.conf", hooked if name == "hooked" else config(name))
        zf.writestr("bad name!.conf", config("x"))
    adapter = SampleAdapter()
    app = _app(adapter)
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await fill(app, pilot)
        app.session.caps[SERIAL].wg_quick_variant = "linux"  # a Linux wg-quick runs hooks
        mark = len(adapter.calls)
        app.flows.import_path(str(archive))
        dialog = await shown(pilot, ConfirmScreen)
        assert adapter.since(mark, "push", "push_many") == [
            ("push_many", "new1", "home", "hooked", "new2")]
        said = notes.titled("Import")[0]
        assert said.message.startswith("imported 2 of 5 tunnels") and said.severity == "warning"
        assert "home: a tunnel named 'home' already exists" in said.message
        assert "bad name!" in said.message and "not stored yet" in said.message
        assert adapter.texts["new1"] == config("new1") and adapter.texts["new2"] == config("new2")
        assert "PostUp at line" in str(dialog.query_one("#question").content)  # type: ignore[attr-defined]
        mark = len(adapter.calls)
        await until(pilot, "Cancel focused", lambda: dialog.focused is not None)
        await pilot.press("y")
        await until(pilot, "the hooked one", lambda: len(notes.titled("Import")) == 2)
    assert adapter.since(mark, "push", "push_many") == [("push_many", "hooked")]
    assert adapter.texts["hooked"] == hooked and "home" not in adapter.texts
    assert notes.titled("Import")[1].message == "imported with hooks: hooked"


@sync
async def test_a_zip_import_cut_off_says_what_was_stored_and_what_is_not_known(
        tmp_path: Path) -> None:
    """A zip import whose batch the host stopped waiting for after two
    entries: it used to fail whole ("did not finish"), with no word of the
    two stored. Now those two count as imported and the rest are named as
    not known, pointing at the list."""
    archive = tmp_path / "tunnels.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("new1", "new2", "new3", "new4"):
            zf.writestr(f"{name}.conf", config(name))
    adapter = SampleAdapter()
    adapter.cut_after = 2
    app = _app(adapter)
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await fill(app, pilot)
        app.flows.import_path(str(archive))
        await until(pilot, "the import said", lambda: notes.titled("Import"))
        said = notes.titled("Import")[0]
        assert said.severity == "warning"
        assert said.message.splitlines() == [
            "imported 2 of 4 tunnels, 2 not known (cut off): the list shows what holds",
            *(f"{n}: not known whether it is stored: the batch was cut off (timeout) before "
              "this entry answered" for n in ("new3", "new4"))]
        assert app.session.expected == "new1"  # the cursor goes to what came in
    assert set(adapter.texts) == {"new1", "new2"}


@sync
async def test_hooks_are_stored_only_when_the_user_says_so(tmp_path: Path) -> None:
    """A PostUp hook runs as root under a Linux wg-quick: the device layer
    refuses it unless allowed, and the TUI asks (Cancel first) for a save and
    for an import."""
    hooked = config("hooked").replace("[Peer]", "PostUp = echo up\n\n[Peer]", 1)
    (tmp_path / "inhook.conf").write_text(hooked.replace("# hooked", "# inhook"))
    adapter = SampleAdapter()
    app = _app(adapter)
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await fill(app, pilot)
        # An Android bring-up never runs hooks: no question, it says so.
        app.flows._save(("hooked", hooked.encode()), restart=False)
        await until(pilot, "the refusal", lambda: notes.titled("Not stored"))
        assert "refuses hooks" in notes.titled("Not stored")[0].message
        assert app.screen is app.main_screen and "hooked" not in adapter.texts
        app.session.caps[SERIAL].wg_quick_variant = "linux"  # a Linux wg-quick runs them
        for ask, answer in ((lambda: app.flows._save(("hooked", hooked.encode()),
                                                     restart=False), "enter"),
                            (lambda: app.flows._save(("hooked", hooked.encode()),
                                                     restart=False), "y"),
                            (lambda: app.flows.import_path(str(tmp_path / "inhook.conf")),
                             "y")):
            mark = len(adapter.calls)
            ask()
            dialog = await shown(pilot, ConfirmScreen)
            assert "PostUp at line" in str(dialog.query_one("#question").content)  # type: ignore[attr-defined]
            await until(pilot, "Cancel focused", lambda d=dialog: d.focused is not None
                        and d.focused.id == "no")
            await pilot.press(answer)
            if answer == "enter":  # Cancel: nothing stored
                await until(pilot, "the dialog gone", lambda: app.screen is app.main_screen)
                assert adapter.since(mark, "push") == []
            else:
                await until(pilot, "the push",
                            lambda m=mark: adapter.since(m, "push", "push_many"))
        assert adapter.texts["hooked"] == hooked and "PostUp" in adapter.texts["inhook"]


@sync
async def test_a_config_refused_for_its_hooks_stays_in_the_editor() -> None:
    """The Android bring-up refuses hooks: the save is not stored and the
    editor, with the user's text, stays open (it used to close)."""
    adapter = SampleAdapter()
    adapter.texts["home"] = config("home").replace("[Peer]", "PostUp = echo up\n\n[Peer]", 1)
    app = _app(adapter)
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await fill(app, pilot)
        app.flows.edit("home")
        editor = await shown(pilot, EditorScreen)
        await until(pilot, "the first check", lambda: editor.checks)
        await pilot.press("ctrl+s")
        await until(pilot, "the refusal", lambda: notes.titled("Not stored"))
        await until(pilot, "the editor usable again", lambda: not editor.saving)
        assert app.screen is editor and "push" not in {c[0] for c in adapter.calls}


@sync
async def test_the_editor_takes_no_changes_while_its_save_is_on_the_way() -> None:
    """Changes made while the push runs would be lost when the save closes the
    editor: the form is greyed and the editing actions are off until then."""
    release = threading.Event()

    class SlowPush(SampleAdapter):
        def push(self, serial: str, name: str, data: bytes, *, restart: bool = False,
                 allow_hooks: bool = False) -> None:
            release.wait(30)
            super().push(serial, name, data, restart=restart, allow_hooks=allow_hooks)

    adapter = SlowPush()
    app = _app(adapter)
    async with app.run_test(size=SIZE) as pilot:
        await fill(app, pilot)
        app.flows.edit("home")
        editor = await shown(pilot, EditorScreen)
        await until(pilot, "the first check", lambda: editor.checks)
        await pilot.press("ctrl+s")
        await until(pilot, "saving", lambda: editor.saving)
        assert editor.query_one("#if-addresses", Input).is_disabled
        await pilot.press("ctrl+t", "ctrl+n")
        await pilot.pause()
        assert editor.mode == "form" and len(editor.query(".peer")) == 1
        release.set()
        await until(pilot, "saved and closed", lambda: app.screen is app.main_screen)
        assert "home" in adapter.texts


def test_path_completion_and_free_sim_ports(tmp_path: Path) -> None:
    (tmp_path / "a-dir").mkdir()
    (tmp_path / "a.conf").write_text("")
    (tmp_path / ".hidden.conf").write_text("")
    assert paths.complete(f"{tmp_path}/a") == f"{tmp_path}/a-dir/"  # no common part: the first
    assert paths.complete(f"{tmp_path}/a-") == f"{tmp_path}/a-dir/"
    assert paths.complete(f"{tmp_path}/a", dirs_only=True) == f"{tmp_path}/a-dir/"
    assert paths.complete(f"{tmp_path}/.h") == f"{tmp_path}/.hidden.conf"
    assert paths.complete(f"{tmp_path}/zz") is None
    assert known_local_ports(["127.0.0.1:15555", "emulator-5554", "localhost:15556",
                              "10.0.0.2:5555", "R58M"]) == {15555, 15556}


@sync
async def test_a_screenshot_goes_to_the_export_folder_when_downloads_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """#10: Screenshot failed when ~/Downloads was missing."""
    monkeypatch.setenv("HOME", str(tmp_path))
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await fill(app, pilot)
        saved = app.deliver_screenshot()
    assert saved is not None and os.path.dirname(saved) == str(tmp_path)
    assert os.stat(saved).st_mode & 0o777 == 0o600  # it may show a QR code


@sync
async def test_copy_public_key_of_up_and_down_tunnels() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await fill(app, pilot)
        await pilot.press("c")  # home is up: the key comes from the status
        await until(pilot, "the copy", lambda: app.clipboard == "HOMEPUBKEY")
        await pilot.press("down", "c")  # lab is down: computed from its config
        await until(pilot, "the copy", lambda: app.clipboard == form.public_key_of(PRIVATE))


def test_tui_startup_imports_stay_lean() -> None:
    code = ("import sys; import wgdroid.tui.app as a; a.WgdroidApp(); "
            "heavy = [m for m in ('pydantic', 'adbutils', 'segno', 'PIL', 'zxingcpp', "
            "'cryptography') if m in sys.modules]; assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


class HangingAdapter(SampleAdapter):
    """A phone whose status call blocks until released (a hung adb stream)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.polls = 0

    def snapshot(self, serial: str) -> Any:
        self.polls += 1
        self.release.wait(timeout=30)
        return super().snapshot(serial)


@sync
async def test_a_hung_phone_neither_freezes_the_ui_nor_piles_up_polls() -> None:
    adapter = HangingAdapter()
    app = _app(adapter)
    async with app.run_test(size=SIZE) as pilot:
        await fill(app, pilot)
        app.polling = True
        app.refresh_now()
        await until(pilot, "the hung poll", lambda: adapter.polls == 1)
        assert app._status_busy
        for _ in range(3):  # refresh requests while hung: remembered, not started
            await pilot.press("f5")
        app._kick_status()  # what the poll timer does: nothing while one runs
        assert adapter.polls == 1
        await pilot.press("f1")  # the UI still answers keys
        await until(pilot, "the help", lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await until(pilot, "the main screen", lambda: app.screen is app.main_screen)
        assert adapter.polls == 1
        adapter.release.set()
        await until(pilot, "the next poll", lambda: adapter.polls >= 2)
        app.polling = False


class HungPhone(HangingAdapter):
    """Every phone call blocks until released; the phone list can change."""

    def __init__(self) -> None:
        super().__init__()
        self.plugged = True
        self.hanging = False  # from now on
        self.hung = 0  # calls blocked right now

    def _op(self, *call: str) -> None:
        super()._op(*call)
        if not self.hanging:
            return
        self.hung += 1
        self.release.wait(timeout=30)
        self.hung -= 1

    def list_devices(self) -> list[DeviceInfo]:
        return super().list_devices() if self.plugged else []


@sync
async def test_unplugging_a_hung_phone_is_noticed_while_its_operations_hang() -> None:
    """Toggles on a hung phone each hold a thread until their timeout; the
    phone list must still be polled (asyncio's default pool has cpu+4 threads:
    on 2 cores, six hung calls starved the phone poll)."""
    adapter = HungPhone()
    app = _app(adapter)
    async with app.run_test(size=SIZE) as pilot:
        await fill(app, pilot)
        adapter.hanging = app.polling = True
        for name in ("home", "lab", "office"):
            app.flows.toggle(name)
        app.flows.show_qr("lab")  # reads the config
        app.flows.refresh()  # doctor again, a status poll
        await until(pilot, "every call hung", lambda: adapter.hung >= 5 and adapter.polls)
        adapter.plugged = False
        app.poll_devices_now()  # built with poll=False: the phone poll starts here
        await until(pilot, "the unplug noticed", lambda: {
            "chosen": app.session.serial, "hung": adapter.hung},
            check=lambda seen: seen["chosen"] is None, timeout=15)
        adapter.release.set()
        app.polling = False


@sync
async def test_a_status_poll_older_than_an_operation_is_not_shown() -> None:
    """A poll that started before an operation ended may show a state that no
    longer holds (issue 14 #9: a failing tunnel flickered "[●] up"): its answer
    is dropped, and the tunnel shows "checking" until a fresh poll arrives."""
    adapter = HangingAdapter()
    app = _app(adapter)
    async with app.run_test(size=SIZE) as pilot:
        await fill(app, pilot)
        assert len(app.session.history("office")) == 2  # the two sample polls
        app.polling = True
        app.refresh_now()
        await until(pilot, "the hung poll", lambda: adapter.polls == 1)
        await pilot.press("t")  # home is up: straight down
        await until(pilot, "the disable to end",
                    lambda: app.session.pending.get("home") == "… checking")
        assert ("disable", "home") in adapter.calls
        adapter.release.set()  # the old poll answers now, after the operation
        await until(pilot, "a fresh poll", lambda: "home" not in app.session.pending)
        assert adapter.polls == 2
        assert len(app.session.history("office")) == 3  # the old answer was not applied
        assert not app.session.is_up("home")
        app.polling = False
