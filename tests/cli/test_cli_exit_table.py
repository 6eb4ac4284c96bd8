"""The README's exit-code table is the one in wgdroid/exit_codes.py."""

from __future__ import annotations

import re
from pathlib import Path

from wgdroid.exit_codes import MEANINGS, ExitCode

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_exit_code_table_is_generated_from_the_code() -> None:
    text = README.read_text()
    table = text[text.index("| code | meaning |"):]
    rows = re.findall(r"^\| (\d+) \| (.*) \|$", table.split("\n\n", 1)[0], re.M)
    assert [(int(c), m) for c, m in rows] == [(int(c), m) for c, m in MEANINGS.items()]
    assert set(MEANINGS) == set(ExitCode)
