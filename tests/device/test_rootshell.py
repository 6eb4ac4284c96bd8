"""Pure tests of root detection and su error mapping, from recorded outputs."""

from __future__ import annotations

import shlex

import pytest

from wgdroid.device.connection import ShellResult
from wgdroid.device.rootshell import (
    RootMethod,
    _root_failure,
    classify_su_version,
    command_for,
    detecting_command,
    method_from_stderr,
)
from wgdroid.errors import RootError, RootPendingError


@pytest.mark.parametrize(
    ("said", "method"),
    [
        ("28.1:MAGISKSU\n", RootMethod.MAGISK),
        ("27.0:MAGISKSU (topjohnwu)", RootMethod.MAGISK),
        ("v1.0.5:KernelSU\n", RootMethod.KERNELSU),
        ("10763:APatch", RootMethod.KERNELSU),
        ("su: invalid uid/gid '-v'\n", RootMethod.AOSP),
        ("usage: su [WHO [COMMAND...]]", RootMethod.AOSP),
        ("2.82:SUPERSU", RootMethod.SU_C),
        ("", RootMethod.SU_C),
    ],
)
def test_classify_su_version(said: str, method: RootMethod) -> None:
    assert classify_su_version(said) is method


SCRIPT = "echo wgdroid:granted >&2\necho 'it''s'; id -u\n"


def test_command_forms_keep_the_script_one_argument() -> None:
    magisk = command_for(RootMethod.MAGISK, SCRIPT, stdin=False)
    argv = shlex.split(magisk.replace(" </dev/null", ""))
    assert argv == ["su", "-c", SCRIPT] and magisk.endswith("</dev/null")
    assert shlex.split(command_for(RootMethod.AOSP, SCRIPT, stdin=True)) == [
        "su", "0", "sh", "-c", SCRIPT
    ]
    assert shlex.split(command_for(RootMethod.ADBD_ROOT, SCRIPT, stdin=True)) == [
        "sh", "-c", SCRIPT
    ]
    assert command_for(RootMethod.KERNELSU, SCRIPT, stdin=True).startswith("su -c ")
    with pytest.raises(RootError):
        command_for(RootMethod.NONE, SCRIPT, stdin=False)


def test_detecting_command_embeds_the_script_once_quoted() -> None:
    # sh/detect.sh runs it (under both shells: test_sh.py).
    text = detecting_command(SCRIPT, stdin=False)
    assert text.startswith("S=" + shlex.quote(SCRIPT))
    assert text.count(shlex.quote(SCRIPT)) == 1
    assert "\nSTDIN=0\n" in text and text.endswith("detect_and_run\n")
    assert "\nSTDIN=1\n" in detecting_command(SCRIPT, stdin=True)


def test_method_from_stderr() -> None:
    assert method_from_stderr("x\nwgdroid:root=aosp\n") is RootMethod.AOSP
    assert method_from_stderr("wgdroid:root=bogus") is None
    assert method_from_stderr("") is None


def _res(code: int, err: str = "", elapsed: float = 0.1) -> ShellResult:
    return ShellResult(code, b"", err.encode(), elapsed)


def test_no_su_is_a_root_error() -> None:
    err = _root_failure(RootMethod.NONE, _res(127), [])
    assert type(err) is RootError and "not rooted" in err.message


def test_denied_is_a_root_error_with_a_hint() -> None:
    err = _root_failure(RootMethod.MAGISK, _res(13, "Permission denied"), ["Permission denied"])
    assert type(err) is RootError and "denied" in err.message and err.hint
    assert err.exit_code == 4


def test_late_denial_is_an_expired_prompt() -> None:
    err = _root_failure(RootMethod.MAGISK, _res(13, elapsed=10.2), ["Permission denied"])
    assert isinstance(err, RootPendingError) and err.exit_code == 5


def test_other_su_failure_shows_what_su_said() -> None:
    err = _root_failure(RootMethod.SU_C, _res(1), ["su: something odd"])
    assert type(err) is RootError and "su: something odd" in err.message
