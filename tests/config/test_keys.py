"""`wgdroid genkey/pubkey/genpsk` against the real wg(8)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wgdroid.config import keys

WGDROID = str(Path(sys.executable).with_name("wgdroid"))


def _run(args: list[str], stdin: bytes = b"", **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, input=stdin, capture_output=True, timeout=30, check=False, **kw)  # type: ignore[call-overload, no-any-return]


def _wg_pubkeys(privates: list[str]) -> list[str]:
    """One `wg pubkey` process per key (as users run it), all from one shell."""
    script = 'while IFS= read -r k; do printf "%s\\n" "$k" | wg pubkey || echo FAIL; done'
    proc = _run(["sh", "-c", script], ("\n".join(privates) + "\n").encode())
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode().split()


@pytest.mark.sim
def test_pubkey_matches_wg_for_1000_keys() -> None:
    # Half clamped (as genkey makes them), half raw random bytes: wg clamps itself,
    # so an unclamped private key must give wg's answer too.
    privates = [keys.genkey() for _ in range(500)]
    privates += [base64.b64encode(os.urandom(32)).decode() for _ in range(498)]
    privates += [base64.b64encode(bytes(32)).decode(), base64.b64encode(b"\xff" * 32).decode()]
    expected = _wg_pubkeys(privates)
    assert len(expected) == 1000
    assert "FAIL" not in expected
    assert [keys.pubkey(k) for k in privates] == expected


@pytest.mark.sim
def test_pubkey_cli_matches_wg_on_a_sample() -> None:
    privates = [keys.genkey() for _ in range(8)] + [
        base64.b64encode(os.urandom(32)).decode() for _ in range(4)
    ]
    expected = _wg_pubkeys(privates)
    for private, public in zip(privates, expected, strict=True):
        proc = _run([WGDROID, "pubkey"], f"{private}\n".encode())
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == f"{public}\n".encode()
        assert proc.stderr == b""


@pytest.mark.sim
def test_genkey_pipes_into_wg_pubkey() -> None:
    proc = _run(["sh", "-c", f"'{WGDROID}' genkey | wg pubkey"])
    assert proc.returncode == 0, proc.stderr
    public = proc.stdout.decode().strip()
    assert len(keys.decode(public)) == 32


def test_genkey_and_genpsk_output() -> None:
    seen = set()
    for cmd in ("genkey", "genpsk", "genkey", "genpsk"):
        proc = _run([WGDROID, cmd])
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == b""  # a pipe is not a world-readable file
        text = proc.stdout.decode()
        assert text.endswith("\n") and text.count("\n") == 1
        raw = keys.decode(text.strip())
        if cmd == "genkey":
            assert raw == keys.clamp(raw)
        seen.add(raw)
    assert len(seen) == 4


@pytest.mark.parametrize("cmd", ["genkey", "genpsk"])
def test_warns_when_writing_secret_to_world_readable_file(cmd: str, tmp_path: Path) -> None:
    for mode, warns in ((0o644, True), (0o600, False)):
        target = tmp_path / f"{cmd}-{mode:o}"
        target.touch(mode)
        target.chmod(mode)
        with target.open("wb") as out:
            proc = subprocess.run([WGDROID, cmd], stdout=out, stderr=subprocess.PIPE, timeout=30)
        assert proc.returncode == 0
        assert (b"world accessible" in proc.stderr) is warns, proc.stderr
        assert len(keys.decode(target.read_text().strip())) == 32


def test_pubkey_accepts_trailing_whitespace_like_wg() -> None:
    private = keys.genkey()
    for tail in ("", "\n", " \t\r\n\n", "\0\n", "\v\f"):
        proc = _run([WGDROID, "pubkey"], (private + tail).encode())
        assert proc.returncode == 0, (tail, proc.stderr)
        assert proc.stdout.decode().strip() == keys.pubkey(private)


def _bad_inputs() -> list[tuple[str, bytes]]:
    k = keys.genkey()
    return [
        ("empty", b""),
        ("short", k[:20].encode()),
        ("leading-space", f" {k}".encode()),
        ("trailing-garbage", f"{k} x".encode()),
        ("two-keys", f"{k}\n{k}\n".encode()),
        ("no-padding", (k[:43] + "A").encode()),
        ("bad-char", (k[:10] + "!" + k[11:]).encode()),
        ("non-canonical", (k[:42] + "B=").encode()),
        ("hex", keys.decode(k).hex().encode()),
        ("binary", os.urandom(44)),
        ("utf8", ("ä" * 22).encode()),
    ]


BAD = _bad_inputs()


@pytest.mark.parametrize(("label", "data"), BAD, ids=[b[0] for b in BAD])
def test_pubkey_rejects_bad_keys(label: str, data: bytes) -> None:
    proc = _run([WGDROID, "pubkey"], data)
    assert proc.returncode == 1  # ExitCode.INVALID
    assert proc.stdout == b""
    err = proc.stderr.decode(errors="replace")
    assert err.count("\n") == 1 and err.startswith("wgdroid: error: "), err
    assert "Traceback" not in err
    text = data.decode(errors="ignore").strip()
    if len(text) >= 8:
        assert text not in err and text[:12] not in err  # never echo the key


@pytest.mark.sim
@pytest.mark.parametrize(("label", "data"), BAD, ids=[b[0] for b in BAD])
def test_wg_rejects_the_same_bad_keys(label: str, data: bytes) -> None:
    """Our rejections are wg's: the same inputs fail `wg pubkey` too."""
    proc = _run(["wg", "pubkey"], data)
    assert proc.returncode != 0, proc.stdout
