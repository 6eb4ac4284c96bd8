"""What wgdroid remembers about devices across processes (device/memo.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wgdroid.device.connection import Device, ServerAddress
from wgdroid.device.memo import DeviceMemo, cache_path
from wgdroid.device.rootshell import RootMethod


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "wgdroid" / "devices.tsv"


def device(serial: str, transport: str = "1") -> Device:
    return Device(ServerAddress("127.0.0.1", 5037), serial, transport)


def test_a_persisted_fact_is_known_to_the_next_process(cache: Path) -> None:
    DeviceMemo(persist="root", load=RootMethod).put(device("A"), RootMethod.MAGISK)
    DeviceMemo(persist="other", load=str).put(device("A"), "kept")
    assert cache_path() == str(cache) and cache.stat().st_mode & 0o777 == 0o600
    fresh = DeviceMemo(persist="root", load=RootMethod)
    assert fresh.get(device("A")) is RootMethod.MAGISK
    assert fresh.get(device("A", transport="2")) is None  # it reconnected: ask afresh
    assert DeviceMemo(persist="other", load=str).get(device("A")) == "kept"
    fresh.put(device("A"), None)  # forgotten, and only that
    assert DeviceMemo(persist="root", load=RootMethod).get(device("A")) is None
    assert DeviceMemo(persist="other", load=str).get(device("A")) == "kept"


def test_a_cache_it_cannot_use_only_costs_a_detection(cache: Path) -> None:
    cache.parent.mkdir(parents=True)
    cache.write_text("garbage\nroot\tkey\tnot-a-method\n\x00\x01\n")
    memo = DeviceMemo(persist="root", load=RootMethod)
    assert memo.get(device("A")) is None
    odd = device("tab\there")  # a serial that a line cannot hold is not persisted
    memo.put(odd, RootMethod.AOSP)
    assert memo.get(odd) is RootMethod.AOSP
    assert "tab" not in cache.read_text()
