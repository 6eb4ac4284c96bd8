"""Exit codes per command and outcome, against simulated phones: the table
below is the README's "by command and outcome" table (checked both ways:
every row is run, and the README lists exactly these rows)."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support import wgdroid

from wgdroid.config import keys
from wgdroid.exit_codes import ExitCode as X

README = Path(__file__).resolve().parents[2] / "README.md"


@dataclass(frozen=True)
class Row:
    command: str  # as the README shows it
    outcome: str
    code: X
    argv: tuple[str, ...]  # {S}: the phone's serial, {D}: a scratch dir
    phones: str = "pixel"  # which phones the row needs (see PHONES)
    setup: str = ""  # a scratch-dir preparation (see SETUPS)


ROWS: tuple[Row, ...] = (
    Row("check FILE", "valid", X.OK, ("check", "{D}/good.conf"), "", "files"),
    Row("check FILE", "invalid (FILE:LINE on stderr)", X.INVALID,
        ("check", "{D}/bad.conf"), "", "files"),
    Row("check FILE", "no such file", X.NOT_FOUND, ("check", "{D}/missing.conf"), ""),
    Row("check FILE", "FILE is a FIFO or device", X.INVALID, ("check", "{D}/fifo"), "", "files"),
    Row("status --interval S", "a bad number (nan, 0, -1)", X.USAGE,
        ("status", "--interval", "nan"), ""),
    Row("status NAME", "a bad name", X.INVALID, ("status", ".x", "-s", "nosuch"), ""),
    Row("push FILE", "no such file", X.NOT_FOUND, ("push", "{D}/missing.conf", "-s", "{S}")),
    Row("push FILE", "a config with hooks, no --allow-hooks", X.INVALID,
        ("push", "{D}/hooks.conf", "-s", "{S}"), setup="files"),
    Row("push FILE --name N", "a bad name (--name=, --name=..)", X.INVALID,
        ("push", "{D}/good.conf", "--name=..", "-s", "{S}"), setup="files"),
    Row("list", "no such device", X.DEVICE, ("list", "-s", "nosuch")),
    Row("list", "su denied", X.NO_ROOT, ("list", "-s", "{S}"), "denied"),
    Row("doctor --check", "su denied", X.NO_ROOT, ("doctor", "--check", "-s", "{S}"), "denied"),
    Row("enable NAME", "success", X.OK, ("enable", "demo", "-s", "{S}")),
    Row("enable NAME", "already up", X.CONFLICT, ("enable", "demo", "-s", "{S}")),
    Row("rename OLD NEW", "OLD is up (no --force)", X.CONFLICT,
        ("rename", "demo", "demo2", "-s", "{S}")),
    Row("disable NAME", "success", X.OK, ("disable", "demo", "-s", "{S}")),
    Row("disable NAME", "not up", X.OK, ("disable", "demo", "-s", "{S}")),
    Row("status NAME", "not up", X.NOT_FOUND, ("status", "demo", "-s", "{S}")),
    Row("enable NAME", "no such tunnel", X.NOT_FOUND, ("enable", "nosuch", "-s", "{S}")),
    Row("disable NAME", "no such tunnel", X.NOT_FOUND, ("disable", "nosuch", "-s", "{S}")),
    Row("rm NAME", "no such tunnel", X.NOT_FOUND, ("rm", "nosuch", "-s", "{S}")),
    Row("pull NAME", "no such tunnel", X.NOT_FOUND,
        ("pull", "nosuch", "-s", "{S}", "-o", "{D}/n.conf")),
    Row("pull NAME -o FILE", "FILE exists (no --force)", X.INVALID,
        ("pull", "demo", "-s", "{S}", "-o", "{D}/good.conf"), setup="files"),
    Row("pull NAME -o FILE --force", "FILE is a FIFO or device", X.INVALID,
        ("pull", "demo", "-s", "{S}", "-o", "{D}/fifo", "--force"), setup="files"),
    Row("doctor --check", "not ready", X.MISSING_TOOLS, ("doctor", "--check", "-s", "{S}"),
        "bare"),
    Row("doctor --all --check", "some phones ready, some not", X.PARTIAL,
        ("doctor", "--all", "--check"), "pixel+bare"),
    Row("rm NAME --all", "all phones fail alike", X.NOT_FOUND,
        ("rm", "nosuch", "--all"), "pixel+bare"),
    Row("list --all", "some phones fail", X.PARTIAL, ("list", "--all"), "pixel+denied"),
    Row("enable NAME --all", "all fail, for different reasons", X.ALL_FAILED,
        ("enable", "nosuch", "--all"), "pixel+denied"),
)

# One set of phones per group of rows: booting phones is the slow part.
PHONES: dict[str, list[dict[str, Any]]] = {
    "": [],
    "pixel": [{}],
    "denied": [{"su_policy": "deny"}],
    "bare": [{"profile": "pixel-bare"}],
    "pixel+bare": [{}, {"profile": "pixel-bare"}],
    "pixel+denied": [{}, {"su_policy": "deny"}],
}


def _files(d: Path) -> None:
    priv, peer = keys.genkey(), keys.pubkey(keys.genkey())
    good = f"[Interface]\nPrivateKey = {priv}\nAddress = 10.9.0.2/32\n\n[Peer]\n" \
           f"PublicKey = {peer}\nAllowedIPs = 10.9.0.0/24\n"
    (d / "good.conf").write_text(good)
    (d / "bad.conf").write_text(good.replace("10.9.0.2/32", "10.9.0.300/32"))
    (d / "hooks.conf").write_text(good.replace("[Peer]", "PostUp = true\n\n[Peer]"))
    if not (d / "fifo").exists():
        os.mkfifo(d / "fifo")


SETUPS: dict[str, Callable[[Path], None]] = {"": lambda d: None, "files": _files}


def readme_rows() -> list[tuple[str, str, int]]:
    text = README.read_text()
    table = text[text.index("| command | outcome | code |"):].split("\n\n", 1)[0]
    return [(c, o, int(n)) for c, o, n in
            re.findall(r"^\| `wgdroid ([^`]*)` \| (.*) \| (\d+) \|$", table, re.M)]


def test_readme_lists_exactly_these_rows() -> None:
    assert readme_rows() == [(r.command, r.outcome, int(r.code)) for r in ROWS]


def run_rows(group: str, serial: str, scratch: Path) -> None:
    seen = []
    for row in (r for r in ROWS if r.phones == group):  # in table order: rows build on each other
        SETUPS[row.setup](scratch)
        argv = [a.format(S=serial, D=scratch) for a in row.argv]
        res = wgdroid(*argv)
        seen.append((row.command, row.outcome, res.returncode, res.stderr.strip()))
        assert res.returncode == row.code, seen
        assert "Traceback" not in res.stderr
    if (scratch / "fifo").exists():
        assert stat.S_ISFIFO(os.lstat(scratch / "fifo").st_mode)  # never replaced


def test_exit_codes_without_a_phone(tmp_path: Path) -> None:
    run_rows("", "nosuch", tmp_path)


@pytest.mark.sim
@pytest.mark.parametrize("group", sorted({r.phones for r in ROWS} - {""}))
def test_exit_codes_by_command_and_outcome(group: str, sim_phones: Any, tmp_path: Path) -> None:
    phones = [sim_phones(1, **({"profile": "pixel"} | opts))[0] for opts in PHONES[group]]
    run_rows(group, phones[0].serial, tmp_path)


@pytest.mark.sim
def test_json_failure_prints_an_error_object(sim_phone: Any) -> None:
    res = wgdroid("enable", "nosuch", "-s", sim_phone.serial, "--json")
    assert res.returncode == X.NOT_FOUND
    assert json.loads(res.stdout) == {"schema": 1, "error": {
        "message": "no tunnel 'nosuch' on the device", "exit_code": 7, "hint": None}}
    assert res.stderr == "wgdroid: error: no tunnel 'nosuch' on the device\n"
    # A tunnel that is down: the error object alone (it came after a report
    # with "error": null, two JSON documents; in text, "no tunnel is up" on stdout).
    res = wgdroid("status", "demo", "-s", sim_phone.serial, "--json", "--no-rates")
    assert res.returncode == X.NOT_FOUND
    assert json.loads(res.stdout) == {"schema": 1, "error": {
        "message": "tunnel 'demo' is not up", "exit_code": 7, "hint": None}}
    res = wgdroid("status", "demo", "-s", sim_phone.serial, "--no-rates")
    assert (res.returncode, res.stdout) == (X.NOT_FOUND, ""), res.stdout
    # One shape of device entry for --all, failed or not (a device that
    # failed lacked name/action/backend).
    res = wgdroid("enable", "nosuch", "--all", "--json")
    (entry,) = json.loads(res.stdout)["devices"]
    assert entry == {"serial": sim_phone.serial, "error": entry["error"], "name": "nosuch",
                     "action": None, "backend": None, "root_method": None}
    assert entry["error"]["exit_code"] == 7
    res = wgdroid("enable", "demo", "-s", sim_phone.serial, "--json")
    doc = json.loads(res.stdout)
    assert doc == {"schema": 1, "name": "demo", "action": "up", "backend": doc["backend"],
                   "root_method": "magisk"}, res.stderr
    assert doc["backend"] in ("kernel", "wireguard-go", "userspace")
    assert wgdroid("disable", "demo", "-s", sim_phone.serial).returncode == 0


def test_push_json_prints_the_error_object_when_the_config_is_refused(tmp_path: Path) -> None:
    """It printed the FILE:LINE lines on stderr and nothing on stdout."""
    _files(tmp_path)
    res = wgdroid("push", str(tmp_path / "bad.conf"), "-s", "nosuch", "--json")
    assert res.returncode == X.INVALID
    error = json.loads(res.stdout)["error"]
    assert error["exit_code"] == 1 and error["message"].startswith(f"{tmp_path}/bad.conf:3: ")
    assert [(i["line"], i["key"]) for i in error["issues"]] == [(3, "Address")]
    assert res.stderr.startswith(f"{tmp_path}/bad.conf:3: [Interface] Address: "), res.stderr
    res = wgdroid("push", str(tmp_path / "hooks.conf"), "-s", "nosuch", "--json")
    assert res.returncode == X.INVALID and "runs as root" in json.loads(res.stdout)["error"][
        "message"]
