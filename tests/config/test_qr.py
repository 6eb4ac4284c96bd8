"""QR export (terminal text, PNG) and import (PNG, a JPEG "photo") of configs."""

from __future__ import annotations

import io
import random
import re
import stat
import subprocess
from pathlib import Path

import pytest
import segno
from PIL import Image, ImageFilter, ImageOps
from support import wgdroid_main

from wgdroid.config import qr
from wgdroid.config.issues import ConfigError
from wgdroid.config.parser import parse
from wgdroid.errors import InvalidInputError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "configs").glob("*.conf"))
SITE_HUB = ROOT / "configs" / "site-hub.conf"


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_png_round_trip_is_identical(path: Path) -> None:
    text = _text(path)
    png = qr.png_bytes(text)
    assert png.startswith(b"\x89PNG")
    scanned = qr.import_image(png, name=path.name)
    assert scanned.text == text
    assert scanned.parsed.config == parse(text, filename=path.name).config


def test_round_trip_keeps_non_ascii_and_crlf() -> None:
    text = _text(ROOT / "configs" / "full-tunnel.conf")
    text = "# Büro München \u2013 名前\r\n" + text.replace("\n", "\r\n")
    assert qr.decode_image(qr.png_bytes(text)) == text


def _photo(png: bytes, *, seed: int) -> bytes:
    """A phone photo of a screen, roughly: small in a busy frame, tilted, uneven
    light, blurred, noisy, then JPEG-compressed."""
    rnd = random.Random(seed)
    code = Image.open(io.BytesIO(png)).convert("L")
    code = code.resize((code.width * 3 // 4, code.height * 3 // 4), Image.Resampling.BILINEAR)
    code = code.rotate(7, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    frame = Image.new("L", (code.width + 400, code.height + 300), 90)
    frame.paste(code, (230, 120))
    # keystone: the phone is not held square-on
    w, h = frame.size
    d = [int(rnd.uniform(0.02, 0.05) * w) for _ in range(4)]
    quad = (d[0], 0, 0 + d[1] // 2, h, w - d[2] // 2, h - d[3], w, d[3])
    frame = frame.transform(frame.size, Image.Transform.QUAD, quad, Image.Resampling.BICUBIC)
    gradient = Image.linear_gradient("L").resize(frame.size)
    frame = Image.blend(frame, ImageOps.invert(gradient), 0.18)
    frame = frame.filter(ImageFilter.GaussianBlur(1.3))
    noise = Image.effect_noise(frame.size, 40)
    frame = Image.blend(frame, noise, 0.15)
    frame = frame.resize(
        (int(frame.width * rnd.uniform(0.9, 1.1)), int(frame.height * rnd.uniform(0.9, 1.1)))
    )
    out = io.BytesIO()
    frame.convert("RGB").save(out, "JPEG", quality=55)
    return out.getvalue()


@pytest.mark.parametrize("seed", [1, 2])
def test_jpeg_photo_still_decodes(seed: int, tmp_path: Path) -> None:
    text = _text(SITE_HUB)  # the largest example: the densest code
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(_photo(qr.png_bytes(text), seed=seed))
    # The photo really is degraded: not a clean two-tone image any more.
    with Image.open(photo) as img:
        assert img.format == "JPEG"
        assert sum(1 for n in img.convert("L").histogram() if n) > 100
    scanned = qr.import_image(photo)
    assert scanned.text == text


# --- terminal rendering --------------------------------------------------------


def _matrix_from_text(rendered: str, style: str, invert: bool) -> list[list[bool]]:
    """Read terminal output back into modules (True = dark)."""
    rendered = re.sub(r"\x1b\[[0-9;]*m", "", rendered)
    rows: list[list[bool]] = []
    for line in rendered.splitlines():
        if style == "ascii":
            cells = [line[i : i + 2] for i in range(0, len(line), 2)]
            assert set(cells) <= {"##", "  "}
            rows.append([(c == "##") != invert for c in cells])
            continue
        top, bottom = [], []
        for ch in line:
            ink_top, ink_bottom = {" ": (0, 0), "▀": (1, 0), "▄": (0, 1), "█": (1, 1)}[ch]
            # half blocks draw the light modules unless inverted
            top.append((not ink_top) != invert)
            bottom.append((not ink_bottom) != invert)
        rows += [top, bottom]
    return rows


@pytest.mark.parametrize(
    ("style", "invert"), [("utf8", False), ("utf8", True), ("ansi", False), ("ascii", False)]
)
def test_terminal_text_is_the_qr_code(style: qr.Style, invert: bool) -> None:
    text = _text(ROOT / "configs" / "office-split.conf")
    rendered = qr.render_text(text, style, invert=invert, border=2)
    modules = _matrix_from_text(rendered, style, invert)
    expected = [list(map(bool, row)) for row in qr.make(text).matrix_iter(border=2)]
    assert modules[: len(expected)] == expected
    # ...and those modules scan back to the config.
    scale = 6
    img = Image.new("L", (len(expected[0]) * scale, len(expected) * scale), 255)
    for y, row in enumerate(expected):
        for x, dark in enumerate(row):
            if dark:
                img.paste(0, (x * scale, y * scale, (x + 1) * scale, (y + 1) * scale))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    assert qr.decode_image(buf.getvalue()) == text


def test_utf8_is_compact() -> None:
    text = _text(SITE_HUB)
    size = qr.make(text).symbol_size(border=2)[1]
    assert len(qr.render_text(text, "utf8").splitlines()) == (size + 1) // 2
    assert len(qr.render_text(text, "ascii").splitlines()) == size


# --- errors --------------------------------------------------------------------


def _png_of(payload: str) -> bytes:
    buf = io.BytesIO()
    segno.make_qr(payload).save(buf, kind="png", scale=6)
    return buf.getvalue()


def test_no_qr_code_found() -> None:
    noise = Image.effect_noise((400, 300), 60)
    buf = io.BytesIO()
    noise.save(buf, "PNG")
    with pytest.raises(InvalidInputError, match="no QR code found"):
        qr.import_image(buf.getvalue(), name="noise.png")


def test_qr_code_that_is_not_a_config() -> None:
    with pytest.raises(InvalidInputError, match="does not hold a WireGuard config"):
        qr.import_image(_png_of("https://example.org/"), name="url.png")


def test_qr_config_with_errors_names_the_line() -> None:
    text = "[Interface]\nPrivateKey = tooshort\n"
    with pytest.raises(ConfigError) as info:
        qr.import_image(_png_of(text), name="bad.png")
    assert "bad.png (QR code):2:" in info.value.message
    assert "tooshort" not in info.value.message


def test_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_text("[Interface]\n")
    with pytest.raises(InvalidInputError, match="not an image"):
        qr.import_image(path)


def test_two_different_codes_are_refused() -> None:
    a = Image.open(io.BytesIO(_png_of("[Interface]\n# one\n"))).convert("L")
    b = Image.open(io.BytesIO(_png_of("[Interface]\n# two\n"))).convert("L")
    both = Image.new("L", (a.width + b.width + 40, max(a.height, b.height)), 255)
    both.paste(a, (0, 0))
    both.paste(b, (a.width + 40, 0))
    buf = io.BytesIO()
    both.save(buf, "PNG")
    with pytest.raises(InvalidInputError, match="2 different QR codes"):
        qr.decode_image(buf.getvalue())


def test_config_too_large_for_a_qr_code() -> None:
    text = _text(SITE_HUB) + "# padding\n" * 400
    with pytest.raises(InvalidInputError, match="too large for a QR code"):
        qr.png_bytes(text)


# --- CLI -----------------------------------------------------------------------


def _run(*args: str) -> subprocess.CompletedProcess[bytes]:
    """The CLI's main in-process (test_support checks it answers as the process)."""
    return wgdroid_main(*args, text=False)


def test_cli_png_and_import_are_private_and_identical(tmp_path: Path) -> None:
    conf = tmp_path / "hub.conf"
    conf.write_bytes(SITE_HUB.read_bytes())
    png, back = tmp_path / "hub.png", tmp_path / "back.conf"
    proc = _run("qr", str(conf), "--png", str(png))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b""
    assert stat.S_IMODE(png.stat().st_mode) == 0o600
    proc = _run("import-qr", str(png), "-o", str(back))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(back.stat().st_mode) == 0o600
    assert back.read_bytes() == conf.read_bytes()
    proc = _run("import-qr", str(png))
    assert proc.returncode == 0 and proc.stdout == conf.read_bytes()
    # -o does not replace a file unless --force
    proc = _run("import-qr", str(png), "-o", str(back))
    assert proc.returncode == 1 and b"already exists" in proc.stderr


def test_cli_terminal_output_scans(tmp_path: Path) -> None:
    proc = _run("qr", str(ROOT / "configs" / "v6-endpoint.conf"))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert "\x1b" not in out  # not a terminal: plain half blocks
    assert out == qr.render_text(_text(ROOT / "configs" / "v6-endpoint.conf"), "utf8")


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    noise = tmp_path / "noise.png"
    Image.effect_noise((200, 200), 60).save(noise)
    for args in (["import-qr", str(noise)], ["import-qr", str(tmp_path / "missing.png")]):
        proc = _run(*args)
        assert proc.returncode in (1, 7), proc.stderr  # INVALID, NOT_FOUND
        lines = proc.stderr.decode().splitlines()
        assert lines[0].startswith("wgdroid: error: ")
        assert all(not line.startswith("Traceback") for line in lines)
        assert proc.stdout == b""


def test_cli_import_warns_about_keys_the_phone_ignores(tmp_path: Path) -> None:
    """A Linux config scans fine, but the phone's wg-quick would refuse its hooks."""
    text = (
        (ROOT / "configs" / "office-split.conf")
        .read_text()
        .replace("[Peer]", "PostUp = iptables -A FORWARD -i %i -j ACCEPT\n\n[Peer]")
    )
    png = tmp_path / "linux.png"
    png.write_bytes(qr.png_bytes(text))
    proc = _run("import-qr", str(png))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == text
    warnings = proc.stderr.decode().splitlines()
    assert len(warnings) == 1 and "PostUp" in warnings[0], warnings


def test_ansi_ignores_invert() -> None:
    text = (ROOT / "configs" / "office-split.conf").read_text()
    assert qr.render_text(text, "ansi", invert=True) == qr.render_text(text, "ansi")
