"""`wgdroid new`: a client/server pair whose keys and addresses match up."""

from __future__ import annotations

import ipaddress
import json
import stat
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError
from support import wgdroid_main

from wgdroid.config.dialect import Dialect
from wgdroid.config.models import Interface
from wgdroid.config.parser import parse_file
from wgdroid.config.types import PrivateKey


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI's main in-process (test_support checks it answers as the process)."""
    return wgdroid_main(*args, cwd=cwd)


def test_new_writes_a_matching_private_pair(tmp_path: Path) -> None:
    proc = _run("new", "--name", "phone", "--endpoint", "203.0.113.7:51999",
                "--subnet6", "fd66::/64", "--dns", "10.66.0.1, lan", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    client_path, server_path = tmp_path / "phone.conf", tmp_path / "phone-srv.conf"
    assert out["client"]["file"].endswith("phone.conf")
    for path in (client_path, server_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    client = parse_file(client_path).config
    server = parse_file(server_path, dialect=Dialect.LINUX).config
    assert client.peers[0].public_key == server.interface.public_key
    assert server.peers[0].public_key == client.interface.public_key
    assert client.peers[0].preshared_key == server.peers[0].preshared_key
    assert str(client.peers[0].endpoint) == "203.0.113.7:51999"
    assert server.interface.listen_port == 51999
    assert [str(a) for a in client.interface.addresses] == ["10.66.0.2/32", "fd66::2/128"]
    assert [str(n) for n in server.peers[0].allowed_ips] == ["10.66.0.2/32", "fd66::2/128"]
    assert client.interface.dns_search == ["lan"]
    assert out["client"]["public_key"] == client.interface.public_key.base64()
    assert client.interface.private_key.reveal() not in proc.stdout


def test_new_refuses_to_overwrite_and_bad_input(tmp_path: Path) -> None:
    args = ("new", "--name", "p", "--endpoint", "192.0.2.1:51820")
    assert _run(*args, cwd=tmp_path).returncode == 0
    again = _run(*args, cwd=tmp_path)
    assert again.returncode == 1
    assert "already exists" in again.stderr
    bad = _run("new", "--name", "p2", "--endpoint", "fd00::1:51820", cwd=tmp_path)
    assert bad.returncode == 1
    assert "needs brackets" in bad.stderr
    long = _run("new", "--name", "averyveryverylongname", "--endpoint", "192.0.2.1:1", cwd=tmp_path)
    assert long.returncode == 1
    assert "longer than 15 characters" in long.stderr
    assert "Traceback" not in bad.stderr + long.stderr


def test_cli_basics(tmp_path: Path) -> None:
    version = _run("--version", cwd=tmp_path)
    assert version.returncode == 0
    assert version.stdout.startswith("wgdroid ")
    usage = _run("check", cwd=tmp_path)
    assert usage.returncode == 2
    assert "wgdroid: error:" in usage.stderr
    missing = _run("check", "nope.conf", cwd=tmp_path)
    assert missing.returncode == 7  # NOT_FOUND, as for every command
    assert missing.stderr == "nope.conf: no such file\n"


def test_new_refuses_subnets_it_cannot_fill(tmp_path: Path) -> None:
    """A /32 or /128 was an internal error (TypeError, exit 70); a multicast
    subnet was written, then `check` refused the Address it had put there."""
    for flag, subnet, said in (("--subnet", "10.0.0.0/32", "fewer than two hosts"),
                               ("--subnet6", "fd00::/128", "fewer than two hosts"),
                               ("--subnet", "224.0.0.0/24", "224.0.0.1 is a multicast"),
                               ("--subnet6", "ff02::/64", "ff02::1 is a multicast")):
        res = _run("new", "--name", "t", "--endpoint", "192.0.2.1:1", flag, subnet, cwd=tmp_path)
        assert (res.returncode, said in res.stderr) == (1, True), (subnet, res.stderr)
    assert list(tmp_path.iterdir()) == []
    ok = _run("new", "--name", "t", "--endpoint", "192.0.2.1:1", "--subnet", "10.0.0.0/31",
              cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert [str(a) for a in parse_file(tmp_path / "t.conf").config.interface.addresses] == [
        "10.0.0.1/32"]


def test_a_built_model_keeps_the_parser_rules() -> None:
    key = PrivateKey.generate()
    with pytest.raises(ValidationError, match="multicast"):
        Interface(private_key=key, addresses=[ipaddress.ip_interface("239.1.1.1/32")])
    assert Interface(private_key=key, addresses=[ipaddress.ip_interface("10.1.1.1/24")]
                     ).addresses == [ipaddress.ip_interface("10.1.1.1/24")]


def test_new_refuses_a_client_and_server_that_are_one_file(tmp_path: Path) -> None:
    """`--server-name` equal to `--name` wrote the client, then (with --force)
    replaced it with the server's config: the phone's private key was lost
    and exit 0 listed both as q.conf; without --force the client was written
    before "already exists". Now nothing is written either way."""
    args = ("new", "--name", "q", "--endpoint", "h:1", "--server-name", "q")
    for extra in (("--force", "--json"), ("--json",), ()):
        res = _run(*args, *extra, cwd=tmp_path)
        assert res.returncode == 1, res.stdout
        assert "q.conf: named twice" in res.stderr
        assert "--server-name" in res.stderr
        assert list(tmp_path.iterdir()) == []
        if "--json" in extra:
            assert json.loads(res.stdout)["error"]["exit_code"] == 1
    # an existing q.conf is left as it was, even with --force
    (tmp_path / "q.conf").write_text("mine\n")
    assert _run(*args, "--force", cwd=tmp_path).returncode == 1
    assert [p.name for p in tmp_path.iterdir()] == ["q.conf"]
    assert (tmp_path / "q.conf").read_text() == "mine\n"


@pytest.mark.parametrize(("option", "value"), [
    ("--subnet", "fd00::/64"),  # was "Expected 4 octets in 'fd00::'"
    ("--subnet", "10.0.0.1/24"),  # was "10.0.0.1/24 has host bits set"
    ("--subnet6", "10.0.0.0/24"),  # was "At least 3 parts expected in '10.0.0.0'"
    ("--dns", "$(reboot)"),  # was "dns_search: ..."
    ("--keepalive", "-1"),  # was "persistent_keepalive: '-1' is not a number"
    ("--keepalive", "70000"),
    ("--allowed-ips", "bogus"),  # was "allowed_ips: ..."
])
def test_new_names_the_option_a_bad_value_came_from(tmp_path: Path, option: str,
                                                     value: str) -> None:
    res = _run("new", "--name", "t", "--endpoint", "192.0.2.1:1", f"{option}={value}",
               cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    line, = res.stderr.splitlines()
    assert line.startswith(f"wgdroid: error: {option} {value}: "), line
    assert "_" not in line.split(": ", 2)[2] and "not a number" not in line, line
    assert list(tmp_path.iterdir()) == []
