"""TUI test set-up: cursors that do not blink (a snapshot must not depend on
when in the blink cycle it was taken: that made the editor snapshot flaky)."""

from __future__ import annotations

import pytest
from textual.reactive import reactive
from textual.widgets import Input, TextArea


@pytest.fixture(autouse=True)
def steady_cursors(monkeypatch: pytest.MonkeyPatch) -> None:
    for cls in (Input, TextArea):
        # Both undone by monkeypatch: the descriptor and the default it registers.
        monkeypatch.setattr(cls, "_default_cursor_blink", False)
        still: reactive[bool] = reactive(False, init=False)
        still.__set_name__(cls, "cursor_blink")
        monkeypatch.setattr(cls, "cursor_blink", still)


@pytest.fixture(autouse=True)
def own_state(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The folders the TUI remembers go to a test's own state dir, not the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
