"""Create or edit a tunnel: a field per Interface and Peer key with the
parser's messages next to each, or the raw text with line-numbered issues.

The form is validated by the project parser (see `wgdroid.tui.form`), so the
messages are the same as `wgdroid check`. With a `save` function the editor
stays open, greyed, while that stores the config, and closes only once it
was stored: a refused push (su denied, a hook refused, a lost phone) leaves
the user's text in the editor. Dismisses with (name, config bytes) once
saved (without `save`: at once), or None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import (
    Button,
    Collapsible,
    Footer,
    Input,
    Label,
    Static,
    TabbedContent,
    TabPane,
    TextArea,
)

from wgdroid.config.dialect import Dialect
from wgdroid.tui import allowedips, form
from wgdroid.tui.form import INTERFACE_FIELDS, PEER_FIELDS, FieldSpec, FormState, field_id
from wgdroid.tui.mask import hide, reveal

if TYPE_CHECKING:
    from collections.abc import Callable

    from wgdroid.config.models import TunnelConfig

    # save(name, data, finished): store it, then call finished(stored).
    Save = Callable[[str, bytes, Callable[[bool], None]], None]

CHECK_DELAY = 0.15  # seconds of quiet typing before re-validating


def name_problem(name: str, taken: frozenset[str]) -> str | None:
    from wgdroid.config.names import name_problem

    problem = name_problem(name)
    if problem is not None:
        return problem
    if name in taken:
        return f"a tunnel named {name} exists already"
    return None


def _field(peer: int | None, spec: FieldSpec, value: str, revealed: bool = False) -> Vertical:
    fid = field_id(peer, spec.attr)
    editor: Widget
    if spec.multiline:
        editor = TextArea(value, id=fid, classes="field-input -multiline", soft_wrap=False,
                          compact=True)
    else:
        editor = Input(value, id=fid, classes="field-input -secret" if spec.secret
                       else "field-input", password=spec.secret and not revealed,
                       placeholder=spec.placeholder or spec.help, compact=True)
    editor.tooltip = spec.help
    return Vertical(
        Horizontal(Label(spec.key, classes="field-label"), editor, classes="field-row"),
        Static("", id=f"{fid}-msg", classes="field-msg", markup=False),
        classes="field",
    )


def _peer_block(index: int, values: dict[str, str], revealed: bool = False) -> Vertical:
    return Vertical(
        Horizontal(
            Label(f"[Peer {index + 1}]", classes="section-title", markup=False),
            Button("Exclude private IPs", id=f"exclude-{index}", classes="small", compact=True),
            Button("Remove peer", id=f"remove-{index}", classes="small", variant="error",
                   compact=True),
            classes="peer-head",
        ),
        *[_field(index, spec, values.get(spec.attr, ""), revealed) for spec in PEER_FIELDS],
        id=f"peer-{index}",
        classes="peer",
    )


class EditorScreen(Screen[tuple[str, bytes] | None]):
    # The footer has room for the first four at 80 columns; f1 lists them all.
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="editor.save", priority=True,
                tooltip="save (pushes atomically to the phone)"),
        Binding("escape", "cancel", "Close", id="editor.cancel",
                tooltip="close the editor (asks first if something changed)"),
        Binding("ctrl+t", "switch_mode", "Form/Raw", id="editor.mode", priority=True,
                tooltip="switch between form and raw text"),
        Binding("ctrl+r", "reveal", "Show keys", id="editor.reveal", priority=True,
                tooltip="show or hide the private and preshared keys"),
        Binding("ctrl+g", "generate", "New keys", id="editor.generate", priority=True,
                show=False, tooltip="generate a new key pair"),
        Binding("ctrl+y", "copy_public_key", "Copy pubkey", id="editor.copy", priority=True,
                show=False, tooltip="copy the public key (OSC 52)"),
        Binding("ctrl+n", "add_peer", "Add peer", id="editor.add_peer", priority=True,
                show=False, tooltip="add a peer"),
        Binding("ctrl+w", "remove_peer", "Del peer", id="editor.remove_peer", show=False,
                priority=True, tooltip="remove the focused peer"),
        Binding("ctrl+e", "exclude_private", "Excl. private", id="editor.exclude",
                priority=True, show=False,
                tooltip="exclude private IPs for the focused peer (toggle)"),
    ]

    def __init__(self, name: str | None, text: str | None = None, *,
                 taken: frozenset[str] = frozenset(), dialect: Dialect | None = None,
                 save: Save | None = None) -> None:
        super().__init__()
        self.tunnel = name
        self._save = save
        self.saving = False  # a save is on its way to the phone
        self._close_later: tuple[str, bytes] | None = None  # saved: close once on top
        self.taken = taken
        # The chosen phone's wg-quick: its warnings (Table, hooks...) are the ones shown.
        self.dialect = dialect or Dialect.ANDROID
        self.revealed = False  # the secret keys are shown (ctrl+r)
        self._secrets: list[str] = []  # the raw text's hidden keys (mask.hide)
        self._raw_shown = ""  # the raw text as last loaded, keys in (for "changed?")
        self._opened = ""  # the config as opened, in one form (for "changed?")
        self.original: TunnelConfig | None = None
        self.mode = "form"
        self._timer: Timer | None = None
        self._raw_text = ""
        self._rebuilding = False
        self.last_check: form.Checked | None = None
        self.checks = 0  # validations run so far (tests wait for the next one)
        if text is None:
            self.state = form.new_state()
        else:
            config, _, _ = form.check_text(text, f"{name}.conf", self.dialect)
            if config is None:  # broken on the phone: fix it as text
                self.state, self.mode, self._raw_shown = FormState(), "raw", text
                self._raw_text, self._secrets = hide(text)
            else:
                self.state, self.original = form.from_config(config), config

    @property
    def filename(self) -> str:
        return f"{self.tunnel or self._name_input_value() or 'tunnel'}.conf"

    def _name_input_value(self) -> str:
        try:
            return self.query_one("#name", Input).value.strip()
        except NoMatches:  # before compose
            return ""

    # -- layout ----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        title = "Edit" if self.tunnel else "New tunnel"
        with Horizontal(id="name-row"):
            yield Label(title, classes="section-title")
            yield Input(self.tunnel or "", id="name", placeholder="name, e.g. wg0",
                        disabled=self.tunnel is not None, compact=True)
            yield Static("", id="name-msg", classes="field-msg", markup=False)
        with TabbedContent(id="modes", initial=f"{self.mode}-tab"):
            with TabPane("Form", id="form-tab"), VerticalScroll(id="form"):
                yield Label("[Interface]", classes="section-title", markup=False)
                with Horizontal(id="keys-row"):
                    yield Button("Generate key pair", id="generate", classes="small", compact=True)
                    yield Button("Copy public key", id="copy-public", classes="small", compact=True)
                    yield Static("", id="public-key", markup=False)
                for spec in INTERFACE_FIELDS:
                    if not spec.advanced:
                        yield _field(None, spec, self.state.interface.get(spec.attr, ""))
                advanced = [s for s in INTERFACE_FIELDS if s.advanced]
                with Collapsible(
                    title="Linux wg-quick keys (the phone's wg-quick rejects most of them)"
                    if self.dialect is Dialect.ANDROID
                    else "More wg-quick keys (hooks, Table, SaveConfig, FwMark)",
                    collapsed=not any(self.state.interface.get(s.attr) for s in advanced),
                    id="advanced",
                ):
                    for spec in advanced:
                        yield _field(None, spec, self.state.interface.get(spec.attr, ""))
                with Vertical(id="peers"):
                    for index, peer in enumerate(self.state.peers):
                        yield _peer_block(index, peer)
                yield Button("Add peer", id="add-peer", classes="small", compact=True)
            with TabPane("Raw text", id="raw-tab"):
                yield TextArea(self._raw_text, id="raw", soft_wrap=False, show_line_numbers=True)
                yield Static("", id="raw-issues", markup=False)
        yield Static("", id="summary", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        if self.mode == "raw":
            self.check_raw_now()
            self.query_one("#raw", TextArea).focus()
        else:
            self.validate_now()
            (self.query_one("#name", Input) if self.tunnel is None
             else self.query_one("#if-addresses", Input)).focus()
        self._opened = self._canonical()

    # -- changed? --------------------------------------------------------------

    def _canonical(self) -> str:
        """The config now, in one form whatever the mode (keys in: never shown)."""
        text = self._raw_value() if self.mode == "raw" else form.to_text(self.read_state())
        config, _, _ = form.check_text(text, self.filename, self.dialect)
        return form.to_text(form.from_config(config)) if config is not None else text

    def modified(self) -> bool:
        if self.mode == "raw" and self._raw_value() != self._raw_shown:
            return True  # a comment counts
        return self._canonical() != self._opened

    # -- the secret keys ---------------------------------------------------------

    def _raw_value(self) -> str:
        """The raw text with its keys (what is checked and saved)."""
        return reveal(self.query_one("#raw", TextArea).text, self._secrets)

    def _show_raw(self, text: str) -> None:
        """Put `text` (keys in) into the raw editor, its keys hidden unless revealed."""
        self._raw_shown = text
        shown, self._secrets = (text, []) if self.revealed else hide(text)
        self.query_one("#raw", TextArea).text = shown

    def action_reveal(self) -> None:
        self.revealed = not self.revealed
        for widget in self.query(".field-input.-secret"):
            if isinstance(widget, Input):
                widget.password = not self.revealed
        if self.mode == "raw":
            raw = self.query_one("#raw", TextArea)
            cursor = raw.cursor_location
            self._show_raw(self._raw_value())
            raw.cursor_location = cursor
        self.notify("keys shown: ctrl+r hides them" if self.revealed else "keys hidden",
                    title="Private keys")

    # Changes while a save is on its way would be lost when it closes the editor.
    _EDITS = frozenset({"switch_mode", "generate", "add_peer", "remove_peer", "exclude_private"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.saving and action in self._EDITS)

    def action_cancel(self) -> None:
        if self.saving:
            self.notify("saving to the phone: wait, or ctrl+x to stop waiting",
                        severity="warning")
            return
        if not self.modified():
            self.dismiss(None)
            return
        from wgdroid.tui.screens.dialogs import ConfirmScreen

        def answer(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        what = self.tunnel or "the new tunnel"
        self.app.push_screen(ConfirmScreen(
            "Discard changes?", f"Close the editor and lose your changes to {what}?",
            yes="Discard", danger=True), answer)

    # -- reading the form ------------------------------------------------------

    def _value(self, fid: str) -> str:
        widget = self.query_one(f"#{fid}")
        if isinstance(widget, TextArea):
            return widget.text
        assert isinstance(widget, Input)
        return widget.value

    def read_state(self) -> FormState:
        peers = len(self.query(".peer"))
        return FormState(
            {s.attr: self._value(field_id(None, s.attr)) for s in INTERFACE_FIELDS},
            [{s.attr: self._value(field_id(n, s.attr)) for s in PEER_FIELDS}
             for n in range(peers)],
        )

    def _set_value(self, fid: str, value: str) -> None:
        widget = self.query_one(f"#{fid}")
        if isinstance(widget, TextArea):
            widget.text = value
        else:
            assert isinstance(widget, Input)
            widget.value = value

    # -- validation ------------------------------------------------------------

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(CHECK_DELAY, self._checked_later)

    @on(Input.Changed)
    @on(TextArea.Changed)
    def _changed(self, event: Input.Changed | TextArea.Changed) -> None:
        self._schedule()

    @property
    def check_pending(self) -> bool:
        """A re-check is scheduled (typing just happened)."""
        return self._timer is not None

    def _checked_later(self) -> None:
        self._timer = None
        if self._rebuilding:  # peers are being remounted: check once they are back
            self._schedule()
        elif self.mode == "raw":
            self.check_raw_now()
        else:
            self.validate_now()

    def validate_now(self) -> form.Checked:
        """Check the form and show each message under its field."""
        state = self.read_state()
        checked = form.check(state, self.filename, self.dialect)
        self.last_check = checked
        self.checks += 1
        for fid_widget in self.query(".field-input"):
            fid = fid_widget.id or ""
            errors = checked.errors.get(fid, [])
            warnings = checked.warnings.get(fid, [])
            lines = [f"✗ {m}" for m in errors] + [f"⚠ {m}" for m in warnings]
            msg = self.query_one(f"#{fid}-msg", Static)
            msg.update("\n".join(lines))
            msg.display = bool(lines)
            fid_widget.set_class(bool(errors), "-invalid")
            fid_widget.set_class(bool(warnings) and not errors, "-warning")
            msg.set_class(bool(errors), "-error")
        if any(checked.errors.get(field_id(None, s.attr)) or checked.warnings.get(
                field_id(None, s.attr)) for s in INTERFACE_FIELDS if s.advanced):
            self.query_one("#advanced", Collapsible).collapsed = False  # show the message
        public = form.public_key_of(state.interface.get("private_key", ""))
        self.query_one("#public-key", Static).update(
            f"public key: {public}" if public else "public key: (needs a valid private key)")
        name_error = None
        if self.tunnel is None:
            value = self._name_input_value()
            name_error = name_problem(value, self.taken) if value else "a name is required"
            self.query_one("#name-msg", Static).update(f"✗ {name_error}" if name_error else "")
            self.query_one("#name", Input).set_class(name_error is not None, "-invalid")
        n_err = sum(len(v) for v in checked.errors.values()) + (1 if name_error else 0)
        n_warn = sum(len(v) for v in checked.warnings.values())
        summary = [*checked.general]
        summary.append(
            f"{n_err} problem(s), {n_warn} warning(s)" if n_err or n_warn or checked.general
            else "✓ valid")
        self.query_one("#summary", Static).update("  ".join(summary))
        return checked

    def check_raw_now(self) -> list[str]:
        """Check the raw text; show the parser's issues with their line numbers."""
        config, errors, warnings = form.check_text(self._raw_value(), self.filename,
                                                   self.dialect)
        self.checks += 1
        lines = [i.format() for i in errors] + [w.format() for w in warnings]
        if config is not None and not warnings:
            lines = ["✓ valid"]
        self.query_one("#raw-issues", Static).update("\n".join(lines))
        self.query_one("#raw-issues", Static).set_class(bool(errors), "-error")
        self.query_one("#summary", Static).update(
            f"{len(errors)} problem(s), {len(warnings)} warning(s)" if errors or warnings
            else "✓ valid")
        return lines

    # -- modes -----------------------------------------------------------------

    @on(TabbedContent.TabActivated, "#modes")
    async def _tab(self, event: TabbedContent.TabActivated) -> None:
        wanted = "raw" if event.pane.id == "raw-tab" else "form"
        if wanted == self.mode:
            return
        if wanted == "raw":
            self._to_raw()
        else:
            await self._to_form()

    def _to_raw(self) -> None:
        checked = self.validate_now()
        text = (form.merged_text(checked.config, self.original)
                if checked.config is not None else checked.text)
        self.mode = "raw"
        self._show_raw(text)
        self.check_raw_now()
        self.query_one("#raw", TextArea).focus()  # type at once, no Tab needed

    async def _to_form(self) -> None:
        config, errors, _ = form.check_text(self._raw_value(), self.filename, self.dialect)
        if config is None:
            self.notify(errors[0].format() if errors else "invalid config",
                        title="Fix the raw text first", severity="error")
            self.query_one("#modes", TabbedContent).active = "raw-tab"
            return
        self.mode = "form"
        self.original = config  # keeps the raw text's comments on save
        await self.load_state(form.from_config(config))
        self.query_one("#if-addresses", Input).focus()

    async def load_state(self, state: FormState) -> None:
        for spec in INTERFACE_FIELDS:
            self._set_value(field_id(None, spec.attr), state.interface.get(spec.attr, ""))
        await self._rebuild_peers(state.peers)
        self.validate_now()

    async def _rebuild_peers(self, peers: list[dict[str, str]]) -> None:
        box = self.query_one("#peers", Vertical)
        self._rebuilding = True
        try:
            await box.remove_children()
            await box.mount_all([_peer_block(n, p, self.revealed) for n, p in enumerate(peers)])
        finally:
            self._rebuilding = False

    def action_switch_mode(self) -> None:
        self.query_one("#modes", TabbedContent).active = (
            "form-tab" if self.mode == "raw" else "raw-tab")

    # -- helpers ---------------------------------------------------------------

    def _focused_peer(self) -> int | None:
        node = self.focused
        while node is not None:
            if node.id and node.id.startswith("peer-") and "peer" in node.classes:
                return int(node.id.split("-", 1)[1])
            if node.id and node.id[:1] == "p" and "-" in node.id and node.id[1:].split(
                    "-", 1)[0].isdigit():
                return int(node.id[1:].split("-", 1)[0])
            node = node.parent  # type: ignore[assignment]
        return 0 if len(self.query(".peer")) == 1 else None

    @on(Button.Pressed, "#generate")
    def action_generate(self) -> None:
        from wgdroid.config.types import PrivateKey

        if self.mode == "raw":
            self.notify("switch to the form (ctrl+t) to generate keys", severity="warning")
            return
        self._set_value("if-private_key", PrivateKey.generate().reveal())
        self.validate_now()
        self.notify("new key pair generated; give the peer the new public key")

    @on(Button.Pressed, "#copy-public")
    def action_copy_public_key(self) -> None:
        public = form.public_key_of(self._value("if-private_key"))
        if public is None:
            self.notify("no valid private key yet", severity="warning")
            return
        self.app.copy_to_clipboard(public)
        self.notify(public, title="Public key copied")

    @on(Button.Pressed, "#add-peer")
    async def action_add_peer(self) -> None:
        if self.mode == "raw":
            return
        index = len(self.query(".peer"))
        self._rebuilding = True  # a re-check meanwhile would find the block without fields
        try:
            await self.query_one("#peers", Vertical).mount(_peer_block(index, {}, self.revealed))
        finally:
            self._rebuilding = False
        self.query_one(f"#{field_id(index, 'public_key')}", Input).focus()
        self.validate_now()

    async def remove_peer(self, index: int) -> None:
        state = self.read_state()
        if 0 <= index < len(state.peers):
            del state.peers[index]
            await self._rebuild_peers(state.peers)
            self.validate_now()

    async def action_remove_peer(self) -> None:
        index = self._focused_peer()
        if index is None:
            self.notify("focus a field of the peer to remove", severity="warning")
            return
        await self.remove_peer(index)

    def exclude_private(self, index: int) -> None:
        fid = field_id(index, "allowed_ips")
        text = self._value(fid)
        if not allowedips.can_toggle(allowedips.split_items(text)):
            self.notify("needs 0.0.0.0/0 in this peer's AllowedIPs", severity="warning",
                        title="Exclude private IPs")
            return
        self._set_value(fid, allowedips.toggle(text, self._value("if-dns")))
        self.validate_now()

    def action_exclude_private(self) -> None:
        index = self._focused_peer()
        if index is None:
            self.notify("focus a field of the peer first", severity="warning")
            return
        self.exclude_private(index)

    @on(Button.Pressed, ".peer-head Button")
    async def _peer_button(self, event: Button.Pressed) -> None:
        kind, _, index = (event.button.id or "").partition("-")
        if kind == "exclude":
            self.exclude_private(int(index))
        elif kind == "remove":
            await self.remove_peer(int(index))

    # -- save ------------------------------------------------------------------

    def action_save(self) -> None:
        if self.saving:
            self.notify("saving to the phone already", severity="warning")
            return
        name = self.tunnel or self._name_input_value()
        problem = None if self.tunnel else name_problem(name, self.taken) if name else (
            "a name is required")
        if problem:
            self.notify(problem, title="Name", severity="error")
            self.query_one("#name", Input).focus()
            return
        if self.mode == "raw":
            text = self._raw_value()
            config, errors, _ = form.check_text(text, f"{name}.conf", self.dialect)
            if config is None:
                self.check_raw_now()
                self.notify(errors[0].format(), title="Not saved", severity="error")
                return
            self._store(name, text.encode("utf-8"))
            return
        checked = self.validate_now()
        if checked.config is None:
            first = next(iter(checked.errors), None)
            count = sum(len(v) for v in checked.errors.values()) + len(checked.general)
            self.notify(f"{count} problem(s): fix the marked fields", title="Not saved",
                        severity="error")
            if first:
                self.query_one(f"#{first}").focus()
            return
        self._store(name, form.merged_text(checked.config, self.original).encode("utf-8"))

    def _store(self, name: str, data: bytes) -> None:
        """Hand the config to `save` and wait, greyed (edits typed meanwhile
        would be lost when it closes), for its answer."""
        if self._save is None:
            self.dismiss((name, data))
            return
        self.saving = True
        self.refresh_bindings()
        refocus = self.focused
        parts = [self.query_one("#modes", TabbedContent), self.query_one("#name", Input)]
        disabled = [w.disabled for w in parts]
        for widget in parts:
            widget.disabled = True
        summary = self.query_one("#summary", Static)
        said = summary.content
        summary.update(f"saving {name} to the phone … (ctrl+x stops waiting)")

        def finished(stored: bool) -> None:
            self.saving = False
            if not self.is_attached:
                return
            self.refresh_bindings()
            if stored:
                self._close_with((name, data))
                return
            for widget, was in zip(parts, disabled, strict=True):
                widget.disabled = was
            summary.update(said)
            if refocus is not None and refocus.is_attached:
                refocus.focus()

        self._save(name, data, finished)

    def _close_with(self, result: tuple[str, bytes]) -> None:
        if self.app.screen is self:
            self.dismiss(result)
        else:  # a dialog (the hooks question) is still on top: close when it is gone
            self._close_later = result

    def on_screen_resume(self) -> None:
        if self._close_later is not None:
            self.dismiss(self._close_later)
