"""The TUI's pure parts: exclude-private-IPs, form validation mapping,
formatting, error display, port clash, import loading (no Textual, no device)."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path

import pytest
from tui_sample import PEER, PRIVATE, config, snapshot

from wgdroid import errors
from wgdroid.config.issues import ConfigError
from wgdroid.tui import allowedips, clash, errors_view, fmt, form, imports

ROOT = Path(__file__).resolve().parents[2]


def test_public_ranges_are_everything_but_private_and_multicast() -> None:
    nets = [ipaddress.ip_network(n) for n in allowedips.IPV4_PUBLIC_NETWORKS]
    private = [ipaddress.ip_network(n) for n in
               ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/3")]
    for p in private:
        assert not any(n.overlaps(p) for n in nets)
    whole = list(ipaddress.collapse_addresses([*nets, *private]))
    assert whole == [ipaddress.ip_network("0.0.0.0/0")]


def test_exclude_private_toggles_and_keeps_other_entries() -> None:
    text = "0.0.0.0/0, ::/0"
    out = allowedips.toggle(text, "1.1.1.1, example.com")
    items = allowedips.split_items(out)
    assert "0.0.0.0/0" not in items and "::/0" in items and "1.1.1.1/32" in items
    assert set(allowedips.IPV4_PUBLIC_NETWORKS) <= set(items)
    back = allowedips.toggle(out, "1.1.1.1")
    assert allowedips.split_items(back) == ["0.0.0.0/0", "::/0"]
    assert not allowedips.can_toggle(["10.0.0.0/24"])
    with pytest.raises(ValueError, match="needs 0"):
        allowedips.exclude_private(["10.0.0.0/24"])


def test_form_errors_land_on_their_fields() -> None:
    state = form.FormState(
        {"private_key": PRIVATE, "listen_port": "99999", "table": "off",
         "addresses": "10.0.0.300/32"},
        [{"public_key": PEER, "allowed_ips": "0.0.0.0/0"}, {"allowed_ips": "10.1.0.0/16"}],
    )
    checked = form.check(state, "t.conf")
    assert checked.config is None
    assert checked.errors["if-listen_port"] == ["99999 is out of range for a port (0-65535)"]
    assert "is not an IP address" in checked.errors["if-addresses"][0]
    assert checked.errors["p1-public_key"] == ["is missing"]  # the second peer's header
    assert "p0-public_key" not in checked.errors
    assert "Android wg-quick has no Table" in checked.warnings["if-table"][0]


def test_form_round_trip_keeps_comments() -> None:
    cfg, errs, _ = form.check_text(config("home"), "home.conf")
    assert cfg is not None and not errs
    state = form.from_config(cfg)
    assert state.interface["addresses"] == "10.0.0.2/32"
    assert state.peers[0]["endpoint"] == "vpn.example.com:51820"
    state.interface["mtu"] = "1380"
    checked = form.check(state, "home.conf")
    assert checked.config is not None
    text = form.merged_text(checked.config, cfg)
    assert text.startswith("# home\n") and "MTU = 1380" in text


def test_form_multiline_hooks_become_one_line_each() -> None:
    state = form.FormState({"private_key": PRIVATE, "post_up": "echo a\n\necho b"}, [])
    checked = form.check(state, "t.conf")
    assert checked.text.count("PostUp = ") == 2
    assert checked.warnings["if-post_up"]  # Android runs no hooks


def test_public_key_of() -> None:
    assert form.public_key_of("nope") is None
    assert form.public_key_of(PRIVATE) == form.public_key_of(f"  {PRIVATE} ")
    new = form.new_state()
    assert form.public_key_of(new.interface["private_key"]) is not None


def test_fmt() -> None:
    assert fmt.size(1023) == "1023 B" and fmt.size(1536) == "1.50 KiB"
    assert fmt.age(None) == "never" and fmt.age(184) == "3m 04s ago"
    assert fmt.duration(7500) == "2h 05m" and fmt.rate(None) == "—"
    assert fmt.is_stale(181) and not fmt.is_stale(180) and not fmt.is_stale(None)


def test_errors_are_shown_per_class_without_traceback() -> None:
    shown = errors_view.describe(errors.RootError("su: permission denied", hint="grant it"))
    assert shown.title == "Root access refused" and "permission denied" in shown.message
    assert "grant it" in shown.message
    pending = errors_view.describe(errors.RootPendingError("no answer"), "enable wg0")
    assert pending.title.startswith("enable wg0: su is waiting") and pending.severity == "warning"
    odd = errors_view.describe(KeyError("yAnz5TF+secret"))
    assert odd.title == "Internal error" and "secret" not in odd.message


def test_port_clash() -> None:
    status = snapshot().status
    assert clash.port_clash("lab", 51821, status) == "office"
    assert clash.port_clash("office", 51821, status) is None  # itself
    assert clash.port_clash("lab", None, status) is None  # a random port clashes with none
    assert "51821" in clash.explain("lab", 51821, "office")


def test_imports_conf_zip_and_qr(tmp_path: Path) -> None:
    from wgdroid.config.archive import Tunnel, export_zip
    from wgdroid.config.qr import png_bytes

    conf = tmp_path / "wg7.conf"
    conf.write_text(config("wg7"))
    loaded = imports.load(str(conf))
    assert [t.name for t in loaded.tunnels] == ["wg7"] and not loaded.errors
    archive = tmp_path / "all.zip"
    archive.write_bytes(export_zip([Tunnel("a1", config("a1")), Tunnel("b2", config("b2"))]))
    assert [t.name for t in imports.load(str(archive)).tunnels] == ["a1", "b2"]
    image = tmp_path / "phone.png"
    image.write_bytes(png_bytes(config("phone")))
    scanned = imports.load(str(image))
    assert scanned.tunnels[0].name == "phone"
    assert scanned.tunnels[0].text == config("phone")
    bad = tmp_path / "bad.conf"
    bad.write_text("[Interface]\nListenPort = x\n")
    with pytest.raises(ConfigError) as exc:
        imports.load(str(bad))
    assert any(i.line == 2 and i.key == "ListenPort" for i in exc.value.issues)


def test_cli_does_not_import_textual() -> None:
    code = ("import sys; from wgdroid.cli.main import build_parser; build_parser(); "
            "import wgdroid.tui.adapter, wgdroid.tui.form; "
            "assert 'textual' not in sys.modules, 'textual imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_tui_command_needs_a_terminal() -> None:
    done = subprocess.run([sys.executable, "-m", "wgdroid", "tui"], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[0] == "wgdroid: error: the TUI needs a terminal"


def test_every_qr_drawing_scans_and_the_largest_that_fits_is_chosen() -> None:
    from tui_sample import scan

    from wgdroid.tui import qrfit

    text = config("home")
    options = qrfit.drawings(qrfit.ink_rows(text))
    assert [d.style for d in options] == ["large", "half", "quarter"]
    for drawing in options:
        lines = drawing.text.splitlines()
        assert len(lines) == drawing.height and {len(line) for line in lines} == {drawing.width}
        assert scan(drawing) == text, drawing.style
    large, half, quarter = options
    assert qrfit.fitting(options, 10_000, 10_000) is large
    assert qrfit.fitting(options, half.width, half.height) is half
    assert qrfit.fitting(options, half.width - 1, half.height) is quarter
    assert qrfit.fitting(options, quarter.width, quarter.height - 1) is None


def test_a_second_export_in_the_same_second_gets_its_own_name(tmp_path: Path) -> None:
    """Two exports within one second: the second failed on the first one's zip
    ("already exists"); test_tui_app's export test hit it once it ran fast."""
    from wgdroid.tui.flows import _unused

    stem = "wireguard-export-20261203-181500"
    assert _unused(tmp_path, stem) == tmp_path / f"{stem}.zip"
    for made in (f"{stem}.zip", f"{stem}_2.zip"):
        (tmp_path / made).write_bytes(b"")
    assert _unused(tmp_path, stem) == tmp_path / f"{stem}_3.zip"
    assert sorted(p.name for p in tmp_path.iterdir())[-1] == f"{stem}_2.zip"  # made last


def test_fit_narrows_flexible_columns_before_dropping_optional_ones() -> None:
    """At 80 columns the tunnel list dropped Backend while a long Endpoint
    could have given up the room."""
    from wgdroid.tui.columns import Column, fit

    cols = [Column("name", "Name", 6), Column("backend", "Backend", 12, optional=True),
            Column("endpoint", "Endpoint", 21, minimum=8), Column("tx", "TX", 10)]
    natural = 6 + 12 + 21 + 10 + 2 * 4
    assert fit(cols, natural) == {"name": 6, "backend": 12, "endpoint": 21, "tx": 10}
    # 5 short: Endpoint gives them up, Backend stays.
    assert fit(cols, natural - 5) == {"name": 6, "backend": 12, "endpoint": 16, "tx": 10}
    # Endpoint at its minimum is not enough: Backend goes, Endpoint gets room back.
    assert fit(cols, natural - 20) == {"name": 6, "endpoint": 21 - 20 + 14, "tx": 10}
