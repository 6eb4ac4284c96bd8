"""The editor's form as plain data, and its validation by the config parser
(pure: no Textual).

The form is turned into wg-quick text, one line per filled field, and that
text is parsed with the project parser, so the form shows exactly the
parser's messages (and Android-dialect warnings). A line map sends each issue
back to the field it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wgdroid.config.dialect import Dialect
from wgdroid.config.issues import ConfigError
from wgdroid.config.keyspec import INTERFACE_SPECS, PEER_SPECS, KeySpec
from wgdroid.errors import WgdroidError

if TYPE_CHECKING:
    from wgdroid.config.issues import ConfigIssue
    from wgdroid.config.models import TunnelConfig


@dataclass(frozen=True)
class FieldSpec:
    key: str  # the wg-quick key
    attr: str  # widget id suffix
    help: str
    multiline: bool = False  # hooks: one command per line
    secret: bool = False
    placeholder: str = ""
    advanced: bool = False  # Linux wg-quick keys: folded away, the phone rejects most


def _fields(specs: tuple[KeySpec, ...]) -> tuple[FieldSpec, ...]:
    """The form's fields, from the one key table: the keys the phone reads
    first, then the advanced ones (folded away), each group in table order."""
    ordered = sorted(specs, key=lambda s: s.advanced)  # stable
    return tuple(FieldSpec(s.name, s.field, s.hint, multiline=s.per_line, secret=s.secret,
                           placeholder=s.placeholder, advanced=s.advanced) for s in ordered)


INTERFACE_FIELDS = _fields(INTERFACE_SPECS)
PEER_FIELDS = _fields(PEER_SPECS)
_IFACE_BY_KEY = {f.key: f for f in INTERFACE_FIELDS}
_PEER_BY_KEY = {f.key: f for f in PEER_FIELDS}


def field_id(peer: int | None, attr: str) -> str:
    """Widget id of a field: `if-mtu`, `p0-endpoint`."""
    return f"if-{attr}" if peer is None else f"p{peer}-{attr}"


@dataclass
class FormState:
    """Field texts keyed by attr; a peer is a dict like the interface."""

    interface: dict[str, str] = field(default_factory=dict)
    peers: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Checked:
    config: TunnelConfig | None
    errors: dict[str, list[str]]  # field id -> messages
    warnings: dict[str, list[str]]
    general: list[str]  # issues no field owns, formatted with their line
    text: str  # the text that was parsed (holds the private key: never log it)


def _value(lines: list[str]) -> str:
    return "\n".join(line.split(" = ", 1)[1] for line in lines)


def from_config(config: TunnelConfig) -> FormState:
    from wgdroid.config.render import INTERFACE_KEYS, PEER_KEYS

    iface = {f.attr: _value(INTERFACE_KEYS[f.key](config.interface)) for f in INTERFACE_FIELDS}
    # The form shows the interface's own key form: "off" FwMark is rendered that way.
    peers = [{f.attr: _value(PEER_KEYS[f.key](p)) for f in PEER_FIELDS} for p in config.peers]
    return FormState(iface, peers)


@dataclass
class _Layout:
    text: str
    lines: dict[int, str]  # line number -> field id
    sections: list[tuple[int, int | None]]  # (header line, peer index or None)


def _layout(state: FormState) -> _Layout:
    out: list[str] = []
    lines: dict[int, str] = {}
    sections: list[tuple[int, int | None]] = []

    def section(header: str, values: dict[str, str], specs: tuple[FieldSpec, ...],
                peer: int | None) -> None:
        out.append(header)
        sections.append((len(out), peer))
        for spec in specs:
            raw = values.get(spec.attr, "")
            items = raw.splitlines() if spec.multiline else [" ".join(raw.split())]
            for item in items:
                if item.strip():
                    out.append(f"{spec.key} = {item.strip()}")
                    lines[len(out)] = field_id(peer, spec.attr)

    section("[Interface]", state.interface, INTERFACE_FIELDS, None)
    for index, peer in enumerate(state.peers):
        out.append("")
        section("[Peer]", peer, PEER_FIELDS, index)
    return _Layout("\n".join(out) + "\n", lines, sections)


def to_text(state: FormState) -> str:
    return _layout(state).text


def _owner(issue: ConfigIssue, layout: _Layout) -> str | None:
    if issue.line in layout.lines:
        return layout.lines[issue.line]
    if not issue.key:
        return None
    peer: int | None = None
    found = False
    for header, index in layout.sections:
        if header <= issue.line:
            peer, found = index, True
    if not found:
        return None
    spec = (_IFACE_BY_KEY if peer is None else _PEER_BY_KEY).get(issue.key)
    return field_id(peer, spec.attr) if spec else None


def check_text(text: str, filename: str, dialect: Dialect | None = None
               ) -> tuple[TunnelConfig | None, list[ConfigIssue], list[ConfigIssue]]:
    """(config or None, errors, warnings) of wg-quick text, in the dialect of
    the phone's wg-quick (Android's when not known)."""
    from wgdroid.config.parser import parse

    try:
        parsed = parse(text, filename=filename, dialect=dialect or Dialect.ANDROID)
    except ConfigError as exc:
        return None, list(exc.issues), list(exc.warnings)
    return parsed.config, [], list(parsed.warnings)


def check(state: FormState, filename: str = "tunnel.conf", dialect: Dialect | None = None
          ) -> Checked:
    layout = _layout(state)
    config, errors, warnings = check_text(layout.text, filename, dialect)
    result = Checked(config, {}, {}, [], layout.text)
    for issue, into in [(i, result.errors) for i in errors] + [
        (w, result.warnings) for w in warnings
    ]:
        owner = _owner(issue, layout)
        if owner is None:
            result.general.append(issue.format())
        else:
            into.setdefault(owner, []).append(issue.message)
    return result


def merged_text(edited: TunnelConfig, original: TunnelConfig | None) -> str:
    """The text to save: the edited values over the original's source, so the
    original's comments and key order survive a form edit."""
    from wgdroid.config.render import to_wg_quick

    if original is None or original._source is None:
        return to_wg_quick(edited)
    copy = original.model_copy(update={"interface": edited.interface, "peers": edited.peers})
    return to_wg_quick(copy)


def public_key_of(private_text: str) -> str | None:
    """The public key for the private key field, or None while it is invalid."""
    from wgdroid.config.types import PrivateKey

    try:
        return PrivateKey.from_base64(private_text.strip()).public_key().base64()
    except (WgdroidError, ValueError):  # invalid while typing: no public key yet
        return None


def new_state() -> FormState:
    """A fresh tunnel: a new key pair, one empty peer routing everything."""
    from wgdroid.config.types import PrivateKey

    return FormState(
        {"private_key": PrivateKey.generate().reveal()},
        [{"allowed_ips": "0.0.0.0/0, ::/0"}],
    )
