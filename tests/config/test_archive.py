"""Zip export/import in the official app's format, and its bounds."""

from __future__ import annotations

import io
import stat
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest
from support import wgdroid_main

from wgdroid.config import archive
from wgdroid.config.archive import Tunnel, export_zip, import_zip
from wgdroid.errors import InvalidInputError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "configs").glob("*.conf"))
GOOD = (ROOT / "configs" / "full-tunnel.conf").read_text()


def _zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_export_import_round_trip() -> None:
    tunnels = [Tunnel(p.stem, p.read_text()) for p in EXAMPLES]
    data = export_zip(tunnels)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == [f"{p.stem}.conf" for p in EXAMPLES]
        assert all(stat.S_IMODE(i.external_attr >> 16) == 0o600 for i in infos)
    result = import_zip(data)
    assert result.errors == []
    assert result.tunnels == tunnels
    assert result.summary() == f"imported {len(tunnels)} of {len(tunnels)} tunnels"


def test_export_refuses_bad_and_duplicate_names() -> None:
    with pytest.raises(InvalidInputError, match="longer than 15"):
        export_zip([Tunnel("a-name-that-is-too-long", GOOD)])
    with pytest.raises(InvalidInputError, match="letters, digits"):
        export_zip([Tunnel("../evil", GOOD)])
    with pytest.raises(InvalidInputError, match="given twice"):
        export_zip([Tunnel("wg0", GOOD), Tunnel("wg0", GOOD)])


def test_tunnel_repr_hides_the_config() -> None:
    assert "PrivateKey" not in repr(Tunnel("wg0", GOOD))


def test_import_like_the_app_with_per_entry_errors() -> None:
    data = _zip(
        {
            "export/home/wg0.conf": GOOD.encode(),  # directories dropped
            "phone.CONF": GOOD.encode(),  # the app lowercases before checking .conf
            "README.txt": b"not a tunnel",  # skipped, not counted
            "folder/": b"",  # a directory entry: skipped
            "a-name-that-is-too-long.conf": GOOD.encode(),
            "broken.conf": b"[Interface]\nPrivateKey = nope\n",
            "latin1.conf": "# caf\xe9\n".encode("latin-1") + GOOD.encode(),
            "other/wg0.conf": GOOD.encode(),  # same name as the first
            "dir/.conf": GOOD.encode(),  # empty name
            "url.conf": b"https://example.org/",
            "linux.conf": GOOD.replace("[Peer]", "Table = off\n\n[Peer]").encode(),
        }
    )
    result = import_zip(data, name="backup.zip")
    assert [t.name for t in result.tunnels] == ["wg0", "phone", "linux"]
    assert all(t.text == GOOD for t in result.tunnels[:2])
    # imported, with the phone's objection noted (the app itself would refuse it)
    assert result.tunnels[0].warnings == ()
    assert [w.key for w in result.tunnels[2].warnings] == ["Table"]
    errors = {e.entry: e.format("backup.zip") for e in result.errors}
    assert sorted(errors) == sorted(
        [
            "a-name-that-is-too-long.conf",
            "broken.conf",
            "latin1.conf",
            "other/wg0.conf",
            "dir/.conf",
            "url.conf",
        ]
    )
    assert "longer than 15" in errors["a-name-that-is-too-long.conf"]
    assert errors["broken.conf"].startswith("backup.zip: broken.conf:2: ")
    assert "nope" not in errors["broken.conf"]  # the bad key is not echoed
    assert "not UTF-8" in errors["latin1.conf"]
    assert "already in this archive" in errors["other/wg0.conf"]
    assert result.summary() == "imported 3 of 9 tunnels"


def test_not_a_zip() -> None:
    with pytest.raises(InvalidInputError, match="not a zip"):
        import_zip(b"PK\x03\x04 definitely not a zip" * 10)
    with pytest.raises(InvalidInputError, match="not a zip"):
        import_zip(GOOD.encode())


# --- bombs and bounds ----------------------------------------------------------


def test_too_many_entries_refused_before_parsing() -> None:
    data = _zip({f"t{i}.conf": b"" for i in range(archive.MAX_ENTRIES + 1)}, zipfile.ZIP_STORED)
    with pytest.raises(InvalidInputError, match="too many entries"):
        import_zip(data)


def test_lying_entry_count_still_caught() -> None:
    """An end record claiming 1 entry over a central directory holding 1,100."""
    data = bytearray(
        _zip({f"t{i}.conf": b"" for i in range(archive.MAX_ENTRIES + 76)}, zipfile.ZIP_STORED)
    )
    at = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, at + 8, 1, 1)
    with pytest.raises(InvalidInputError, match="too many entries"):
        import_zip(bytes(data))


def test_entry_that_expands_too_far_is_refused() -> None:
    bomb = b"#" * (archive.MAX_ENTRY_BYTES * 8)  # deflates ~1000:1
    data = _zip({"bomb.conf": bomb, "wg0.conf": GOOD.encode()})
    assert len(data) < 20_000
    result = import_zip(data)
    assert [t.name for t in result.tunnels] == ["wg0"]
    assert [e.entry for e in result.errors] == ["bomb.conf"]
    assert "too large" in result.errors[0].message


def test_entry_lying_about_its_size_is_refused() -> None:
    """Header says 100 bytes, the data inflates to 4 MiB: read stops, CRC fails."""
    data = bytearray(_zip({"liar.conf": b"#" * (4 * 1024 * 1024)}))
    real = struct.pack("<I", 4 * 1024 * 1024)
    fake = struct.pack("<I", 100)
    assert data.count(real) == 2  # local header and central directory
    data = data.replace(real, fake)
    result = import_zip(bytes(data))
    assert result.tunnels == []
    assert [e.entry for e in result.errors] == ["liar.conf"]
    assert "damaged" in result.errors[0].message


def test_total_expansion_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 3 * len(GOOD) + 10)
    data = _zip({f"t{i}.conf": GOOD.encode() for i in range(6)})
    result = import_zip(data)
    assert len(result.tunnels) == 3
    assert len(result.errors) == 3
    assert all("expands beyond" in e.message for e in result.errors)
    assert result.summary() == "imported 3 of 6 tunnels"


def test_archive_file_size_is_capped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(archive, "MAX_ARCHIVE_BYTES", 1000)
    path = tmp_path / "big.zip"
    path.write_bytes(_zip({f"t{i}.conf": GOOD.encode() for i in range(5)}, zipfile.ZIP_STORED))
    with pytest.raises(InvalidInputError, match="too large"):
        import_zip(path)


def test_encrypted_entry_is_a_per_entry_error() -> None:
    data = bytearray(_zip({"secret.conf": GOOD.encode(), "wg0.conf": GOOD.encode()}))
    # set the "encrypted" flag bit of the first entry, in both headers
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 6] |= 1
    data[central + 8] |= 1
    result = import_zip(bytes(data))
    assert [t.name for t in result.tunnels] == ["wg0"]
    assert "encrypted" in result.errors[0].message


# --- CLI -----------------------------------------------------------------------


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI's main in-process (test_support checks it answers as the process)."""
    return wgdroid_main(*args)


def test_cli_zip_unzip_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "wireguard-export.zip"
    proc = _run("zip", str(out), *map(str, EXAMPLES))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    dest = tmp_path / "restored"
    dest.mkdir()
    proc = _run("unzip", str(out), "-d", str(dest))
    assert proc.returncode == 0, proc.stderr
    assert f"imported {len(EXAMPLES)} of {len(EXAMPLES)} tunnels" in proc.stderr
    for src in EXAMPLES:
        copy = dest / src.name
        assert copy.read_bytes() == src.read_bytes()
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    # existing files are kept unless --force
    proc = _run("unzip", str(out), "-d", str(dest))
    assert proc.returncode == 1
    assert "already exists" in proc.stderr
    assert _run("unzip", str(out), "-d", str(dest), "--force").returncode == 0


def test_cli_unzip_never_writes_outside_dir(tmp_path: Path) -> None:
    evil = tmp_path / "evil.zip"
    evil.write_bytes(
        _zip(
            {
                "../../escape.conf": GOOD.encode(),
                "/etc/abs.conf": GOOD.encode(),
                "..\\win.conf": GOOD.encode(),
                "ok.conf": b"[Interface]\nPrivateKey = bad\n",
            }
        )
    )
    dest = tmp_path / "a" / "b"
    dest.mkdir(parents=True)
    proc = _run("unzip", str(evil), "-d", str(dest))
    assert proc.returncode == 10, proc.stderr  # PARTIAL: some imported, some not
    assert "imported 2 of 4 tunnels" in proc.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["abs.conf", "escape.conf"]
    everything = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert everything == ["a", "a/b", "a/b/abs.conf", "a/b/escape.conf", "evil.zip"]
    assert "..\\win.conf: tunnel name" in proc.stderr
    assert "ok.conf:2:" in proc.stderr


def test_cli_unzip_nothing_importable(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(_zip({"x.conf": b"hello"}))
    proc = _run("unzip", str(bad), "-d", str(tmp_path))
    assert proc.returncode == 1
    assert "imported 0 of 1 tunnels" in proc.stderr
    proc = _run("unzip", str(tmp_path / "missing.zip"), "-d", str(tmp_path))
    assert proc.returncode == 7  # a missing file is NOT_FOUND, as for every command
    assert proc.stderr.startswith("wgdroid: error: ") and proc.stderr.count("\n") == 1


def test_cli_zip_never_writes_over_a_config(tmp_path: Path) -> None:
    """`wgdroid zip --force a.conf b.conf` (OUT forgotten) replaced a.conf,
    a private key, with a zip of b.conf; `zip --force x.conf x.conf` too."""
    a, b = tmp_path / "a.conf", tmp_path / "b.conf"
    a.write_text(GOOD)
    b.write_text(GOOD)
    for argv in (("zip", "--force", str(a), str(b)), ("zip", "--force", str(a), str(a))):
        proc = _run(*argv)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith(f"wgdroid: error: {a}: ") and "OUT" in proc.stderr
        assert a.read_text() == GOOD


def test_cli_unzip_says_what_is_wrong_with_the_archive_and_dir(tmp_path: Path) -> None:
    empty = tmp_path / "empty.zip"
    empty.write_bytes(_zip({"readme.txt": b"hi"}))
    proc = _run("unzip", str(empty), "-d", str(tmp_path))
    assert proc.returncode == 1
    assert f"wgdroid: error: no tunnels in {empty} (no .conf entry)" in proc.stderr
    # -d a file: it is there, only not a directory (was 'no such directory', exit 7)
    proc = _run("unzip", str(empty), "-d", str(empty))
    assert proc.returncode == 1 and "is not a directory" in proc.stderr, proc.stderr
