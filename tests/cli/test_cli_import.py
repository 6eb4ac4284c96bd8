"""`wgdroid import` before the phone: what it refuses on this computer (the
phone side is in tests/device/test_device_sim.py)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from support import wgdroid_main


def test_import_of_nothing_usable_says_why_per_file_without_a_phone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every FILE fails here: each says why on its own line, no phone is
    asked (the adb server named here does not exist), and the codes combine."""
    monkeypatch.setenv("ADB_SERVER_SOCKET", "tcp:127.0.0.1:1")
    (tmp_path / "notazip.zip").write_bytes(b"x")
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as zf:
        zf.writestr("bad name!.conf", "[Interface]\n")
    res = wgdroid_main("import", "nosuch.conf", "notazip.zip", "bad.zip", cwd=tmp_path)
    assert res.returncode == 13, res.stderr  # not found (7) and invalid (1): all failed
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert lines[0] == "wgdroid: error: nosuch.conf: no such file"
    assert lines[1] == "wgdroid: error: notazip.zip: not a zip file"
    assert lines[2].startswith("wgdroid: error: bad.zip: bad name!.conf: tunnel name")
    assert lines[-1] == "wgdroid: note: imported 0 of 3 tunnels"
    doc = json.loads(wgdroid_main("import", "nosuch.conf", "--json", cwd=tmp_path).stdout)
    assert doc["tunnels"] == [] and doc["errors"][0]["exit_code"] == 7
    with zipfile.ZipFile(tmp_path / "none.zip", "w") as zf:
        zf.writestr("readme.txt", "no tunnels here")
    empty = wgdroid_main("import", "none.zip", cwd=tmp_path)
    assert empty.returncode == 1 and "no tunnels in none.zip" in empty.stderr
