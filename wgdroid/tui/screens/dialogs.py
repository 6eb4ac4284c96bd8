"""Small modal dialogs: confirm, and ask for one line of text."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, Input, Label, Static

from wgdroid.tui.paths import complete


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no. A `danger`ous question (it deletes, or brings a tunnel down)
    starts on Cancel, so a stray Enter does nothing."""

    # Focused by Textual once the buttons exist: querying them in on_mount
    # raced with a fast answer that dismissed the dialog while it was composing.
    AUTO_FOCUS = ".-initial"
    BINDINGS = [
        Binding("escape,n,q", "cancel", "Cancel", id="dialog.cancel"),
        Binding("y", "confirm", "Yes", id="dialog.confirm"),
        Binding("left,h", "app.focus_previous", show=False),
        Binding("right,l", "app.focus_next", show=False),
    ]

    def __init__(self, title: str, question: str, *, yes: str = "Yes", danger: bool = False
                 ) -> None:
        super().__init__(classes="dialog")
        self._title, self._question, self._yes, self._danger = title, question, yes, danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self._title, classes="dialog-title", markup=False)
            yield Static(self._question, id="question", markup=False)
            with Horizontal(classes="dialog-buttons"):
                # Content: the label may name a phone's interface (a str is markup).
                yield Button(Content(self._yes), id="yes",
                             variant="error" if self._danger else "primary",
                             classes="" if self._danger else "-initial")
                yield Button("Cancel", id="no", classes="-initial" if self._danger else "")

    @on(Button.Pressed, "#yes")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_cancel(self) -> None:
        self.dismiss(False)


class PathSuggester(Suggester):
    """Completes local paths as a shell does (tui.paths.complete)."""

    def __init__(self, *, dirs_only: bool = False) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.dirs_only = dirs_only

    def suggest(self, value: str) -> str | None:
        return complete(value, dirs_only=self.dirs_only)

    async def get_suggestion(self, value: str) -> str | None:
        return self.suggest(value)


class PromptScreen(ModalScreen[str | None]):
    """One line of input; `check` returns an error message or None. With a
    suggester, Tab (or right arrow at the end) takes the suggestion."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
        Binding("tab", "complete", "Complete", show=False),
    ]

    def __init__(self, title: str, prompt: str, *, value: str = "",
                 check: Callable[[str], str | None] | None = None,
                 placeholder: str = "", suggester: PathSuggester | None = None) -> None:
        super().__init__(classes="dialog")
        self._title, self._prompt, self._value = title, prompt, value
        self._check, self._placeholder, self._suggester = check, placeholder, suggester

    def action_complete(self) -> None:
        box = self.query_one("#answer", Input)
        # Completed here and now: the grey suggestion arrives a moment after typing.
        done = self._suggester.suggest(box.value) if self._suggester and box.has_focus else None
        if done is None:
            self.focus_next()
            return
        box.value = done
        box.action_end()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self._title, classes="dialog-title", markup=False)
            yield Label(self._prompt, markup=False)
            # A name is replaced as a whole; a path is added to.
            yield Input(self._value, placeholder=self._placeholder, id="answer",
                        suggester=self._suggester, select_on_focus=self._suggester is None)
            yield Static("", id="answer-error", classes="field-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def _error(self, value: str) -> str | None:
        if not value.strip():
            return "required"
        return self._check(value.strip()) if self._check else None

    @on(Input.Changed, "#answer")
    def _changed(self, event: Input.Changed) -> None:
        problem = self._error(event.value) if event.value else None
        self.query_one("#answer-error", Static).update(problem or "")
        event.input.set_class(problem is not None, "-invalid")

    @on(Input.Submitted, "#answer")
    @on(Button.Pressed, "#ok")
    def _submit(self) -> None:
        value = self.query_one("#answer", Input).value
        problem = self._error(value)
        if problem:
            self.query_one("#answer-error", Static).update(problem)
            return
        self.dismiss(value.strip())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
