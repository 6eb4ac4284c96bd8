"""A `wgdroid tools install --from DIR` made of the host's binaries: the
simulated phones run them (the same ABI)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


def host_tools(tmp_path: Path, names: tuple[str, ...], abi: str | None) -> Path:
    """DIR (per-ABI when `abi` is given) holding the host's NAMES."""
    top = tmp_path / "device-tools"
    target = top / abi if abi else top
    target.mkdir(parents=True)
    for name in names:
        found = shutil.which(name)
        if found is None:
            pytest.skip(f"needs the host's {name}")
        shutil.copy(found, target / name)
    return top
