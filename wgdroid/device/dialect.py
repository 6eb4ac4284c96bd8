"""Which wg-quick a phone has: the Android one (WT src/wg-quick/android.c) or
the Linux bash script, so configs are checked against the right dialect.

Detection rule (sh/dialect.sh `wg_dialect`, run inside a root script that
already exists, so it costs no round trip of its own):

- not a `#!` script (the real Android wg-quick is an NDK ELF binary, also
  the official app's libwg-quick.so) -> android;
- a script that contains `ndc network` (the Android wg-quick drives netd
  with `ndc network create/interface add/route add`; linux.bash never calls
  ndc; the simulator's Android wg-quick is such a script) -> android;
- any other script -> linux; no wg-quick -> none.

What push checks a config against is the phone's dialect (`phone_dialect`):
android on a phone that routes through netd, whatever its wg-quick, because
wgdroid brings tunnels up there itself the way android.c does
(sh/android.sh; docs/android-phone.md); else the wg-quick's as above.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wgdroid.config.dialect import Dialect
from wgdroid.config.issues import ConfigError, ConfigIssue, Reason, Severity
from wgdroid.device.memo import DeviceMemo
from wgdroid.device.script import records, source
from wgdroid.errors import InvalidInputError

if TYPE_CHECKING:
    from wgdroid.device.connection import Device
    from wgdroid.device.rootshell import RootResult

# The marker a script must contain to count as the Android wg-quick.
ANDROID_MARKER = "ndc network"
# wg_dialect [PATH] (sh/dialect.sh): prints android | linux | none for PATH
# (default: the wg-quick on PATH). POSIX sh + toybox head/grep, as on any phone.
DETECT_FUNCTION = source("dialect")


# -- validating a config for a device's wg-quick ------------------------------


@dataclass(frozen=True)
class DialectCheck:
    """One config checked for both wg-quicks, locally, before anything is pushed."""

    filename: str
    errors: dict[Dialect, ConfigError]  # dialects that would refuse it
    warnings: dict[Dialect, list[ConfigIssue]]

    def ok(self, dialect: Dialect) -> bool:
        return dialect not in self.errors

    def require(self, dialect: Dialect) -> list[ConfigIssue]:
        """The warnings for `dialect`; ConfigError if its wg-quick would refuse the config."""
        if dialect in self.errors:
            raise self.errors[dialect]
        return self.warnings[dialect]

    def hooks(self) -> list[ConfigIssue]:
        """The config's PreUp/PostUp/PreDown/PostDown lines (the Android
        wg-quick refuses them; the Linux one runs them as root)."""
        from wgdroid.config.keyspec import HOOK_KEYS

        refused = self.errors.get(Dialect.ANDROID)
        return [i for i in (refused.issues if refused else []) if i.key in HOOK_KEYS]

    def allow_hooks(self, allowed: bool) -> str | None:
        """HooksRefused unless `allowed`; then what to warn about (None: no hooks)."""
        hooks = self.hooks()
        if not hooks:
            return None
        if not allowed:
            raise HooksRefused(self.filename, hooks)
        return HooksRefused.said(self.filename, hooks)

    def accepts(self) -> tuple[bool, bool]:
        """Whether the Android and the Linux wg-quick take the config: what
        sh/dialect.sh `dialect_guard` needs to refuse it on the phone before
        anything is written."""
        return self.ok(Dialect.ANDROID), self.ok(Dialect.LINUX)


class HooksRefused(InvalidInputError):
    """A config with hooks, pushed without allowing them: a Linux wg-quick on
    the phone would run them as root. `issues`: the hook lines. The CLI
    allows them with --allow-hooks; the TUI asks first."""

    def __init__(self, filename: str, hooks: list[ConfigIssue]) -> None:
        super().__init__(self.said(filename, hooks),
                         hint="read them, then push again with --allow-hooks")
        self.issues = hooks

    @staticmethod
    def said(filename: str, hooks: list[ConfigIssue]) -> str:
        where = ", ".join(f"{h.key} at line {h.line}" for h in hooks)
        return f"{filename} has hooks ({where}) that a Linux wg-quick on the phone runs as root"


def check_config(data: bytes, filename: str) -> DialectCheck:
    """Parse once per dialect. ConfigError if the config is broken for any
    wg-quick (e.g. a bad key); otherwise which dialects refuse it and the
    warnings each would give. No dialect's parse rules are redone here."""
    from wgdroid.config.keyspec import ANDROID_REFUSED_VALUES, android_refused_keys
    from wgdroid.config.parser import parse

    android = parse(data, filename=filename, dialect=Dialect.ANDROID)  # raises if broken
    rejected = android_refused_keys() | ANDROID_REFUSED_VALUES
    fatal = [w for w in android.warnings if w.reason is Reason.DIALECT and w.key in rejected]
    a_warn = [w for w in android.warnings if w not in fatal]
    errors: dict[Dialect, ConfigError] = {}
    warnings: dict[Dialect, list[ConfigIssue]] = {
        Dialect.ANDROID: a_warn, Dialect.NONE: android.warnings,
    }
    if fatal:
        promoted = [dataclasses.replace(w, severity=Severity.ERROR) for w in fatal]
        errors[Dialect.ANDROID] = ConfigError(promoted, a_warn)
    try:
        warnings[Dialect.LINUX] = parse(
            data, filename=filename, dialect=Dialect.LINUX
        ).warnings
    except ConfigError as exc:
        errors[Dialect.LINUX] = exc
        warnings[Dialect.LINUX] = exc.warnings
    return DialectCheck(filename, errors, warnings)


def dialect_from_stdout(stdout: str) -> Dialect | None:
    """The phone's wg-quick, from a script's `dialect` record."""
    for r in records(stdout, "dialect"):
        try:
            return Dialect(r["dialect"].strip())
        except ValueError:
            return None
    return None


def dialect_from(res: RootResult) -> Dialect | None:
    return dialect_from_stdout(res.stdout)


# What each device's wg-quick was last seen to be, for this process (like
# rootshell's root methods): lets the TUI and scripts know without asking.
_known: DeviceMemo[Dialect] = DeviceMemo()


def known_dialect(device: Device) -> Dialect | None:
    return _known.get(device)


def remember(device: Device, dialect: Dialect | None) -> None:
    _known.put(device, dialect)
