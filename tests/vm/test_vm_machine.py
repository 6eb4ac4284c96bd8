"""The VM machine's choices: accelerators, the boot timeout, and a KVM that fails over to TCG."""

from __future__ import annotations

import asyncio
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


@pytest.mark.sim
@pytest.mark.xdist_group("vm")
def test_a_kvm_qemu_cannot_use_marks_nothing_on_the_tcg_guest(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """/dev/kvm opens but qemu dies on it (seen on a cloud host: `failed to set MSR
    0x10a`, an assertion): the TCG guest that boots next is not a failed one, so
    a clean shutdown leaves nothing behind (no logs kept for a failure there was not)."""
    real = machine.qemu_path()
    fake = tmp_path / "qemu"
    fake.write_text("#!/bin/sh\n"
                    'case "$*" in *accel=kvm*) echo "qemu: KVM unusable here" >&2; exit 1;; esac\n'
                    f'exec {real} "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setattr(machine, "qemu_path", lambda: str(fake))
    monkeypatch.setattr(machine, "accelerators", lambda: ["kvm", "tcg"])
    remembered: list[bool] = []
    monkeypatch.setattr(machine, "_remember_kvm", remembered.append)  # not the host's verdict
    home = tmp_path / "vm"

    async def boot_and_stop() -> tuple[str, bool]:
        guest = machine.Machine(home)
        try:
            await guest.boot()
            return guest.accel, guest.failed
        finally:
            await guest.shutdown()

    assert asyncio.run(boot_and_stop()) == ("tcg", False)
    assert remembered == [False]
    assert not home.exists(), list(home.iterdir())
