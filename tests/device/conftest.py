"""Fixtures of the device tests: `sh_phone` (phone_sh.ShPhone under mksh with
toybox, then under dash; as root, or as root of a user namespace)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from phone_sh import HOST_PATH, MKSH, PHONE_TOOLS, TOYBOX, ShPhone, link_commands


@pytest.fixture(scope="session")
def toybox_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of toybox applet links (and `sh` = mksh, as on Android)."""
    if TOYBOX is None or MKSH is None:
        if os.environ.get("CI") == "true":  # in CI a missing tool fails loudly
            pytest.fail("needs toybox and mksh (scripts/setup installs them)")
        pytest.skip("needs toybox and mksh (scripts/setup installs them)")
    out = subprocess.run([TOYBOX], capture_output=True, text=True, check=True).stdout
    bin_dir = tmp_path_factory.mktemp("toybox")
    for name in out.split():
        (bin_dir / name).symlink_to(TOYBOX)
    (bin_dir / "sh").symlink_to(MKSH)
    return bin_dir


@pytest.fixture(scope="session")
def host_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The host's commands, less the phone's that the fakes stand in for."""
    return link_commands(tmp_path_factory.mktemp("host-bin"), HOST_PATH, PHONE_TOOLS)


@pytest.fixture(params=["mksh", "dash"])
def sh_phone(request: pytest.FixtureRequest, tmp_path: Path) -> ShPhone:
    if os.geteuid() != 0 and shutil.which("unshare") is None:
        pytest.skip("needs root or unshare (the phone scripts run as uid 0)")
    bin_dir = request.getfixturevalue("toybox_bin" if request.param == "mksh" else "host_bin")
    # Background fakes (down_lag) end on their own within a second.
    return ShPhone(tmp_path, request.param, bin_dir)
