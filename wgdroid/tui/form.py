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

from wgdroid.errors import ConfigError, WgdroidError

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


INTERFACE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("PrivateKey", "private_key", "this tunnel's private key", secret=True),
    FieldSpec("Address", "addresses", "tunnel IPs with prefix",
              placeholder="e.g. 10.0.0.2/32, fd00::2/128"),
    FieldSpec("DNS", "dns", "DNS servers and search domains", placeholder="e.g. 1.1.1.1"),
    FieldSpec("ListenPort", "listen_port", "UDP port; empty = random",
              placeholder="empty: random"),
    FieldSpec("MTU", "mtu", "empty = automatic", placeholder="empty: automatic"),
    FieldSpec("IncludedApplications", "included_applications", "only these apps (Android)",
              placeholder="e.g. com.example.app"),
    FieldSpec("ExcludedApplications", "excluded_applications", "these apps bypass (Android)",
              placeholder="e.g. com.example.app"),
    FieldSpec("FwMark", "fwmark", "Android's wg-quick overrides it", placeholder="empty: off",
              advanced=True),
    FieldSpec("Table", "table", "Linux wg-quick only", placeholder="empty: auto",
              advanced=True),
    FieldSpec("PreUp", "pre_up", "one command per line (Linux)", multiline=True, advanced=True),
    FieldSpec("PostUp", "post_up", "one command per line (Linux)", multiline=True,
              advanced=True),
    FieldSpec("PreDown", "pre_down", "one command per line (Linux)", multiline=True,
              advanced=True),
    FieldSpec("PostDown", "post_down", "one command per line (Linux)", multiline=True,
              advanced=True),
    FieldSpec("SaveConfig", "save_config", "true/false (Linux)", placeholder="empty: false",
              advanced=True),
)
PEER_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("PublicKey", "public_key", "the peer's public key"),
    FieldSpec("PresharedKey", "preshared_key", "optional", secret=True,
              placeholder="empty: none"),
    FieldSpec("AllowedIPs", "allowed_ips", "routed to this peer",
              placeholder="e.g. 0.0.0.0/0, ::/0"),
    FieldSpec("Endpoint", "endpoint", "host:port", placeholder="e.g. vpn.example.com:51820"),
    FieldSpec("PersistentKeepalive", "persistent_keepalive", "seconds; empty = off",
              placeholder="empty: off"),
)
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


def check_text(text: str, filename: str) -> tuple[TunnelConfig | None, list[ConfigIssue],
                                                  list[ConfigIssue]]:
    """(config or None, errors, warnings) of wg-quick text, in the Android dialect."""
    from wgdroid.config.parser import Dialect, parse

    try:
        parsed = parse(text, filename=filename, dialect=Dialect.ANDROID)
    except ConfigError as exc:
        return None, list(exc.issues), list(exc.warnings)
    return parsed.config, [], list(parsed.warnings)


def check(state: FormState, filename: str = "tunnel.conf") -> Checked:
    layout = _layout(state)
    config, errors, warnings = check_text(layout.text, filename)
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
