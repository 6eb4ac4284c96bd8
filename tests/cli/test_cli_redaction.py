"""The redaction point, end to end: key-shaped tokens put into every field of a
config never come back on stdout, stderr or in JSON (issue 13, promise 2).
Device stderr paths are in test_cli_sim.py."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wgdroid.cli.main import main
from wgdroid.config import keys
from wgdroid.config.keyspec import SPECS

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
PRIV = keys.genkey()
PEER = keys.pubkey(keys.genkey())


def tokens() -> st.SearchStrategy[str]:
    b64 = st.text(alphabet=B64, min_size=43, max_size=43).map(lambda s: s + "=")
    hex64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
    return st.one_of(b64, hex64)


# How a token may land in a key's value: alone, after a valid-looking value
# (the endpoint case of the issue), or glued to it.
SHAPES = ("{t}", "10.0.0.1 {t}", "2001:db8::1:51820 {t}", "{t},{t}", "x{t}y", "[{t}]:1")


def config_with(key: str, section: str, value: str) -> str:
    iface = {"PrivateKey": PRIV}
    peer = {"PublicKey": PEER, "AllowedIPs": "10.0.0.0/24"}
    (iface if section == "Interface" else peer)[key] = value
    text = "[Interface]\n" + "".join(f"{k} = {v}\n" for k, v in iface.items())
    return text + "[Peer]\n" + "".join(f"{k} = {v}\n" for k, v in peer.items())


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=120, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=st.sampled_from(SPECS), shape=st.sampled_from(SHAPES), token=tokens(),
       where=st.sampled_from(("value", "key", "header", "comment-less line")))
def test_key_shaped_tokens_never_come_back(tmp_path: Path, spec: object, shape: str,
                                           token: str, where: str) -> None:
    from wgdroid.config.keyspec import KeySpec

    assert isinstance(spec, KeySpec)
    value = shape.format(t=token)
    text = config_with(spec.name, spec.section, value)
    if where == "key":
        text = text.replace(f"{spec.name} = ", f"{spec.name}{token} = ", 1)
    elif where == "header":
        text = text.replace("[Peer]", f"[Peer{token}]", 1)
    elif where == "comment-less line":
        text += f"{token}\n"
    conf = tmp_path / "t.conf"
    conf.write_text(text)
    for argv in (["check", str(conf)], ["check", "--json", str(conf)],
                 ["check", "--dialect", "linux", "--strict", str(conf)],
                 ["push", str(conf), "--json", "-H", "127.0.0.2", "-P", "9", "-s", "x"]):
        code, out, err = run(*argv)
        if code == 0 and argv[0] == "check" and "--json" in argv:
            json.loads(out)  # a valid result
        for stream in (out, err):
            assert token not in stream, (argv, stream)
            assert token[:40] not in stream, (argv, stream)


def test_the_userspace_daemons_log_is_redacted(capsys: Any) -> None:
    """Its handler had no RedactingFilter: a key in a log message was printed."""
    import logging

    from wgdroid.userspace.__main__ import _setup_logging

    logger = logging.getLogger("wgdroid.userspace")
    _setup_logging("wgx", logging.INFO)
    try:
        logger.warning("peer %s said hello", PEER)
        logger.warning("private " + PRIV)
    finally:
        for handler in logger.handlers[:]:
            logger.removeHandler(handler)
    err = capsys.readouterr().err
    assert "peer (key hidden) said hello" in err and PEER not in err and PRIV not in err, err


def test_a_long_run_is_hidden_once() -> None:
    """A 5000-digit argument came back as a row of "(key hidden)"."""
    from wgdroid.redact import redact

    assert redact("interval '" + "1" * 5000 + "'") == "interval '(key hidden)" + "1" * 8 + "'"
    assert redact(f"{PRIV} and {PEER}") == "(key hidden) and (key hidden)"
