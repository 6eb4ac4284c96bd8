"""Every file of the bad-input corpus fails with the expected FILE:LINE: message,
through the real CLI (its main, in-process; a real process below), with exit 1
and no traceback; no secret is echoed."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import wgdroid_main

BAD = Path(__file__).resolve().parent.parent / "data" / "bad"
EXPECTED: dict[str, list] = json.loads((BAD / "expected.json").read_text())
_spec = importlib.util.spec_from_file_location("bad_corpus", BAD / "make_corpus.py")
assert _spec and _spec.loader
make_corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_corpus)

SECRETS = [make_corpus.PRIV, make_corpus.PSK, make_corpus.PRIV[:30], make_corpus.PSK[:30]]


def test_corpus_is_complete() -> None:
    files = {p.name for p in BAD.glob("*.conf")}
    assert len(files) >= 40
    assert files == set(EXPECTED), "every corpus file has an expectation and vice versa"


def _check_args(name: str, dialect: str) -> list[str]:
    args = ["check", name]
    if dialect == "linux":
        args += ["--dialect", "linux"]
    elif dialect == "android-strict":
        args += ["--strict"]
    return args


def _check(name: str, dialect: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wgdroid", *_check_args(name, dialect)],
                          cwd=BAD, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file(name: str) -> None:
    line, message, *rest = EXPECTED[name]
    dialect = rest[0] if rest else "android"
    # In-process (a process per file cost 12 s of CPU); the two tests below run
    # the real `python -m wgdroid` process.
    proc = wgdroid_main(*_check_args(name, dialect), cwd=BAD)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert f"{name}:{line}: {message}" in proc.stderr, proc.stderr
    for secret in SECRETS:
        assert secret not in proc.stderr


def test_android_hooks_are_only_warnings_by_default() -> None:
    proc = _check("android_postup.conf", "android")
    assert proc.returncode == 0
    assert "android_postup.conf:3: warning: [Interface] PostUp:" in proc.stderr


def test_json_output_names_line_and_reason() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "wgdroid", "check", "--json", "cidr_octet.conf", "empty.conf"],
        cwd=BAD, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    results = json.loads(proc.stdout)
    assert [r["valid"] for r in results] == [False, False]
    first = results[0]["errors"][0]
    assert (first["line"], first["section"], first["key"], first["reason"]) == (
        6, "Peer", "AllowedIPs", "invalid_value"
    )
