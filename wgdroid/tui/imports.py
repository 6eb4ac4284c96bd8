"""Reading what the user imports: a .conf, a .zip of them, or a QR image (pure:
no Textual, no device). Each tunnel comes back validated, named, with warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"})


@dataclass(frozen=True)
class Incoming:
    name: str
    text: str = field(repr=False)  # holds the private key
    warnings: tuple[str, ...] = ()


@dataclass
class Loaded:
    tunnels: list[Incoming]
    errors: list[str]  # one line each, naming the entry

    def summary(self, done: int | None = None) -> str:
        total = len(self.tunnels) + len(self.errors)
        return f"imported {len(self.tunnels) if done is None else done} of {total} tunnels"


def load(path_text: str) -> Loaded:
    """InvalidInputError / ConfigError for a single bad file; a zip gives partial results."""
    from wgdroid.config import archive
    from wgdroid.config.names import check_tunnel_name
    from wgdroid.config.parser import parse_file, read_config_bytes, tunnel_name_for

    path = Path(path_text).expanduser()
    suffix = path.suffix.lower()
    if suffix == ".zip":
        result = archive.import_zip(path)
        return Loaded(
            [Incoming(t.name, t.text, tuple(w.format() for w in t.warnings))
             for t in result.tunnels],
            [e.format(path.name) for e in result.errors],
        )
    if suffix in IMAGE_SUFFIXES:
        from wgdroid.config.qr import import_image

        scanned = import_image(path)
        name = path.stem
        check_tunnel_name(name)
        return Loaded(
            [Incoming(name, scanned.text, tuple(w.format() for w in scanned.parsed.warnings))],
            [],
        )
    name = tunnel_name_for(path)
    check_tunnel_name(name)
    parsed = parse_file(path)
    text = read_config_bytes(path).decode("utf-8")
    return Loaded([Incoming(name, text, tuple(w.format() for w in parsed.warnings))], [])
