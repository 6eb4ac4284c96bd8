"""QR codes of tunnel configs: export as terminal text or PNG, import from a photo.

The payload is the config text itself, UTF-8, as the official app scans it
(and as `qrencode -t ansiutf8 < tunnel.conf` makes it). Images are decoded with
zxing-cpp; a photo of a screen works, not only a clean rendering.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from wgdroid.config.archive import check_imported_text
from wgdroid.config.parser import Parsed
from wgdroid.errors import InvalidInputError

if TYPE_CHECKING:
    import segno

Style = Literal["utf8", "ansi", "ascii"]
STYLES: tuple[Style, ...] = ("utf8", "ansi", "ascii")

# A QR code holds at most 2953 bytes; images beyond these bounds are not photos of one.
MAX_IMAGE_BYTES = 32 * 1024 * 1024
MAX_IMAGE_PIXELS = 50_000_000

_SECTION_RE = re.compile(r"^[ \t]*\[[ \t]*(interface|peer)[ \t]*\]", re.IGNORECASE | re.MULTILINE)

_UPPER, _LOWER, _FULL = "\u2580", "\u2584", "\u2588"
# Half blocks draw light modules in the foreground colour: white on black,
# whatever the terminal's own colours are.
_ANSI_ON, _ANSI_OFF = "\x1b[97;40m", "\x1b[0m"


def make(text: str) -> segno.QRCode:
    """The smallest QR code for `text` (error correction L, raised if it fits the same size)."""
    import segno

    try:
        return segno.make_qr(text.encode("utf-8"), error="l", boost_error=True)
    except segno.DataOverflowError:
        size = len(text.encode("utf-8"))
        raise InvalidInputError(
            f"config is too large for a QR code ({size} bytes; at most 2953)",
            hint="remove comments or split the peers over several tunnels",
        ) from None


def _rows(code: segno.QRCode, border: int) -> list[list[bool]]:
    """Module rows, True = dark."""
    return [[bool(m) for m in row] for row in code.matrix_iter(scale=1, border=border)]


def render_text(text: str, style: Style = "utf8", *, invert: bool = False, border: int = 2) -> str:
    """The QR code of `text` as terminal text, one newline-terminated line per row.

    utf8 and ansi pack two module rows per line with half blocks; the blocks draw
    the *light* modules, so plain utf8 reads on a dark terminal (use `invert` on a
    light one); ansi adds white-on-black colours so it reads anywhere (and
    ignores `invert`, which would only make it harder to scan). ascii
    draws each dark module as `##` (for a light background; `invert` swaps).
    """
    rows = _rows(make(text), border)
    invert = invert and style != "ansi"
    if style == "ascii":
        ink = [[dark != invert for dark in row] for row in rows]
        return "".join("".join("##" if i else "  " for i in row) + "\n" for row in ink)
    # Half blocks: ink = light modules (dark terminals), unless inverted.
    ink = [[(not dark) != invert for dark in row] for row in rows]
    if len(ink) % 2:
        ink.append([False] * len(ink[0]))
    glyphs = {(True, True): _FULL, (True, False): _UPPER, (False, True): _LOWER}
    lines = []
    for top, bottom in zip(ink[0::2], ink[1::2], strict=True):
        line = "".join(glyphs.get((a, b), " ") for a, b in zip(top, bottom, strict=True))
        if style == "ansi":
            line = _ANSI_ON + line + _ANSI_OFF
        lines.append(line + "\n")
    return "".join(lines)


def png_bytes(text: str, *, scale: int = 8, border: int = 4) -> bytes:
    """The QR code of `text` as a PNG image (dark modules black on white)."""
    buf = io.BytesIO()
    make(text).save(buf, kind="png", scale=scale, border=border)
    return buf.getvalue()


def decode_image(source: Path | bytes, *, name: str | None = None) -> str:
    """The text of the one QR code in an image file (PNG, JPEG, ...) or its bytes.

    Raises InvalidInputError when the image can't be read, holds no QR code,
    holds several, or its payload isn't UTF-8 text. Does not check the payload.
    """
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    label = name or (str(source) if isinstance(source, Path) else "image")
    if isinstance(source, Path):
        from wgdroid.fileio import read_input

        data = read_input(source, limit=MAX_IMAGE_BYTES, label=label)
    else:
        data = source
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidInputError(f"{label}: image is too large (over {MAX_IMAGE_BYTES} bytes)")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise InvalidInputError(f"{label}: image is too large ({img.width}x{img.height})")
            gray = img.convert("L")
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise InvalidInputError(f"{label}: not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError):
        raise InvalidInputError(f"{label}: damaged or unsupported image") from None
    found = zxingcpp.read_barcodes(
        gray, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    if not found:
        raise InvalidInputError(
            f"{label}: no QR code found",
            hint="photograph the code square-on, filling most of the picture",
        )
    payloads = {bytes(code.bytes) for code in found}
    if len(payloads) > 1:
        raise InvalidInputError(f"{label}: {len(payloads)} different QR codes; crop to one")
    try:
        return payloads.pop().decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{label}: the QR code does not hold text") from None


class Scanned(NamedTuple):
    text: str  # exactly the QR code's payload
    parsed: Parsed  # its model, plus warnings (e.g. keys the phone won't read)


def import_image(source: Path | bytes, *, name: str | None = None) -> Scanned:
    """The WireGuard config in a QR code image, with its parsed model.

    InvalidInputError for an image without a readable QR code, ConfigError for
    a QR code that isn't a valid config (with the line, as for a file).
    """
    label = name or (str(source) if isinstance(source, Path) else "image")
    text = decode_image(source, name=label)
    if not _SECTION_RE.search(text):  # a URL, a Wi-Fi code...: not ours to parse
        raise InvalidInputError(f"{label}: the QR code does not hold a WireGuard config")
    return Scanned(text, check_imported_text(text, source=f"{label} (QR code)"))
