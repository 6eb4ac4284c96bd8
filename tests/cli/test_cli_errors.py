"""The one error table, the --all rule, and the redaction point (pure)."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wgdroid import errors
from wgdroid.config.issues import ConfigError, ConfigIssue, Reason
from wgdroid.exit_codes import ExitCode
from wgdroid.redact import HIDDEN, RedactingFilter, redact

OK, INVALID, DEVICE, ROOT = ExitCode.OK, ExitCode.INVALID, ExitCode.DEVICE, ExitCode.NO_ROOT
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@pytest.mark.parametrize(("codes", "expected"), [
    ([], OK),
    ([OK, OK], OK),
    ([OK, DEVICE], ExitCode.PARTIAL),  # some succeeded
    ([DEVICE, DEVICE], DEVICE),  # all failed alike: their code
    ([DEVICE, ROOT], ExitCode.ALL_FAILED),  # all failed, differently
    ([OK, DEVICE, ROOT], ExitCode.PARTIAL),
    ([ExitCode.MISSING_TOOLS], ExitCode.MISSING_TOOLS),
])
def test_combined_exit(codes: list[ExitCode], expected: ExitCode) -> None:
    assert errors.combined_exit(codes) == expected


def test_every_error_class_has_its_code_from_the_one_table() -> None:
    expected = {
        errors.UsageError: 2, errors.InvalidInputError: 1, errors.KeyFormatError: 1,
        errors.OutputError: 1,
        ConfigError: 1, errors.DeviceError: 3, errors.RootError: 4,
        errors.RootPendingError: 5, errors.DeviceCommandError: 6, errors.NotFoundError: 7,
        errors.ConflictError: 8, errors.MissingToolsError: 9, errors.PartialFailureError: 10,
        errors.EnvironmentProblem: 11, errors.OperationTimeout: 12, errors.WgdroidError: 70,
    }
    for cls, code in expected.items():
        error = cls([]) if cls is ConfigError else cls("x")
        assert error.exit_code == code == errors.exit_code_for(error), cls
        extra = {"issues": []} if cls is ConfigError else {}  # a config's FILE:LINE issues
        assert error.to_json() == {"message": error.message, "exit_code": code, "hint": None,
                                   **extra}
    assert errors.exit_code_for(KeyboardInterrupt()) == ExitCode.INTERRUPTED
    assert errors.exit_code_for(ValueError()) == ExitCode.INTERNAL


def key_tokens() -> st.SearchStrategy[str]:
    b64 = st.text(alphabet=B64, min_size=43, max_size=43).map(lambda s: s + "=")
    hex64 = st.text(alphabet="0123456789abcdefABCDEF", min_size=64, max_size=64)
    return st.one_of(b64, hex64)


@given(key_tokens(), st.text(max_size=30), st.text(max_size=30))
def test_redact_hides_every_key_shaped_token(token: str, before: str, after: str) -> None:
    clean = redact(before + token + after)
    assert token not in clean
    assert token[:40] not in clean  # not even most of it


def test_messages_are_redacted_at_construction() -> None:
    key = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
    hexkey = "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
    error = errors.DeviceCommandError(f"wg: Key is not the correct length: {key}",
                                      hint=f"private_key={hexkey}")
    assert key not in str(error) and hexkey not in (error.hint or "")
    assert HIDDEN in error.message
    issue = ConfigIssue("a.conf", 3, f"{key} is bad", Reason.INVALID_VALUE)
    assert key not in issue.format() and key not in str(issue.to_json())
    assert key not in str(ConfigError([issue]))


def test_logging_filter_redacts(caplog: pytest.LogCaptureFixture) -> None:
    key = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
    log = logging.getLogger("wgdroid.test.redact")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        log.info("pushed %s", key)
        try:
            raise ValueError(key)
        except ValueError:
            log.exception("failed")
    assert key not in caplog.text
    assert HIDDEN in caplog.text
