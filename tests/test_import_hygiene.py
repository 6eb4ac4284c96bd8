"""The scripting CLI never loads Textual (start-up cost, and the contract that
only wgdroid/tui imports it); the data plane and simulator stay independent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
from wgdroid.cli.main import build_parser
parser = build_parser()
for argv in {argvs!r}:
    try:
        parser.parse_args(argv)
    except SystemExit:
        pass
print(",".join(sorted(m for m in ("textual", "rich") if m in sys.modules)))
"""


def test_cli_does_not_import_textual() -> None:
    argvs = [["check", "x"], ["status"], ["sim", "list"], ["--help"]]
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(argvs=argvs)],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.strip()
    assert "textual" not in out.split(",")


@pytest.mark.parametrize("module", ["wgdroid.userspace.core", "wgdroid.device", "wgdroid.sim"])
def test_packages_outside_tui_do_not_import_textual(module: str) -> None:
    code = f"import sys, {module}; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.strip()
    assert out == "False"


def test_only_the_tui_package_imports_textual_in_source() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "wgdroid").rglob("*.py")
        if "tui" not in path.relative_to(ROOT / "wgdroid").parts
        and any(
            line.lstrip().startswith(("import textual", "from textual"))
            for line in path.read_text().splitlines()
        )
    ]
    assert offenders == []


def test_import_contracts_hold() -> None:
    """pyproject.toml's import-linter contracts: the layers, a userspace that
    needs only errors, Textual only in tui, no import cycles."""
    lint = Path(sys.executable).with_name("lint-imports")
    assert lint.exists(), "import-linter is missing: run scripts/setup (dev extra)"
    run = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout
