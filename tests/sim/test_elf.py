"""elf.py: the host's programs given Android's dynamic linker path (pure)."""

from __future__ import annotations

import os
import sys

import pytest

from wgdroid.sim.phone import elf


def test_a_program_gets_androids_linker_and_nothing_else_changes() -> None:
    with open(os.path.realpath(sys.executable), "rb") as f:
        data = f.read()
    host = elf.interpreter(data)
    if host is None:
        pytest.skip("this interpreter is statically linked")
    out = elf.with_interpreter(data)
    assert elf.interpreter(out) == elf.ANDROID_LINKER == "/system/bin/linker64"
    assert len(out) == len(data)
    changed = [i for i, (a, b) in enumerate(zip(data, out, strict=True)) if a != b]
    start = data.index(host.encode())
    assert changed and all(start <= i < start + len(host) for i in changed)
    assert elf.with_interpreter(b"#!/system/bin/sh\n") == b"#!/system/bin/sh\n"
    assert elf.interpreter(b"#!/system/bin/sh\n") is None


def test_a_compiled_in_path_is_replaced_in_place() -> None:
    data = b"\0/usr/lib/x86_64-linux-gnu/xtables\0/usr/lib/x86_64-linux-gnu/xtables2\0"
    out = elf.replace_cstring(data, "/usr/lib/x86_64-linux-gnu/xtables", "/system/lib64/xtables")
    assert len(out) == len(data)
    assert out.split(b"\0")[1] == b"/system/lib64/xtables"
    assert out.endswith(b"/usr/lib/x86_64-linux-gnu/xtables2\0")  # a longer name is another
    with pytest.raises(ValueError, match="longer"):
        elf.replace_cstring(data, "/a", "/longer")
