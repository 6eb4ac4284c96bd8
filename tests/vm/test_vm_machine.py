"""The VM machine's choices that need no guest: accelerators and the boot timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

from wgdroid.errors import UsageError
from wgdroid.sim.vm import machine


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WGDROID_VM_CACHE", str(tmp_path))
    monkeypatch.delenv(machine.ACCEL_ENV, raising=False)
    return tmp_path


def boot_id() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def test_a_kvm_that_hung_this_boot_is_not_tried_again(cache: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "_kvm_openable", lambda: True)
    assert machine.accelerators() == ["kvm", "tcg"]
    (cache / machine.KVM_VERDICT).write_text(f"{boot_id()} hangs\n")
    assert machine.accelerators() == ["tcg"]
    # A verdict from an earlier boot of the host says nothing about this one.
    (cache / machine.KVM_VERDICT).write_text("00000000-0000-0000-0000-000000000000 hangs\n")
    assert machine.accelerators() == ["kvm", "tcg"]
    monkeypatch.setattr(machine, "_kvm_openable", lambda: False)
    assert machine.accelerators() == ["tcg"]


def test_the_accelerator_and_the_timeout_can_be_forced(cache: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (cache / machine.KVM_VERDICT).write_text(f"{boot_id()} hangs\n")
    monkeypatch.setenv(machine.ACCEL_ENV, "kvm")
    assert machine.accelerators() == ["kvm"]
    monkeypatch.setenv(machine.ACCEL_ENV, "hvf")
    with pytest.raises(UsageError, match="auto, kvm or tcg"):
        machine.accelerators()
    monkeypatch.setenv(machine.BOOT_TIMEOUT_ENV, "2.5")
    assert machine.boot_timeout() == 2.5
    for bad in ("soon", "0", "-1", "nan", "inf"):
        monkeypatch.setenv(machine.BOOT_TIMEOUT_ENV, bad)
        with pytest.raises(UsageError):
            machine.boot_timeout()
    monkeypatch.delenv(machine.BOOT_TIMEOUT_ENV)
    assert machine.boot_timeout() == machine.BOOT_TIMEOUT
