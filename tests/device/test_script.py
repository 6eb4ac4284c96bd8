"""Pure tests of script building: names, quoting, tags, and the shell
snippets run by a real POSIX sh (mksh, Android's shell, when present)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from wgdroid.device import control, store
from wgdroid.device import script as sc
from wgdroid.errors import (
    ConflictError,
    DeviceCommandError,
    InvalidInputError,
    MissingToolsError,
    NotFoundError,
)

SHELL = shutil.which("mksh") or shutil.which("sh") or "sh"


@pytest.mark.parametrize("name", ["wg0", "a", "home_vpn.1", "x=y+z-", "A" * 15])
def test_valid_names(name: str) -> None:
    assert sc.check_name(name) == name
    assert sc.conf_path(name) == f"/data/misc/wireguard/{name}.conf"


@pytest.mark.parametrize(
    "name", ["", "A" * 16, "wg 0", "a;reboot", "$(id)", "a/b", "..", ".", "`x`", "a\nb", "ü"]
)
def test_invalid_names_refused(name: str) -> None:
    with pytest.raises(InvalidInputError):
        sc.check_name(name)


def _run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SHELL, "-c", script], capture_output=True, text=True, timeout=10)


@pytest.mark.sim  # the script's prelude refuses to run unless it is root
def test_fail_tag_survives_hostile_detail() -> None:
    detail = "it's $(touch /tmp/wgdroid-pwned) `id` \"q\" \\ ;"
    s = sc.Script().add(sc.fail("write", detail), "echo unreachable")
    res = _run(s.render())
    assert res.returncode == sc.TAG_EXIT
    assert "unreachable" not in res.stdout
    lines, tags, granted = sc.split_tags(res.stderr)
    assert granted and tags == [sc.Tag("write", detail)] and lines == []
    assert not Path("/tmp/wgdroid-pwned").exists()


def test_split_tags_and_trim() -> None:
    err = "\n".join([
        "wgdroid:root=magisk", "wgdroid:granted", "[#] ip link add wg0 type wireguard",
        "RTNETLINK answers: Operation not supported", "wgdroid:E:up-failed:wg-quick up wg0",
    ])
    lines, tags, granted = sc.split_tags(err)
    assert granted and tags == [sc.Tag("up-failed", "wg-quick up wg0")]
    assert sc.trimmed(lines) == "RTNETLINK answers: Operation not supported"


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("not-found", NotFoundError), ("not-up", NotFoundError), ("already-up", ConflictError),
        ("is-up", ConflictError), ("exists", ConflictError), ("port-clash", ConflictError),
        ("missing-tools", MissingToolsError), ("backend", MissingToolsError),
        ("up-failed", DeviceCommandError),
    ],
)
def test_tags_map_to_the_error_tree(kind: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        sc.raise_for_tags([sc.Tag(kind, "51820 wg1")], ["oops"], sc.TAG_EXIT, "x")


def test_bare_failure_carries_trimmed_stderr() -> None:
    with pytest.raises(DeviceCommandError) as info:
        sc.raise_for_tags([], ["[#] wg setconf", "Line unrecognized: `Table=off'"], 1, "enabling a")
    assert info.value.message == "enabling a failed (exit 1): Line unrecognized: `Table=off'"
    sc.raise_for_tags([], ["noise"], 0, "x")  # success: nothing raised


def _listen_port(conf: str, tmp_path: Path) -> str:
    f = tmp_path / "t.conf"
    f.write_text(conf)
    res = subprocess.run(
        ["sed", "-n", control._LISTEN_PORT_SED, str(f)], capture_output=True, text=True, check=True
    )
    return res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""


@pytest.mark.parametrize(
    ("conf", "port"),
    [
        ("[Interface]\nListenPort = 51820\n", "51820"),
        ("[Interface]\n  listenport=1234 # comment\n", "1234"),
        ("[Interface]\nLISTENPORT\t=\t7\nListenPort = 9\n", "9"),
        ("[Interface]\n#ListenPort = 5\n", ""),
        ("[Interface]\nPrivateKey = x\n", ""),
    ],
)
def test_listen_port_extraction(conf: str, port: str, tmp_path: Path) -> None:
    assert _listen_port(conf, tmp_path) == port


def test_scripts_are_valid_sh() -> None:
    scripts = [
        sc.Script().add(control.functions(), "wg_up wg0 auto").render(),
        store.push_script("wg0", 10, "ab" * 32, enable=control.Backend.AUTO),
        store.push_script("wg0", 10, "ab" * 32, enable=None),
    ]
    for text in scripts:
        res = subprocess.run([SHELL, "-n", "-c", text], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr


def test_values_are_quoted_in_scripts() -> None:
    # A name can't be hostile (validated), but the quoting is there regardless.
    text = store.push_script("a=b", 1, "00", enable=None)
    assert "n=a=b;" in text  # shlex.quote leaves safe text bare
    assert sc.q("x'y $(id)") == "'x'\"'\"'y $(id)'"
    with pytest.raises(InvalidInputError):
        store.rename(None, "ok", "a'b")  # type: ignore[arg-type]  # refused before any I/O


def test_parse_list_skips_unusable_names() -> None:
    out = "L\twg0\t  210\t1700000000\t1\nL\tbad name\t1\t1\t0\nL\tb\t5\t\t0\nnoise\n"
    tunnels = store.parse_list(out)
    assert [(t.name, t.size, t.mtime, t.up) for t in tunnels] == [
        ("b", 5, None, False), ("wg0", 210, 1700000000, True)
    ]


def _pick_backend(tmp_path: Path, tools: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run pick_backend with a PATH holding only the given fake tools."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for util in ("head",):
        (bin_dir / util).symlink_to(shutil.which(util) or f"/usr/bin/{util}")
    for name, kind in tools.items():
        target = bin_dir / name
        if kind == "elf":
            shutil.copy(shutil.which("true") or "/bin/true", target)
        else:
            target.write_text("#!/bin/sh\nexit 0\n")
            target.chmod(0o755)
    text = "\n".join([
        f'PATH={bin_dir}',
        f'fail() {{ echo "{sc.ERROR_TAG}$1:$2" >&2; exit {sc.TAG_EXIT}; }}',
        control.functions(),
        'pick_backend auto',
        'echo "$b $WG_QUICK_USERSPACE_IMPLEMENTATION"',
    ])
    return subprocess.run([SHELL, "-c", text], capture_output=True, text=True, timeout=10)


needs_no_module = pytest.mark.skipif(
    Path("/sys/module/wireguard").exists(), reason="this host has the WireGuard module"
)


@needs_no_module
def test_backend_auto_picks_wireguard_go(tmp_path: Path) -> None:
    res = _pick_backend(tmp_path, {"wg-quick": "script", "wireguard-go": "script"})
    assert res.returncode == 0 and res.stdout.split() == ["wireguard-go", "wireguard-go"]


@needs_no_module
def test_backend_none_available(tmp_path: Path) -> None:
    res = _pick_backend(tmp_path, {"wg-quick": "script"})
    _, tags, _ = sc.split_tags(res.stderr)
    assert res.returncode == sc.TAG_EXIT and tags[0].kind == "missing-tools"
    assert "no backend" in tags[0].detail


@needs_no_module
def test_android_wg_quick_refuses_userspace(tmp_path: Path) -> None:
    res = _pick_backend(tmp_path, {"wg-quick": "elf", "wireguard-go": "script"})
    _, tags, _ = sc.split_tags(res.stderr)
    assert res.returncode == sc.TAG_EXIT and tags[0].kind == "missing-tools"
    assert "Android" in tags[0].detail and "kernel module" in tags[0].detail
