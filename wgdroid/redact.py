"""The one redaction point: every message that can carry device or parser
text passes through `redact` before it leaves wgdroid.

Error messages (WgdroidError and ConfigIssue redact at construction), CLI
stderr, JSON error objects, TUI notifications and logs all use it, so a
private or preshared key pasted into the wrong field, or quoted back by `wg`
on the phone, never reaches a terminal, a log or a script. Anything shaped
like a WireGuard key is hidden: 44 characters of base64 ending in `=` (how
wg(8) writes keys), 64 hex digits (the UAPI form), and what is left of a
damaged key (a long run of base64 with digits and both cases, or of hex,
as `wg` quotes a key it can't parse). Public keys have the same shape and
are hidden too in messages; data (stdout of `status`, `pubkey`...) does not
pass through here.

This module imports nothing of wgdroid: it is the bottom layer.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing itself is not imported: wgdroid.lean says why
if TYPE_CHECKING:
    import logging

HIDDEN = "(key hidden)"
# Patterns, not compiled ones: re compiles (and caches) each on first use,
# and a command that succeeds never redacts anything (~0.4 ms of its start).
# No anchors: a key glued to other text ("51820<key>") is found inside the run.
_KEY_RE = r"[A-Za-z0-9+/]{43}=|[0-9A-Fa-f]{64}"
# Runs this long with digits and both cases (or all hex) are not words, paths
# or key names ("ExcludedApplications" has no digit): a key, or most of one.
_RUN_RE = r"[A-Za-z0-9+/=]{24,}"
_HEX = frozenset("0123456789abcdefABCDEF")
# A long run of base64 (or hex) may be a key, or part of one, in the wrong place.
_KEYLIKE_RE = r"[A-Za-z0-9+/=]{16,}"


_REPEATED_RE = f"(?:{re.escape(HIDDEN)}){{2,}}"


def redact(text: str) -> str:
    """`text` with every key-shaped token replaced by HIDDEN (once for a run of
    them: a 5000-digit argument was a row of 78 markers)."""
    return re.sub(_REPEATED_RE, HIDDEN,
                  re.sub(_RUN_RE, _hide_run, re.sub(_KEY_RE, HIDDEN, text)))


def _hide_run(match: re.Match[str]) -> str:
    run = match.group()
    digits = any(c.isdigit() for c in run)
    mixed = any(c.isupper() for c in run) and any(c.islower() for c in run)
    return HIDDEN if digits and (mixed or set(run) <= _HEX) else run


def looks_like_key(text: str) -> bool:
    """Whether `text` holds something that could be key material, even a part
    of a key: a long run of hex, or of mixed-case base64. Names and hostnames
    are rarely either. Stricter than `redact`: for quoting user input."""
    if re.search(_KEY_RE, text):
        return True
    for run in re.findall(_KEYLIKE_RE, text):
        hexish = all(c in "0123456789abcdefABCDEF" for c in run)
        mixed = any(c.isupper() for c in run) and any(c.islower() for c in run)
        if hexish or mixed:
            return True
    return False


def quote_value(text: str, limit: int = 60, *, fragments: bool = True) -> str:
    """A value, quoted for a message; hidden whole if it could be key material:
    with `fragments` (a config's values, where a piece of a pasted key can
    land) anything looks_like_key; without (a name the user chose) only what
    `redact` would hide, so 'HomeOfficeTunnel' is shown in its own error."""
    if looks_like_key(text) if fragments else redact(text) != text:
        return "the value (hidden: it looks like a key)"
    shown = text if len(text) <= limit else text[: limit - 3] + "..."
    return repr(shown)


class RedactingFilter:
    """A logging filter that redacts each record's final message (add it to a
    handler: it then covers every logger that handler serves). Duck-typed, so
    the CLI's messages don't import logging."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info:  # a traceback's repr of locals could hold a key
            import logging

            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
