"""The one local-file writer and reader: every file wgdroid writes on this
computer (pull, new, zip, unzip, qr --png, import-qr, the TUI's export) goes
through `write_private`; every file it reads as input (check, push, qr,
import-qr, unzip, the TUI's import) through `open_input`/`read_input`, which
take regular files only (a FIFO blocked forever, /dev/zero was read without
end) and read at most a limit.

- Regular files only: a FIFO, a device (`-o /dev/null` as root), a socket or
  a directory at the target is refused, never replaced by a file holding a
  key; so is a symbolic link that leads out of the target's directory (one
  inside it is replaced by the file, as `mv` would).
- Atomic: a temp file in the same directory, fsync, rename; a failure leaves
  the old file (or nothing) and no temp file behind.
- Private: mode 0600 from creation (the content is usually a private key).
- An existing file is replaced only with `overwrite` (the CLI's `--force`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from wgdroid.errors import InvalidInputError, NotFoundError


def check_target(path: Path | str, *, overwrite: bool) -> Path:
    """Refuse a target write_private would refuse, before any work is done
    (e.g. before asking the phone for the key). Returns the path."""
    target = Path(path)
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise InvalidInputError(f"{target}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        directory = os.path.realpath(target.parent if str(target.parent) else ".")
        if os.path.dirname(os.path.realpath(target)) != directory:
            raise InvalidInputError(
                f"{target}: is a symbolic link out of its directory; not writing through it"
            )
        try:
            st = os.stat(target)
        except FileNotFoundError:  # a dangling link inside the directory
            return target
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
        raise InvalidInputError(f"{target}: is {kind}; wgdroid writes regular files only")
    if not overwrite:
        raise InvalidInputError(f"{target}: already exists (use --force to replace it)")
    return target


def check_targets(paths: list[Path], *, overwrite: bool, hint: str | None = None) -> None:
    """check_target for every path of one command, before any is written
    (`new`'s client and server), refusing two that would be one file: the
    same name in the same directory, however the directory is spelled
    (`-o dir` and `-o dir/../dir`, a symbolic link to it), or two names of
    one existing file (a hard link, a case-insensitive file system). The
    second write would replace the first, e.g. a phone's only private key."""
    seen: dict[tuple[object, ...], Path] = {}
    for path in paths:
        target = check_target(path, overwrite=overwrite)
        parent = os.path.realpath(target.parent if str(target.parent) else ".")
        keys: list[tuple[object, ...]] = [(os.path.join(parent, target.name),)]
        with contextlib.suppress(OSError):
            st = os.lstat(target)
            keys.append((st.st_dev, st.st_ino))
        for key in keys:
            if key in seen:
                first = seen[key]
                said = "named twice" if first == target else f"the same file as {first}"
                raise InvalidInputError(f"{target}: {said}; each output needs its own file",
                                        hint=hint)
        seen.update((key, target) for key in keys)


_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}


def _link_new(tmp: str, target: Path) -> bool:
    """Put `tmp` at `target` only if nothing is there, in one step (a file
    that appears after check_target is kept, not replaced). False where the
    file system has no hard links: then the caller renames."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise InvalidInputError(f"{target}: already exists (use --force to replace it)") from None
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            return False
        raise
    os.unlink(tmp)
    return True


def write_private(path: Path | str, data: bytes | str, *, overwrite: bool) -> Path:
    """Write `data` to `path` atomically with mode 0600 (see the module's rules)."""
    target = check_target(path, overwrite=overwrite)
    payload = data.encode() if isinstance(data, str) else data
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
    except OSError as exc:
        raise InvalidInputError(f"{target}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:  # mkstemp already created it 0600
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        # Checked again just before the rename: something may have appeared meanwhile.
        check_target(target, overwrite=overwrite)
        if overwrite or not _link_new(tmp, target):
            os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise InvalidInputError(f"{target}: {exc.strerror}") from None
        raise
    with contextlib.suppress(OSError):  # make the rename durable too
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return target


@contextlib.contextmanager
def open_input(path: Path | str, *, label: str | None = None) -> Iterator[BinaryIO]:
    """`path` opened for reading if it is a regular file (after symlinks).
    Opened non-blocking, so a FIFO is refused instead of waiting for a writer.
    A missing file is NotFoundError (exit 7), anything else InvalidInputError."""
    shown = label or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotFoundError(f"{shown}: no such file") from None
    except OSError as exc:
        raise InvalidInputError(f"{shown}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise InvalidInputError(f"{shown}: is {kind}; wgdroid reads regular files only")
        os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield fh


def read_input(path: Path | str, *, limit: int, label: str | None = None) -> bytes:
    """At most `limit + 1` bytes of the regular file `path` (one more than the
    limit, so the caller can say "too large"; /proc files report size 0)."""
    shown = label or str(path)
    with open_input(path, label=shown) as fh:
        try:
            return fh.read(limit + 1)
        except OSError as exc:
            raise InvalidInputError(f"{shown}: {exc.strerror}") from None
