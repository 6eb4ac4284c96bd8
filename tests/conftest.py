"""Shared test set-up: marker gating, and the fixture plugins of each area.

`sim` tests need root, network namespaces and /dev/net/tun; `device` tests
need a real phone or emulator named by WGDROID_TEST_SERIAL. Nothing unmarked
may need root; as root, check that with a user namespace that is not root:

    unshare --user --map-user=1000 --map-group=1000 \
        .venv/bin/python -m pytest -p no:cacheprovider -m "not sim and not device"

Tests wait on effects through tests/support (`from support import wait_until`).
"""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

# CI explores the same examples every run (a red run is then reproducible);
# no deadline anywhere: a loaded 2-core machine must not turn slowness into failure.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

# scripts/build-device-tools keeps its toolchain and per-ABI musl builds (minutes to
# fill) in the user's cache: that one stays the user's, so a second run takes seconds.
os.environ.setdefault("WGDROID_CACHE_DIR", str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wgdroid"))
# wgdroid remembers devices in the user's cache (device/memo.py): tests get their
# own, so they never read a stale fact from, or write into, the real one.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="wgdroid-test-cache.")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)

# Fixture plugins live beside this file, one per area, so areas don't edit one file.
pytest_plugins = ["sim_fixtures", "vm_fixtures"]

# The cyclic GC took a third of the TUI tests' CPU: every Textual app leaves
# cycles behind, and each full collection walked the ~200k objects of the
# imports and caches. Collect less often (memory is plenty); what collection
# imported is frozen out of the walk (pytest_collection_finish).
gc.set_threshold(10_000, 10, 10)


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.collect()
    gc.freeze()


def _sim_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun"
    for tool in ("ip", "wg", "wg-quick", "wireguard-go", "adb"):
        if shutil.which(tool) is None:
            return f"needs {tool} (run scripts/setup)"
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (--dist loadgroup)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    sim_reason = _sim_unavailable()
    # In CI nothing is skipped: a missing tool must fail loudly, not hide.
    in_ci = os.environ.get("CI") == "true"
    for item in items:
        # markers, not keywords: a keyword also matches directory names (tests/device/)
        if item.get_closest_marker("sim") and sim_reason and not in_ci:
            item.add_marker(pytest.mark.skip(reason=sim_reason))
        if item.get_closest_marker("device") and not os.environ.get("WGDROID_TEST_SERIAL"):
            reason = "set WGDROID_TEST_SERIAL to a phone or emulator"
            item.add_marker(pytest.mark.skip(reason=reason))
        group = _xdist_group(item)
        if group and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=_later)  # stable: the order within each kind stays


def _later(item: pytest.Item) -> bool:
    """Long unit tests first (TUI apps, hypothesis runs, `slow`): xdist hands out
    ungrouped tests in this order, so the run ends on short ones and no worker is
    left alone with a 5 s test at the end. Grouped (sim) tests keep their order."""
    if item.get_closest_marker("xdist_group"):
        return True
    long = (item.get_closest_marker("slow") is not None
            or getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
            or Path(str(item.path)).parent.name == "tui")
    return not long


def _xdist_group(item: pytest.Item) -> str | None:
    """Under xdist (scripts/test) the tests of one group run in one worker, one after
    another, on that worker's adb server and simulator daemon (session fixtures;
    daemons pick free adbd ports, so the workers' daemons coexist). Sim tests make
    two groups, tests/device's and the rest (a group per module measured slower: too
    many phones at once on 2 cores); the VM tests one (one qemu guest, booted once);
    the data plane's namespace tests, which need no phone, one. Device tests share
    one phone. Unit tests have no group: they spread over the workers."""
    if item.get_closest_marker("device"):
        return "device"
    if item.get_closest_marker("vm") or "vm_phone" in getattr(item, "fixturenames", ()):
        return "vm"
    if item.get_closest_marker("sim"):
        area = Path(str(item.path)).parent.name
        return {"userspace": "netns", "device": "sim-device"}.get(area, "sim")
    return None
