"""Drawing a QR code as large as the terminal allows (pure: no Textual).

A terminal cell is about twice as tall as wide, so:
  large    two cells across and one line down per module (square, big)
  half     one cell across, two modules per line (half blocks, square)
  quarter  two modules across and two down per cell (quadrant blocks: the
           modules come out twice as tall as wide; phone scanners still read
           them, being made for codes seen at an angle)
The largest that fits is drawn; when none fits, the screen says how big the
terminal must be. The blocks draw the light modules (white ink on black).
"""

from __future__ import annotations

from dataclasses import dataclass

BORDER = 2  # quiet-zone modules around the code (the terminal's black is the rest)
_QUADRANTS = " ▘▝▀▖▌▞▛▗▚▐▜▄▙▟█"  # index: top-left 1, top-right 2, bottom-left 4, bottom-right 8


@dataclass(frozen=True)
class Drawing:
    style: str
    text: str
    width: int  # cells
    height: int  # lines


def ink_rows(text: str) -> list[list[bool]]:
    """The code of `text`, True where a light module is drawn."""
    from wgdroid.config.qr import make

    return [[not dark for dark in row]
            for row in make(text).matrix_iter(scale=1, border=BORDER)]


def _pairs(rows: list[list[bool]]) -> list[tuple[list[bool], list[bool]]]:
    if len(rows) % 2:
        rows = [*rows, [True] * len(rows[0])]  # more quiet zone
    return list(zip(rows[0::2], rows[1::2], strict=True))


def drawings(ink: list[list[bool]]) -> list[Drawing]:
    """Every style, largest first."""
    n = len(ink)
    large = "\n".join("".join("██" if lit else "  " for lit in row) for row in ink)
    half = "\n".join(
        "".join("█" if a and b else "▀" if a else "▄" if b else " "
                for a, b in zip(top, bottom, strict=True))
        for top, bottom in _pairs(ink))
    padded = ink if n % 2 == 0 else [[*row, True] for row in ink]
    quarter_lines = []
    for top, bottom in _pairs(padded):
        cells = []
        for x in range(0, len(top), 2):
            index = top[x] | top[x + 1] << 1 | bottom[x] << 2 | bottom[x + 1] << 3
            cells.append(_QUADRANTS[index])
        quarter_lines.append("".join(cells))
    half_lines = (n + 1) // 2
    return [
        Drawing("large", large, 2 * n, n),
        Drawing("half", half, n, half_lines),
        Drawing("quarter", "\n".join(quarter_lines), (n + 1) // 2, half_lines),
    ]


def fitting(options: list[Drawing], width: int, height: int) -> Drawing | None:
    """The largest drawing that fits `width` x `height`, or None."""
    return next((d for d in options if d.width <= width and d.height <= height), None)
