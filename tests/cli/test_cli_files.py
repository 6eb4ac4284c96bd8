"""The one local-file writer and the commands that write through it: regular
files only, atomic, 0600, --force to replace. The one input reader: regular
files only, never more than a limit."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from wgdroid.config import keys
from wgdroid.errors import InvalidInputError
from wgdroid.fileio import read_input, write_private

WGDROID = str(Path(sys.executable).with_name("wgdroid"))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([WGDROID, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, check=False)


def test_writes_0600_and_replaces_only_with_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "a.conf"
    write_private(target, "one", overwrite=False)
    assert target.read_text() == "one" and stat.S_IMODE(target.stat().st_mode) == 0o600
    with pytest.raises(InvalidInputError, match=r"already exists .*--force"):
        write_private(target, "two", overwrite=False)
    write_private(target, "two", overwrite=True)
    assert target.read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.conf"]  # no temp left


def test_refuses_special_files(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target, kind in ((fifo, "a FIFO"), (Path("/dev/null"), "a device"),
                         (tmp_path, "a directory")):
        with pytest.raises(InvalidInputError, match=f"is {kind}"):
            write_private(target, "secret", overwrite=True)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]


def test_symlinks_out_of_the_directory_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.conf"
    outside.write_text("keep")
    inner = tmp_path / "dir"
    inner.mkdir()
    (inner / "out").symlink_to(outside)
    with pytest.raises(InvalidInputError, match="symbolic link out of its directory"):
        write_private(inner / "out", "secret", overwrite=True)
    assert outside.read_text() == "keep"
    # a link inside the directory is replaced by the file itself (as mv would)
    (inner / "real").write_text("old")
    (inner / "link").symlink_to("real")
    write_private(inner / "link", "new", overwrite=True)
    assert not (inner / "link").is_symlink() and (inner / "link").read_text() == "new"
    assert (inner / "real").read_text() == "old"


def test_commands_refuse_a_fifo_and_need_force(tmp_path: Path) -> None:
    conf = tmp_path / "wg0.conf"
    conf.write_text(f"[Interface]\nPrivateKey = {keys.genkey()}\n")
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    for args in (["zip", str(fifo), str(conf)], ["qr", str(conf), "--png", str(fifo)],
                 ["new", "--name", "out", "--endpoint", "h:1", "-o", str(tmp_path)]):
        if args[0] == "new":
            fifo.rename(tmp_path / "out.conf")
            fifo = tmp_path / "out.conf"
        res = run(*args, "--force", cwd=tmp_path)
        assert res.returncode == 1, (args, res.stderr)
        assert "is a FIFO" in res.stderr and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    png = tmp_path / "wg0.png"
    assert run("qr", str(conf), "--png", str(png), cwd=tmp_path).returncode == 0
    again = run("qr", str(conf), "--png", str(png), cwd=tmp_path)
    assert again.returncode == 1 and "use --force" in again.stderr
    assert run("qr", str(conf), "--png", str(png), "--force", cwd=tmp_path).returncode == 0


def test_every_input_reader_takes_regular_files_only_and_reads_a_bounded_amount(
        tmp_path: Path) -> None:
    """`import-qr /dev/zero` read without end (GBs of RSS); `check FIFO` and
    `import-qr FIFO` waited forever for a writer (the run's timeout fails them)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for argv, kind in ((("check", str(fifo)), "a FIFO"), (("qr", str(fifo)), "a FIFO"),
                       (("import-qr", str(fifo)), "a FIFO"),
                       (("unzip", str(fifo), "-d", str(tmp_path)), "a FIFO"),
                       (("import-qr", "/dev/zero"), "a device"),
                       (("unzip", "/dev/zero", "-d", str(tmp_path)), "a device"),
                       (("check", str(tmp_path)), "a directory")):
        res = run(*argv, cwd=tmp_path)
        assert res.returncode == 1, (argv, res.stderr)
        assert f"is {kind}; wgdroid reads regular files only" in res.stderr, argv
    # /proc files say size 0 and are regular: read up to the limit, no further.
    assert len(read_input("/proc/self/maps", limit=10)) == 11
    big = subprocess.run([WGDROID, "check", "-"], input=b"a" * (2 << 20), capture_output=True,
                         timeout=60, check=False)
    assert (big.returncode, big.stderr) == (1, b"<stdin>:1: file is larger than 512 KiB: "
                                                b"not a config\n")


def test_a_file_that_appears_after_the_check_is_kept(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --force the file is created only if absent, in one step (a rename
    replaced a file made between the check and the write)."""
    import wgdroid.fileio as fileio

    target = tmp_path / "a.conf"
    real_check = fileio.check_target
    checks = []

    def check_then_someone_writes(path: Path | str, *, overwrite: bool) -> Path:
        checked = real_check(path, overwrite=overwrite)
        checks.append(path)
        if len(checks) == 2:  # the last check, just before the file is put in place
            target.write_text("theirs")
        return checked

    monkeypatch.setattr(fileio, "check_target", check_then_someone_writes)
    with pytest.raises(InvalidInputError, match="already exists"):
        write_private(target, "ours", overwrite=False)
    assert (target.read_text(), len(checks)) == ("theirs", 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.conf"]  # no temp left


def test_targets_that_are_one_file_are_refused_before_any_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wgdroid.fileio import check_targets

    real = tmp_path / "real"
    real.mkdir()
    monkeypatch.chdir(real)
    (tmp_path / "via").symlink_to(real)
    (real / "sub").mkdir()
    same = [(real / "a.conf", tmp_path / "via" / "a.conf"),
            (real / "a.conf", real / "sub" / ".." / "a.conf"),
            (Path("a.conf"), real / "a.conf")]
    for first, second in same:
        with pytest.raises(InvalidInputError, match="same file as") as err:
            check_targets([first, second], overwrite=True, hint="pick another")
        assert err.value.hint == "pick another"
    # two names of one existing file (a hard link; a case-insensitive file system)
    (real / "b.conf").write_text("b")
    os.link(real / "b.conf", real / "c.conf")
    with pytest.raises(InvalidInputError, match=r"c\.conf: the same file as"):
        check_targets([real / "b.conf", real / "c.conf"], overwrite=True)
    check_targets([real / "a.conf", real / "b.conf"], overwrite=True)
    assert sorted(p.name for p in real.iterdir()) == ["b.conf", "c.conf", "sub"]
