"""Local file writes that keep secrets private and never leave half a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from wgdroid.errors import InvalidInputError


def write_private(path: Path | str, data: bytes | str, *, overwrite: bool = True) -> Path:
    """Write atomically (temp file in the same directory, fsync, rename), mode 0600."""
    target = Path(path)
    if not overwrite and target.exists():
        raise InvalidInputError(f"{target}: already exists (use --force to replace it)")
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
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise InvalidInputError(f"{target}: {exc.strerror}") from None
    with contextlib.suppress(OSError):  # make the rename durable too
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return target
