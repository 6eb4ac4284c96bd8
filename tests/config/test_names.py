"""The one tunnel-name rule: the same answer for the model's users, the CLI,
the zip reader and the device layer."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import wgdroid_main

from wgdroid.config.archive import import_zip
from wgdroid.config.names import check_tunnel_name, is_tunnel_name, name_problem
from wgdroid.device import script as sc
from wgdroid.errors import InvalidInputError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
GOOD = ["wg0", "a", "home_vpn.1", "x=y+z-", "A" * 15, "a..b", "x-", "a.", "locks"]
BAD = {
    "": "can't be empty",
    "A" * 16: "longer than 15",
    "ghost\n": "may only use",  # `re.match(...$)` let this through
    "wg0\n": "may only use",
    "\nwg0": "may only use",
    "wg 0": "may only use",
    "a;reboot": "may only use",
    "$(id)": "may only use",
    "a/b": "may only use",
    "ü": "may only use",
    "-x": "can't start with '-'",
    "--help": "can't start with '-'",
    ".": "can't start with '.'",
    "..": "can't start with '.'",
    "...": "can't start with '.'",
    ".hidden": "can't start with '.'",  # accepted, then invisible to `list` (review D9)
}


@pytest.mark.parametrize("name", GOOD)
def test_valid_names(name: str) -> None:
    assert check_tunnel_name(name) == name
    assert sc.check_name(name) == name  # the device layer: the same rule


@pytest.mark.parametrize(("name", "why"), BAD.items())
def test_invalid_names_refused_with_the_reason(name: str, why: str) -> None:
    problem = name_problem(name)
    assert problem is not None and why in problem
    assert "\n" not in problem  # one line, even for a name with a newline
    with pytest.raises(InvalidInputError):
        check_tunnel_name(name)
    with pytest.raises(InvalidInputError):
        sc.check_name(name)


def test_a_key_typed_as_a_name_is_not_echoed() -> None:
    key = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
    problem = name_problem(key)
    assert problem is not None and key not in problem and key[:16] not in problem


def test_a_name_too_long_is_shown_unless_it_has_a_keys_shape(tmp_path: Path) -> None:
    """'HomeOfficeTunnel' (16 mixed-case letters) was said as "tunnel name
    the value (hidden: it looks like a key)": the rule for a config's values,
    where a piece of a pasted key can land, hid a name the user chose."""
    for name in ("HomeOfficeTunnel", "deadbeefcafe0123", "MyPhoneVpnTunnel2"):
        assert name_problem(name) == (f"tunnel name {name!r} is longer than 15 characters "
                                      "(it is an interface name)")
    for hidden in ("0123456789abcdef" * 4, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk"):
        problem = name_problem(hidden)
        assert problem is not None and "hidden" in problem and hidden[:16] not in problem
    conf = tmp_path / "HomeOfficeTunnel.conf"
    conf.write_text((CONFIGS / "full-tunnel.conf").read_text())
    res = wgdroid_main("check", str(conf))
    assert res.returncode == 1
    assert res.stderr == (f"{conf}:1: tunnel name 'HomeOfficeTunnel' is longer than 15 "
                          "characters (it is an interface name)\n")


@given(st.text(max_size=20))
def test_the_rule_is_a_full_match(name: str) -> None:
    ok = is_tunnel_name(name)
    expected = (
        1 <= len(name) <= 15
        and all(c.isascii() and (c.isalnum() or c in "_=+.-") for c in name)
        and not name.startswith("-")
        and not name.startswith(".")
    )
    assert ok == expected


def test_zip_entries_are_checked_by_the_same_rule() -> None:
    import io
    import zipfile

    from wgdroid.config import keys

    text = f"[Interface]\nPrivateKey = {keys.genkey()}\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for entry in ("evil\n.conf", "-rf.conf", "...conf", "ok.conf"):
            zf.writestr(entry, text)
    result = import_zip(buf.getvalue(), name="t.zip")
    assert [t.name for t in result.tunnels] == ["ok"]
    refused = {e.entry for e in result.errors}
    assert refused == {"evil\n.conf", "-rf.conf", "...conf"}
    assert all("\n" not in e.message for e in result.errors)
