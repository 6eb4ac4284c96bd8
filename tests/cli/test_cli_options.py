"""Global device options before or after the command (as adb takes them), and
input that used to exit 70 or slip through: now a usage or input error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import wgdroid_main

from wgdroid.cli.main import build_parser
from wgdroid.config import keys


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI's main in-process (test_support checks it answers as the process)."""
    return wgdroid_main(*args, cwd=cwd)


@pytest.mark.parametrize("argv", [
    ["-s", "S1", "-H", "h", "-P", "5038", "--root-timeout", "3", "list"],
    ["list", "-s", "S1", "-H", "h", "-P", "5038", "--root-timeout", "3"],
    ["-s", "S0", "list", "-s", "S1", "-H", "h", "-P", "5038", "--root-timeout", "3"],
    ["-H", "h", "enable", "wg0", "-s", "S1", "-P", "5038", "--root-timeout", "3"],
    ["-s", "S1", "-H", "h", "-P", "5038", "--root-timeout", "3", "tools", "status"],
    ["-s", "S1", "-H", "h", "-P", "5038", "--root-timeout", "3", "tui"],
    ["tui", "-s", "S1", "-H", "h", "-P", "5038", "--root-timeout", "3"],
])
def test_device_options_before_or_after_the_command(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.serial, args.adb_host, args.adb_port, args.root_timeout) == (
        "S1", "h", 5038, 3.0)


def test_defaults_when_no_option_is_given() -> None:
    args = build_parser().parse_args(["status"])
    assert (args.serial, args.adb_host, args.adb_port, args.root_timeout) == (
        None, None, None, None)


@pytest.mark.parametrize("argv", [
    ["list", "--root-timeout", "nan"], ["list", "--root-timeout", "0"],
    ["--root-timeout", "-1", "list"], ["list", "--root-timeout", "inf"],
    ["status", "--interval", "nan"], ["status", "--interval", "0"],
    ["status", "--watch", "--count", "0"], ["list", "-P", "70000"],
    ["list", "-P", "9" * 5000],
])
def test_bad_numbers_are_usage_errors(argv: list[str]) -> None:
    res = run(*argv)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr


@pytest.mark.parametrize(("argv", "said"), [
    (["status", "--json", "--interval", "0"], "argument --interval: '0'"),
    (["list", "--json", "-P", "70000"], "'70000' is not a TCP port"),
    (["check", "--json"], "the following arguments are required: FILE"),
    (["push", "--json", "x.conf", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
])
def test_usage_errors_under_json_print_the_error_object(argv: list[str], said: str) -> None:
    """argparse's errors printed no JSON under --json (stdout empty, exit 2),
    while every other error prints the README's object."""
    res = run(*argv)
    assert res.returncode == 2, res.stderr
    error = json.loads(res.stdout)
    assert error["schema"] == 1 and error["error"]["exit_code"] == 2
    assert said in error["error"]["message"] and said in res.stderr
    assert res.stderr.startswith("usage: wgdroid ")
    plain = run(*[a for a in argv if a != "--json"])
    assert (plain.returncode, plain.stdout) == (2, "")


def test_empty_name_is_refused_not_replaced(tmp_path: Path) -> None:
    conf = tmp_path / "wg0.conf"
    conf.write_text(f"[Interface]\nPrivateKey = {keys.genkey()}\n")
    res = run("push", str(conf), "--name=", "-s", "nosuch", cwd=tmp_path)
    assert res.returncode == 1 and "can't be empty" in res.stderr, res.stderr
    res = run("push", str(conf), "--name=--help", "-s", "nosuch", cwd=tmp_path)
    assert res.returncode == 1 and "can't start with '-'" in res.stderr, res.stderr


@pytest.mark.parametrize("file", ["-x.conf", "tun@home.conf", "averyveryverylongname.conf"])
def test_a_file_name_that_is_no_tunnel_name_points_at_name(tmp_path: Path, file: str) -> None:
    """`push tun@home.conf` said only what was wrong with the name it took
    from the file, not that --name gives it another."""
    conf = tmp_path / file
    conf.write_text((Path(__file__).parents[2] / "configs" / "full-tunnel.conf").read_text())
    res = run("push", "-s", "nosuch", "--", str(conf))
    assert res.returncode == 1, res.stderr
    assert res.stderr.splitlines()[-1] == (
        "wgdroid: note: the name comes from the file name: give another with --name NAME")
    assert run("push", "-s", "nosuch", "--name", "ok", "--", str(conf)).returncode == 3


@pytest.mark.parametrize("key", ["ListenPort", "MTU", "FwMark", "Table"])
def test_huge_integers_are_invalid_input_with_file_and_line(tmp_path: Path, key: str) -> None:
    conf = tmp_path / "big.conf"
    conf.write_text(f"[Interface]\nPrivateKey = {keys.genkey()}\n{key} = {'9' * 5000}\n")
    res = run("check", str(conf))
    assert res.returncode == 1, res.stderr
    assert res.stderr.startswith(f"{conf}:3: [Interface] {key}: a 5000-digit number is out "
                                 "of range"), res.stderr
    peer = tmp_path / "peer.conf"
    peer.write_text(f"[Interface]\nPrivateKey = {keys.genkey()}\n[Peer]\nPublicKey = "
                    f"{keys.pubkey(keys.genkey())}\nPersistentKeepalive = {'1' * 4400}\n")
    res = run("check", str(peer))
    assert res.returncode == 1 and f"{peer}:5: [Peer] PersistentKeepalive:" in res.stderr


def test_model_refuses_huge_integers_without_a_crash() -> None:
    from pydantic import ValidationError

    from wgdroid.config.models import Interface

    with pytest.raises(ValidationError, match="out of range"):
        Interface.model_validate({"private_key": keys.genkey(), "listen_port": 10**5000})


def test_the_command_table_is_what_the_modules_register() -> None:
    import argparse
    import importlib

    from wgdroid.cli.main import COMMANDS, command_of

    for module in set(COMMANDS.values()):
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(module).register(sub)
        assert set(sub.choices) == {c for c, m in COMMANDS.items() if m == module}, module
    assert command_of(["-s", "list", "--root-timeout", "2", "status", "x"]) == "status"
    assert command_of(["--debug", "push", "--name", "list", "f.conf"]) == "push"
    assert command_of(["--version"]) is None
    assert command_of(["sim", "start", "--root", "kernelsu"]) == "sim"


def test_a_phone_command_loads_only_its_module() -> None:
    code = ("import sys; from wgdroid.cli.main import main\n"
            "try:\n    main(['disable', 'x', '-s', 'nosuch', '-H', '127.0.0.2', '-P', '9'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('wgdroid.cli.')))\n"
            "print(sorted(m for m in ('requests', 'adbutils', 'pydantic', 'cryptography', "
            "'textual') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    cli_modules, heavy = res.stdout.splitlines()
    assert cli_modules == str(["wgdroid.cli.device_cmds", "wgdroid.cli.devices",
                               "wgdroid.cli.main", "wgdroid.cli.output"])
    assert heavy == "[]"  # nothing but the one root round trip's own modules


@pytest.mark.parametrize("value", ["nan", "0", "-1", "inf", "soon"])
def test_bad_root_timeout_in_the_environment_is_a_usage_error(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wgdroid.device.rootshell import root_timeout_default
    from wgdroid.errors import UsageError

    monkeypatch.setenv("WGDROID_ROOT_TIMEOUT", value)
    with pytest.raises(UsageError, match="WGDROID_ROOT_TIMEOUT"):
        root_timeout_default()
    monkeypatch.setenv("WGDROID_ROOT_TIMEOUT", "2.5")
    assert root_timeout_default() == 2.5


@pytest.mark.parametrize(("argv", "shows"), [
    (["push", "--help"], "--allow-hooks"),
    (["-s", "S1", "push", "-h"], "--allow-hooks"),
    (["sim", "start", "--help"], "--profile"),
    (["--help"], "tools"),
    (["-h"], "import-qr"),
])
def test_help_is_the_commands_help(argv: list[str], shows: str) -> None:
    """`--help` used to print only the global options, everywhere (and the lane
    looked for `tools` in `wgdroid --help` to decide whether to install them)."""
    res = run(*argv)
    assert res.returncode == 0, res.stderr
    assert shows in res.stdout, res.stdout


@pytest.mark.parametrize("argv", [["list", "--root", "5"], ["--root", "5", "list"],
                                  ["status", "--no-rate"]])
def test_options_are_never_abbreviated(argv: list[str]) -> None:
    res = run(*argv)
    assert res.returncode == 2 and "wgdroid: error:" in res.stderr, res.stderr
