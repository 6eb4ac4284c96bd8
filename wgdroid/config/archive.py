"""Zip archives of tunnels in the official app's format: export and bounded import.

The app exports `wireguard-export.zip` with one `NAME.conf` per tunnel; its
importer takes only `.conf` entries, drops directory prefixes and names each
tunnel after the file (WA ui TunnelImporter.kt). We do the same, but bounded:
entry count, per-entry and total sizes are capped, the central directory is
sized before zipfile parses it, and nothing is ever extracted to a path taken
from the archive. Callers write results with wgdroid.fileio.write_private (0600).
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from wgdroid.config.dialect import Dialect
from wgdroid.config.issues import ConfigError, ConfigIssue
from wgdroid.config.names import check_tunnel_name
from wgdroid.config.parser import MAX_CONFIG_BYTES, Parsed, parse
from wgdroid.errors import InvalidInputError
from wgdroid.fileio import open_input

EXPORT_NAME = "wireguard-export.zip"

MAX_ENTRIES = 1024
MAX_ENTRY_BYTES = MAX_CONFIG_BYTES  # what the parser accepts at all
MAX_TOTAL_BYTES = 32 * 1024 * 1024
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
_MAX_CENTRAL_DIR = MAX_ENTRIES * (46 + 1024)  # fixed header + a generous name/extra/comment
_EOCD = b"PK\x05\x06"
_EOCD_LEN = 22


@dataclass(frozen=True)
class Tunnel:
    name: str
    text: str
    # what parsing on import noticed but let through (e.g. Linux-only keys)
    warnings: tuple[ConfigIssue, ...] = field(default=(), compare=False)

    def __repr__(self) -> str:  # the text holds a private key
        return f"Tunnel(name={self.name!r}, text=<{len(self.text)} chars>)"


@dataclass(frozen=True)
class EntryError:
    entry: str  # the name inside the archive
    message: str  # one line starting with the entry name (and line, for config errors)

    def format(self, archive: str) -> str:
        return f"{archive}: {self.message}"


@dataclass
class ImportResult:
    tunnels: list[Tunnel] = field(default_factory=list)
    errors: list[EntryError] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Entries that looked like tunnels (`.conf`), whether they imported or not."""
        return len(self.tunnels) + len(self.errors)

    def summary(self) -> str:
        """The app's wording: "Imported X of Y tunnels"."""
        return f"imported {len(self.tunnels)} of {self.total} tunnels"


def no_tunnels(sources: Iterable[str]) -> InvalidInputError:
    """The error of an import that found no `.conf` entry (and no file) at all."""
    return InvalidInputError(f"no tunnels in {', '.join(sources)} (no .conf entry)")


def check_imported_text(text: str, *, source: str) -> Parsed:
    """Parse imported text as the phone's wg-quick would read it; ConfigError names
    `source` and the line. Linux-only keys are warnings (`.warnings`), as in `check`."""
    return parse(text, filename=source, dialect=Dialect.ANDROID)


# --- export -------------------------------------------------------------------


def export_zip(tunnels: Iterable[Tunnel]) -> bytes:
    """A zip with one `NAME.conf` per tunnel, as the app's "Export tunnels to zip file"."""
    buf = io.BytesIO()
    seen: set[str] = set()
    stamp = time.localtime()[:6]
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for tunnel in tunnels:
            check_tunnel_name(tunnel.name)
            if tunnel.name in seen:
                raise InvalidInputError(f"tunnel {tunnel.name!r} given twice")
            seen.add(tunnel.name)
            info = zipfile.ZipInfo(f"{tunnel.name}.conf", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100600 << 16  # unzip recreates it private
            zf.writestr(info, tunnel.text.encode("utf-8"))
    return buf.getvalue()


# --- import -------------------------------------------------------------------


def _check_central_directory(fp: BinaryIO, size: int) -> None:
    """Bound the work zipfile will do before it parses the central directory."""
    tail_len = min(size, _EOCD_LEN + 0xFFFF)
    fp.seek(size - tail_len)
    tail = fp.read(tail_len)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < _EOCD_LEN:
        raise InvalidInputError("not a zip file")
    _, _, _, _, entries, cd_size, _, _ = struct.unpack("<4s4H2LH", tail[at : at + _EOCD_LEN])
    # 0xFFFF/0xFFFFFFFF mean Zip64, which no tunnel export needs: refused here too.
    if entries > MAX_ENTRIES or cd_size > _MAX_CENTRAL_DIR:
        raise InvalidInputError(f"archive has too many entries (at most {MAX_ENTRIES})")
    fp.seek(0)


def _tunnel_name(entry: str) -> str | None:
    """`dir/wg0.conf` -> `wg0`; None for entries the app skips (dirs, non-.conf)."""
    base = entry.rsplit("/", 1)[-1]
    if not base or not base.lower().endswith(".conf"):
        return None
    return base[: -len(".conf")]


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    """The entry's bytes, never more than MAX_ENTRY_BYTES or the archive's budget left."""

    def check(size: int) -> None:
        if size > MAX_ENTRY_BYTES:
            raise InvalidInputError(f"too large (over {MAX_ENTRY_BYTES} bytes)")
        if size > budget:
            raise InvalidInputError(f"archive expands beyond {MAX_TOTAL_BYTES} bytes")

    check(info.file_size)
    try:
        with zf.open(info) as fh:
            data = fh.read(min(MAX_ENTRY_BYTES, budget) + 1)  # never trust the header alone
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise InvalidInputError(f"damaged entry ({exc})") from None
    except NotImplementedError:
        raise InvalidInputError("unsupported compression method") from None
    except RuntimeError:  # zipfile's way of saying "encrypted"
        raise InvalidInputError("encrypted entries are not supported") from None
    check(len(data))
    return data


def import_zip(source: Path | bytes, *, name: str | None = None) -> ImportResult:
    """Tunnels from a zip in the app's format, each entry checked on its own.

    Whole-archive problems (not a zip, too big, too many entries) raise
    InvalidInputError; per-entry problems are collected in the result.
    """
    label = name or (str(source) if isinstance(source, Path) else "archive")
    opened = open_input(source, label=label) if isinstance(source, Path) else (
        contextlib.nullcontext(io.BytesIO(source)))
    with opened as fp:
        size = fp.seek(0, os.SEEK_END)
        if size > MAX_ARCHIVE_BYTES:
            raise InvalidInputError(f"{label}: archive is too large ({size} bytes)")
        try:
            _check_central_directory(fp, size)
            zf = zipfile.ZipFile(fp)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{label}: {exc.message}") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
            raise InvalidInputError(f"{label}: not a zip file or damaged") from None
        with zf:
            return _import_entries(zf, label)


def _import_entries(zf: zipfile.ZipFile, label: str) -> ImportResult:
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise InvalidInputError(f"{label}: archive has too many entries (at most {MAX_ENTRIES})")
    result = ImportResult()
    budget = MAX_TOTAL_BYTES
    names: set[str] = set()
    for info in infos:
        if info.is_dir():
            continue
        tunnel = _tunnel_name(info.filename)
        if tunnel is None:
            continue
        # Messages name the entry on one line, whatever bytes its name holds.
        shown = info.filename if info.filename.isprintable() else repr(info.filename)[1:-1]
        try:
            check_tunnel_name(tunnel)
            if tunnel in names:
                raise InvalidInputError(f"a tunnel named {tunnel!r} is already in this archive")
            data = _read_entry(zf, info, budget)
            budget -= len(data)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInputError("not UTF-8 text") from None
            parsed = check_imported_text(text, source=shown)
        except ConfigError as exc:  # its message already starts with `entry:line:`
            result.errors.append(EntryError(info.filename, exc.message))
            continue
        except InvalidInputError as exc:
            result.errors.append(EntryError(info.filename, f"{shown}: {exc.message}"))
            continue
        names.add(tunnel)
        result.tunnels.append(Tunnel(tunnel, text, tuple(parsed.warnings)))
    return result
