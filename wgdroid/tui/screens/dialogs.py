"""Small modal dialogs: confirm, and ask for one line of text."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


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
            yield Label(self._title, classes="dialog-title")
            yield Static(self._question, id="question", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._yes, id="yes", variant="error" if self._danger else "primary",
                             classes="" if self._danger else "-initial")
                yield Button("Cancel", id="no", classes="-initial" if self._danger else "")

    @on(Button.Pressed, "#yes")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_cancel(self) -> None:
        self.dismiss(False)


class PromptScreen(ModalScreen[str | None]):
    """One line of input; `check` returns an error message or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, title: str, prompt: str, *, value: str = "",
                 check: Callable[[str], str | None] | None = None,
                 placeholder: str = "") -> None:
        super().__init__(classes="dialog")
        self._title, self._prompt, self._value = title, prompt, value
        self._check, self._placeholder = check, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self._title, classes="dialog-title")
            yield Label(self._prompt)
            yield Input(self._value, placeholder=self._placeholder, id="answer")
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
