"""Pure tests of script building and its protocol: names, quoting, records,
failures. The sh functions themselves: test_sh.py."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest

from wgdroid.device import script as sc
from wgdroid.device import store
from wgdroid.device.connection import ConnectionLost
from wgdroid.device.failures import FAILURES, error_for, raise_for_tags, reverted_error
from wgdroid.device.progress import Cancelled
from wgdroid.errors import (
    ConflictError,
    DeviceCommandError,
    InvalidInputError,
    MissingToolsError,
    NotFoundError,
    OperationTimeout,
    WgdroidError,
)


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


def test_split_stderr_and_trim() -> None:
    err = "\n".join([
        "wgdroid:root=magisk", "wgdroid:granted", "[#] ip link add wg0 type wireguard",
        "wgdroid:step\twg-quick up", "RTNETLINK answers: Operation not supported",
        "wgdroid:fail\tup-failed\twg0",
    ])
    seen = sc.split_stderr(err)
    assert seen.granted and seen.tags == [sc.Tag("up-failed", ("wg0",))]
    assert seen.steps == ["wg-quick up"]
    assert sc.trimmed(seen.lines) == "RTNETLINK answers: Operation not supported"


def test_wireguard_go_banner_is_not_the_cause() -> None:
    banner = [
        "\u250c" + "\u2500" * 20 + "\u2510",
        "\u2502   Running wireguard-go is not required because this   \u2502",
        "\u2502   kernel has first class support for WireGuard.       \u2502",
        "\u2514" + "\u2500" * 20 + "\u2518",
        "Name or service not known: `nosuch.invalid:51820'",
    ]
    assert sc.trimmed(banner) == "Name or service not known: `nosuch.invalid:51820'"


def test_wg_never_echoes_a_config_value_into_a_message() -> None:
    """wg quoted 23 chars of a stored private key (redact only sees 24+)."""
    said = ["Key is not the correct length or format: `IP/xe3A2Yl3MqImyTzqhzhf'",
            "Line unrecognized: `PrivatKey=IP/xe3A2Yl3MqImyTzqhzhf'",
            "Configuration parsing error"]
    assert sc.trimmed(said) == (
        "Key is not the correct length or format: (the value is not shown); "
        "Line unrecognized: `PrivatKey=(hidden)'; Configuration parsing error")
    stored = error_for(sc.Tag("bad-key", ("bk", "3", "PrivateKey")), [], sc.TAG_EXIT,
                       "enabling bk")
    assert (stored.exit_code, stored.message) == (1, (
        "enabling bk failed: line 3 of the stored bk.conf: PrivateKey is not a key wg takes "
        "(44 base64 characters); its value is not shown"))


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("not-found", NotFoundError), ("not-up", NotFoundError), ("already-up", ConflictError),
        ("is-up", ConflictError), ("exists", ConflictError), ("port-clash", ConflictError),
        ("busy", ConflictError), ("no-tool", MissingToolsError),
        ("no-backend", MissingToolsError), ("kmod-wins", MissingToolsError),
        ("up-failed", DeviceCommandError), ("timeout", OperationTimeout),
        ("a-kind-from-a-newer-script", DeviceCommandError),
    ],
)
def test_failures_map_to_the_error_tree(kind: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        raise_for_tags([sc.Tag(kind, ("51820", "wg1"))], ["oops"], sc.TAG_EXIT, "x")


def test_every_failure_formats_with_its_values() -> None:
    for kind, spec in FAILURES.items():
        err = error_for(sc.Tag(kind, tuple(f"<{v}>" for v in spec.values)), ["said"], 99,
                        "doing it")
        assert isinstance(err, spec.error)
        for value in spec.values:
            assert f"<{value}>" in err.message + (err.hint or ""), (kind, value)


def test_failure_messages() -> None:
    clash = error_for(sc.Tag("port-clash", ("51001", "ta")), [], 99, "enabling tc")
    assert clash.message == "ListenPort 51001 is already used by tunnel 'ta'"
    up = error_for(sc.Tag("up-failed", ("boom",)), ["[#] x", "hook-says-boom"], 99,
                   "enabling boom")
    assert up.message == "enabling boom failed (wg-quick up boom): hook-says-boom"
    late = error_for(sc.Tag("timeout", ("wg-quick up", "40")), ["Temporary failure in name "
                     "resolution: `x.invalid:1'"], 99, "enabling x")
    assert late.message == ("enabling x failed: `wg-quick up` did not finish in 40 s: "
                            "Temporary failure in name resolution: `x.invalid:1'")
    busy = error_for(sc.Tag("busy", ("demo", "20")), [], 99, "enabling demo")
    assert busy.exit_code == 8 and "busy" in busy.message


def test_a_reverted_restart_says_why_and_what_holds() -> None:
    """store.sh push_restart: the new config's failure, (the old one's,) then
    push-reverted[-down]: one error with both, never "stored"."""
    new = sc.Tag("unresolved", ("x.invalid",))
    up = reverted_error([new, sc.Tag("push-reverted", ("demo",))], [], 99, "demo")
    assert up is not None and up.exit_code == 6
    assert up.message == ("pushing demo failed: the phone stores the old config of demo "
                          "again, and demo is up with it (bringing the new demo up failed: "
                          "cannot resolve x.invalid on the phone)")
    down = reverted_error([new, sc.Tag("ndc", ("network create", "busy")),
                           sc.Tag("push-reverted-down", ("demo",))], [], 99, "demo")
    assert down is not None and "did not come up with it either: it is down" in down.message
    assert "bringing the old demo up failed: netd refused `network create`: busy" \
        in down.message
    assert reverted_error([new], [], 99, "demo") is None


def test_bare_failure_carries_trimmed_stderr() -> None:
    with pytest.raises(DeviceCommandError) as info:
        raise_for_tags([], ["[#] wg setconf", "Line unrecognized: `Table=off'"], 1, "enabling a")
    assert info.value.message == "enabling a failed (exit 1): Line unrecognized: `Table=off'"
    raise_for_tags([], ["noise"], 0, "x")  # success: nothing raised


def test_records_table() -> None:
    out = "tunnel\ta\t1\t2\t1\twgdroid\t0\ntunnel\tshort\nfact\tk\tv\twith\ttabs\nnoise\n"
    recs = sc.records(out)
    assert [r.kind for r in recs] == ["tunnel", "fact"]
    assert recs[0]["up"] == "1" and recs[1]["value"] == "v\twith\ttabs"
    assert sc.records(out, "fact") == [recs[1]]


def test_values_are_quoted_in_scripts() -> None:
    # A name can't be hostile (validated), but the quoting is there regardless.
    text = store.push_script("a=b", 1, "00", enable=None)
    assert text.endswith("op_push a=b 1 00 - - - 0\n")  # shlex.quote leaves safe text bare
    assert sc.q("x'y $(id)") == "'x'\"'\"'y $(id)'"
    with pytest.raises(InvalidInputError):
        store.rename(None, "ok", "a'b")  # type: ignore[arg-type]  # refused before any I/O


def test_parse_list_skips_unusable_names() -> None:
    out = ("tunnel\twg0\t  210\t1700000000\t1\twgdroid\t1\n"
           "tunnel\tbad name\t1\t1\t0\twgdroid\t0\ntunnel\tb\t5\t\t0\tapp\t0\nnoise\n")
    tunnels = store.parse_list(out)
    assert [(t.name, t.size, t.mtime, t.up, t.source, t.on_boot) for t in tunnels] == [
        ("b", 5, None, False, "app", False), ("wg0", 210, 1700000000, True, "wgdroid", True)
    ]


# -- what travels ------------------------------------------------------------------

SH_MODULES = ("lib", "android", "dialect", "tunnel", "status", "store", "net", "tools",
              "doctor", "boot", "detect")


@pytest.mark.parametrize("module", SH_MODULES)
def test_each_sh_file_cuts_into_its_functions_and_back(module: str) -> None:
    parts = sc.pieces(module)
    assert "".join(p.text for p in parts) == sc.source(module)
    for p in parts:
        if p.function is not None:
            assert p.text.startswith(f"{p.function}() {{")
            assert p.text.rstrip().endswith("}")
    # Each function alone, and the lines between them together (what a script
    # without any of its functions keeps), parse under both shells: a cut in
    # the wrong place would not.
    texts = [p.text for p in parts if p.function is not None]
    texts.append("".join(p.text for p in parts if p.function is None))
    for shell in ("dash", "mksh"):
        path = shutil.which(shell)
        if path is None:
            pytest.skip(f"needs {shell}")
        for text in texts:
            res = subprocess.run([path, "-n"], input=text, capture_output=True, text=True)
            assert res.returncode == 0, f"{shell}: {res.stderr}\n{text}"


def test_a_script_carries_only_what_its_call_reaches() -> None:
    status = sc.Script("status").call("op_status", "").render()
    for kept in ("op_status() {", "as_root() {", "setup() {", "epoch() {", "cleanup() {",
                 "fail() {", "say() {", "record() {", "HIDE_SECRETS_SED=", "NOTE_DIR=", "BUDGET="):
        assert kept in status
    for dropped in ("locked() {", "sweep() {", "bounded() {", "STORE_DIR=", "LOCK_WAIT="):
        assert dropped not in status
    # Without calls (a test's own lines follow), everything stays.
    assert "locked() {" in sc.Script("status").render()


def test_a_function_named_anywhere_in_a_kept_one_is_kept() -> None:
    def piece(name: str | None, text: str) -> sc._Piece:
        return sc._Piece(name, text, frozenset(sc._WORD.findall(text)))

    parts = [piece("a", "a() { at_exit b; }\n"), piece("b", "b() { c; }\n"),
             piece("c", "c() { :; }\n"), piece("d", "d() { a; }\n"),
             piece(None, "TRAPPED=e\n"), piece("e", "e() { :; }\n")]
    assert [p.function for p in sc.needed(parts, {"a"})] == ["a", "b", "c", None, "e"]


def test_push_many_answers_count_only_the_entries_that_ended() -> None:
    """store.split_pushed: an entry counts once its `done` line came (with
    its name and status); a stream cut short or garbled stops at the last
    whole entry, so the rest are reported unknown, never stored."""
    from wgdroid.device.store import split_pushed

    mark = b"0123456789abcdef0123456789abcdef"

    def entry(name: bytes, body: bytes, status: bytes = b"0") -> bytes:
        return (b"\n" + mark + b"\tentry\t" + name + b"\n" + body + b"\n" + mark
                + b"\tdone\t" + name + b"\t" + status + b"\n")

    head = b"dialect\tandroid\n"
    a = entry(b"a", b"stored\ta\n")
    b = entry(b"b", b"wgdroid:fail\texists\tb\n", b"99")
    whole = head + a + b + b"\n" + mark + b"\tend\n"
    assert split_pushed(whole, mark, ["a", "b"]) == (
        head, {"a": (0, b"stored\ta\n"), "b": (99, b"wgdroid:fail\texists\tb\n")})
    assert split_pushed(head + a + b[:-8], mark, ["a", "b"])[1] == {"a": (0, b"stored\ta\n")}
    assert split_pushed(whole, mark, ["b", "a"])[1] == {}
    assert split_pushed(head + entry(b"a", b"", b"x"), mark, ["a"])[1] == {}
    assert split_pushed(b"", mark, ["a"]) == (b"", {})


def test_a_done_line_cut_inside_its_status_is_no_answer() -> None:
    """A stream cut after the first digit of `done\tb\t13` read as status 1:
    an entry counts only once its done line came to its newline."""
    from wgdroid.device.store import split_pushed

    mark = b"0123456789abcdef0123456789abcdef"
    a = b"\n" + mark + b"\tentry\ta\nstored\ta\n\n" + mark + b"\tdone\ta\t0\n"
    b = b"\n" + mark + b"\tentry\tb\nwgdroid:fail\tbusy\tb\t20\n\n" + mark + b"\tdone\tb\t13"
    assert split_pushed(a + b, mark, ["a", "b"])[1] == {"a": (0, b"stored\ta\n")}
    assert split_pushed(a + b + b"\n", mark, ["a", "b"])[1]["b"][0] == 13


def _cut_answer(mark: bytes) -> bytes:
    """op_push_many's stdout as far as it came before the host stopped
    reading: c1 stored, c2 refused (exists), c3 cut inside its answer (its
    config was in place, its done line never came), c4 never began."""
    def entry(name: bytes, body: bytes, status: bytes) -> bytes:
        return (b"\n" + mark + b"\tentry\t" + name + b"\n" + body + b"\n" + mark
                + b"\tdone\t" + name + b"\t" + status + b"\n")

    return (b"dialect\tandroid\n" + entry(b"c1", b"stored\tc1\n", b"0")
            + entry(b"c2", b"wgdroid:fail\texists\tc2\n", b"99")
            + b"\n" + mark + b"\tentry\tc3\nstored\tc3\n")


@pytest.mark.parametrize(("cause", "why", "code"), [
    (OperationTimeout("the operation on P did not finish in 14 s"), "timeout", 12),
    (ConnectionLost("the connection to P broke before the operation finished"),
     "the adb connection broke", 3),
    (Cancelled("stopped waiting for P: the phone may or may not have made the change"),
     "cancelled", 3),
])
def test_a_cut_off_push_many_keeps_what_answered_and_the_rest_is_not_known(
        cause: WgdroidError, why: str, code: int) -> None:
    """store.answered on a cut answer (a host timeout, the link dropped):
    every entry whose answer ended keeps its real outcome (stored, refused);
    the one cut inside its answer (even though it printed `stored`) and the
    ones after are not known, exiting as the cause does: never stored, never
    "not stored"."""
    from wgdroid.device.dialect import check_config
    from wgdroid.device.rootshell import RootMethod
    from wgdroid.device.store import PushOutcome, answered, cut_off

    mark = "0123456789abcdef0123456789abcdef"
    conf = b"[Interface]\nPrivateKey = " + b"A" * 43 + b"=\n"
    sending = [(i, f"c{i + 1}", check_config(conf, f"c{i + 1}.conf")) for i in range(4)]
    outcomes: dict[int, PushOutcome] = {}
    found = answered(outcomes, _cut_answer(mark.encode()), mark, sending, RootMethod.MAGISK,
                     2.0, lambda n: PushOutcome(n, error=cut_off(n, cause), known=False))
    assert found == "android"
    got = [outcomes[i] for i in range(4)]
    assert got[0].result is not None and got[0].known and got[0].error is None
    assert isinstance(got[1].error, ConflictError) and got[1].known
    for o in got[2:]:
        assert o.result is None and not o.known and o.error is not None
        assert o.error.exit_code == code
        assert o.error.message == (f"{o.name}: not known whether it is stored: the batch "
                                   f"was cut off ({why}) before this entry answered")
        assert o.error.hint == "`wgdroid list` shows what the phone stores"


def test_a_push_many_entry_reads_as_a_push_of_it() -> None:
    """An entry's part mixes its stdout and stderr: its records count as what
    it printed, the rest as what it said, so push's own reading applies."""
    from wgdroid.device.rootshell import RootMethod
    from wgdroid.device.store import _entry_result, _stored

    ok = _entry_result(RootMethod.MAGISK, 1.5, 0, b"applied\twg0\tpeers mtu\nstored\twg0\n")
    assert _stored(ok, "wg0", None, ()).applied == ("peers", "mtu")
    failed = _entry_result(RootMethod.MAGISK, 1.5, 99,
                           b"wgdroid:step\twg syncconf\nUnable to modify interface: "
                           b"Protocol not supported\nwgdroid:fail\tlive-refused\twg0\n")
    assert failed.tags == [sc.Tag("live-refused", ("wg0",))] and failed.steps == ["wg syncconf"]
    with pytest.raises(DeviceCommandError, match=r"refused it for the running tunnel wg0.*"
                       r"Protocol not supported"):
        _stored(failed, "wg0", None, ())


def test_push_many_script_stays_one_size_whatever_the_number_of_configs() -> None:
    """Each config's name, size and digest go on stdin (push_list), not on the
    command line: with them as arguments, a few hundred configs outgrew the
    adb request that carries the script (4 hex digits of length)."""
    from wgdroid.device.rootshell import detecting_command
    from wgdroid.device.store import push_list, push_many_script

    def wrapped(n: int) -> int:
        listed = push_list([(f"t{i}", b"[Interface]\n", (True, True)) for i in range(n)])
        return len(detecting_command(push_many_script("ab" * 16, listed, overwrite=False,
                                                      timeout=60), stdin=True))

    assert wrapped(1024) - wrapped(1) <= 8 and wrapped(1024) < 0xFFFF - 8192  # the list's size
    line = push_list([("wg0", b"x", (True, False))])
    assert line == f"wg0\t1\t{hashlib.sha256(b'x').hexdigest()}\t1\t0\n".encode()
    with pytest.raises(InvalidInputError):
        push_list([("bad\tname", b"x", (True, True))])


def test_pull_many_answers_cut_short_or_garbled_are_refused() -> None:
    """store.split_pulled takes only a whole answer: every name asked, in
    order, then the end line; a stream cut mid-file is no config."""
    from wgdroid.device.store import split_pulled
    from wgdroid.errors import DeviceCommandError

    mark = b"0123456789abcdef0123456789abcdef"
    a, b = b"[Interface]\nPrivateKey = x\n", b"no newline at the end"
    whole = b"\n" + mark + b"\tconfig\ta\n" + a + b"\n" + mark + b"\tconfig\tb\n" + b
    assert split_pulled(whole + b"\n" + mark + b"\tend\n", mark, ["a", "b"]) == {"a": a, "b": b}
    for bad, wanted in [(whole, ["a", "b"]),  # no end line: cut short
                        (whole + b"\n" + mark + b"\tend\n", ["b", "a"]),
                        (whole + b"\n" + mark + b"\tend\n", ["a"]),
                        (b"", ["a"])]:
        with pytest.raises(DeviceCommandError, match="cut short"):
            split_pulled(bad, mark, wanted)
