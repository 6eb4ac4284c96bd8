"""Hiding the secret keys of a config's text while it is edited (pure).

The editor's raw mode shows `PrivateKey = «hidden key 1»` instead of the key
until the user reveals it on purpose; the text is put back together (the
real keys in place of the tokens still there) before it is checked or
saved. A token the user replaced stays what they typed.
"""

from __future__ import annotations

import re

SECRET_KEYS = ("PrivateKey", "PresharedKey")
_LINE = re.compile(
    r"(?im)^([ \t]*(?:PrivateKey|PresharedKey)[ \t]*=[ \t]*)(«hidden key \d+»|[^\s#]+)")
_TOKEN = re.compile(r"«hidden key (\d+)»")


def hide(text: str) -> tuple[str, list[str]]:
    """The text with each secret key's value replaced by a token, and the values."""
    secrets: list[str] = []

    def token(match: re.Match[str]) -> str:
        if _TOKEN.fullmatch(match.group(2)):
            return match.group(0)  # hidden already
        secrets.append(match.group(2))
        return f"{match.group(1)}«hidden key {len(secrets)}»"

    return _LINE.sub(token, text), secrets


def reveal(text: str, secrets: list[str]) -> str:
    """The text with every token still in it replaced by its value."""

    def value(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return secrets[index] if 0 <= index < len(secrets) else match.group(0)

    return _TOKEN.sub(value, text)
