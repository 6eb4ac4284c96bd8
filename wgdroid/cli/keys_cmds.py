"""`wgdroid genkey`, `pubkey`, `genpsk`: the key tools, behaving like wg(8)'s.

Same streams as wg: genkey/genpsk print one key on stdout; pubkey reads a
private key on stdin and prints its public key. Errors are one line on stderr
and never contain the key text.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Callable
from typing import BinaryIO

from wgdroid.cli import output
from wgdroid.errors import KeyFormatError
from wgdroid.exit_codes import ExitCode

# wg reads exactly 44 characters, then accepts only whitespace or NUL up to EOF
# (wireguard-tools src/pubkey.c); leading whitespace is an error there too.
_TRAILING_OK = frozenset(b" \t\n\r\v\f\0")
_CHUNK = 4096  # trailing bytes are checked in chunks, so input is never buffered whole


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "genkey",
        help="print a new private key (like `wg genkey`)",
        description="Print a new random Curve25519 private key in base64, like `wg genkey`.",
    )
    p.set_defaults(func=_genkey)
    p = sub.add_parser(
        "genpsk",
        help="print a new preshared key (like `wg genpsk`)",
        description="Print a new random preshared key in base64, like `wg genpsk`.",
    )
    p.set_defaults(func=_genpsk)
    p = sub.add_parser(
        "pubkey",
        help="read a private key on stdin, print its public key (like `wg pubkey`)",
        description="Read a base64 private key on stdin and print its public key, "
        "like `wg pubkey`. Trailing whitespace is allowed.",
    )
    p.set_defaults(func=_pubkey)


def _warn_if_world_accessible(fd: int) -> None:
    """wg warns before writing a secret into a regular file that others may open."""
    try:
        st = os.fstat(fd)
    except OSError:
        return
    if stat.S_ISREG(st.st_mode) and st.st_mode & stat.S_IRWXO:
        output.warning("writing to world accessible file")
        output.note("consider setting the umask to 077 and trying again")


def _print_secret(make: Callable[[], str]) -> int:
    if sys.stdout is not None:  # a closed one: output.data says so
        _warn_if_world_accessible(sys.stdout.fileno())
    output.data(make())
    return ExitCode.OK


def _genkey(args: argparse.Namespace) -> int:
    from wgdroid.config import keys  # cryptography: only for the commands that need it

    return _print_secret(keys.genkey)


def _genpsk(args: argparse.Namespace) -> int:
    from wgdroid.config import keys

    return _print_secret(keys.genpsk)


def read_private_key(stream: BinaryIO) -> str:
    """The key from `stream` exactly as `wg pubkey` accepts it."""
    from wgdroid.config import keys

    head = b""
    while len(head) < keys.B64_LEN:
        chunk = stream.read(keys.B64_LEN - len(head))
        if not chunk:
            raise KeyFormatError("private key on stdin is not the correct length or format")
        head += chunk
    while chunk := stream.read(_CHUNK):
        if not set(chunk) <= _TRAILING_OK:
            raise KeyFormatError("trailing characters found after the private key on stdin")
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFormatError("private key on stdin has characters that are not base64") from None
    try:
        keys.decode(text)
    except KeyFormatError as exc:
        raise KeyFormatError(f"private key on stdin {exc.message}") from None
    return text


def _pubkey(args: argparse.Namespace) -> int:
    from wgdroid.config import keys

    private = read_private_key(output.stdin_bytes())
    output.data(keys.pubkey(private))
    return ExitCode.OK
