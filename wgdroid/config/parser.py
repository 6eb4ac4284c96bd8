"""Parse the wg-quick INI dialect exactly as wg(8) and wg-quick(8) read it.

- `#` starts a comment anywhere on a line.
- Keys are case-insensitive. wg removes *all* whitespace from the lines it
  reads (so `Private Key = ...` works there); wg-quick trims its own keys.
- Multi-value keys (Address, DNS, AllowedIPs, the app lists, hooks)
  accumulate over repeated lines; a repeated single key: the last one wins.

Every problem becomes a ConfigIssue with file, line, section and key. The
dialect says which wg-quick will read the file: Linux (bash) or Android (C),
which ignores or rejects some Linux keys and vice versa.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wgdroid.config import types as t
from wgdroid.config.dialect import Dialect
from wgdroid.config.issues import ConfigError, ConfigIssue, Reason, Severity
from wgdroid.config.keyspec import SPEC_BY_KEY, KeySpec, OnAndroid, Reader
from wgdroid.config.models import Interface, Peer, TunnelConfig, cross_field_conflicts
from wgdroid.redact import looks_like_key, quote_value

MAX_CONFIG_BYTES = 512 * 1024
_BINARY = "binary data (a NUL byte), not a config"
_C_SPACE = " \t\n\v\f\r"  # [[:space:]] in the C locale wg-quick runs under
_SPACE_RE = re.compile(r"[ \t\n\v\f\r]+")
_NAMEISH_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_ ]{0,31}$")


# -- the parsed source, kept for rendering ------------------------------------


@dataclass(frozen=True)
class SourceLine:
    number: int
    raw: str  # as in the file, without the newline
    section: int  # index into SourceDocument.sections; -1 before the first
    key: str | None = None  # canonical key name on key lines


@dataclass(frozen=True)
class SourceSection:
    kind: str  # "Interface" or "Peer"
    header_line: int
    peer_index: int | None


@dataclass(frozen=True)
class SourceDocument:
    lines: tuple[SourceLine, ...]
    sections: tuple[SourceSection, ...]
    final_newline: bool
    config: TunnelConfig  # what this text parses to: rendering diffs against it


@dataclass(frozen=True)
class Parsed:
    config: TunnelConfig
    warnings: list[ConfigIssue]
    filename: str


# -- the parser ---------------------------------------------------------------


@dataclass
class _Section:
    kind: str
    header_line: int
    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, list[int]] = field(default_factory=dict)  # key name -> lines
    item_lines: dict[str, list[int]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # keys present, valid or not
    # Every Address stored so far, for the duplicate check: a set, so a
    # config with 20,000 addresses is checked in linear time (a list scan
    # per address took 22 s).
    addresses: set[Any] = field(default_factory=set)


class _Parser:
    def __init__(self, filename: str, dialect: Dialect, strict: bool) -> None:
        self.filename = filename
        self.dialect = dialect
        self.strict = strict
        self.errors: list[ConfigIssue] = []
        self.warnings: list[ConfigIssue] = []
        self.sections: list[_Section] = []
        self.lines: list[SourceLine] = []

    def issue(
        self,
        line: int,
        reason: Reason,
        message: str,
        section: str | None = None,
        key: str | None = None,
        warning: bool = False,
    ) -> None:
        sev = Severity.WARNING if warning else Severity.ERROR
        found = ConfigIssue(self.filename, line, message, reason, section, key, sev)
        (self.warnings if warning else self.errors).append(found)

    def dialect_issue(self, line: int, key: str, message: str) -> None:
        # Warnings by default; errors when the caller knows the device's wg-quick.
        self.issue(line, Reason.DIALECT, message, "Interface", key, warning=not self.strict)

    # one line
    def feed(self, number: int, raw: str) -> None:
        content = raw.split("#", 1)[0]
        compact = _SPACE_RE.sub("", content)
        section_index = len(self.sections) - 1
        if not compact:
            self.lines.append(SourceLine(number, raw, section_index))
            return
        if compact.startswith("["):
            self.header(number, raw, content, compact)
            return
        key = self.key_line(number, content)
        self.lines.append(SourceLine(number, raw, len(self.sections) - 1, key))

    def header(self, number: int, raw: str, content: str, compact: str) -> None:
        lowered = compact.lower()
        if lowered in ("[interface]", "[peer]"):
            kind = "Interface" if lowered == "[interface]" else "Peer"
            if kind == "Interface" and content.strip(_C_SPACE).lower() != "[interface]":
                # wg accepts it, but wg-quick would not see its own keys in it.
                self.issue(number, Reason.SYNTAX_ERROR, "write the header as [Interface]")
            if kind == "Interface":
                first = next((s for s in self.sections if s.kind == "Interface"), None)
                if first is not None:  # wg and the Android app merge them; so do we
                    self.issue(
                        number, Reason.DUPLICATE,
                        "another [Interface] section; its keys merge into the one at "
                        f"line {first.header_line}",
                        warning=True,
                    )
                    self.sections.append(first)  # keys land in the first
                    self.lines.append(SourceLine(number, raw, len(self.sections) - 1))
                    return
            self.sections.append(_Section(kind, number))
        else:
            self.issue(
                number, Reason.UNKNOWN_SECTION,
                f"unknown section {quote_value(compact, 40)}; expected [Interface] or [Peer]",
            )
            self.sections.append(_Section("?", number))
        self.lines.append(SourceLine(number, raw, len(self.sections) - 1))

    def key_line(self, number: int, content: str) -> str | None:
        section = self.sections[-1] if self.sections else None
        sec_name = section.kind if section and section.kind != "?" else None
        if "=" not in content:
            self.issue(number, Reason.SYNTAX_ERROR, "expected 'Key = Value'", sec_name)
            return None
        key_raw, _, value_raw = content.partition("=")
        key_trim = key_raw.strip(_C_SPACE)
        spec = SPEC_BY_KEY.get(_SPACE_RE.sub("", key_raw).lower())
        if spec is None or (spec.reader is not Reader.WG and key_trim.lower() != spec.name.lower()):
            if _NAMEISH_RE.match(key_trim) and not looks_like_key(key_trim):
                self.issue(number, Reason.UNKNOWN_ATTRIBUTE, f"unknown key {key_trim!r}", sec_name)
            else:  # never echo it: it may be a pasted key
                self.issue(number, Reason.SYNTAX_ERROR, "is not a 'Key = Value' line", sec_name)
            return None
        if section is None:
            self.issue(number, Reason.UNKNOWN_SECTION, "is outside of any section", None, spec.name)
            return None
        if section.kind == "?":
            return None  # already reported at the section header
        if section.kind != spec.section:
            self.issue(
                number, Reason.UNKNOWN_ATTRIBUTE, f"belongs in [{spec.section}]",
                section.kind, spec.name,
            )
            return None
        if key_trim != spec.name and key_trim.lower() != spec.name.lower():
            self.issue(
                number, Reason.SYNTAX_ERROR,
                f"write {spec.name!r} without spaces (wg accepts it, the Android app does not)",
                section.kind, spec.name, warning=True,
            )
        if spec.reader is Reader.ANDROID and self.dialect is Dialect.LINUX:
            self.issue(
                number, Reason.DIALECT,
                "only the Android wg-quick understands this key", section.kind, spec.name,
            )
            return spec.name
        section.seen.add(spec.name)
        # wg strips every blank from its lines; wg-quick trims its own values.
        value = (_SPACE_RE.sub("", value_raw) if spec.reader is Reader.WG
                 else value_raw.strip(_C_SPACE))
        if not value:
            self.issue(number, Reason.SYNTAX_ERROR, "has no value", section.kind, spec.name)
            return spec.name
        self.assign(number, section, spec, value)
        return spec.name

    def assign(self, number: int, section: _Section, spec: KeySpec, value: str) -> None:
        if spec.per_line:
            items = [value]
        elif spec.multi:
            items = t.split_list(value)
            if spec.reader is Reader.WG and "" in value.split(","):
                # wg splits its own lists at each comma: an empty item is an error there
                self.issue(number, Reason.SYNTAX_ERROR,
                           "has an empty item between commas (wg refuses it)",
                           section.kind, spec.name)
                return
        else:
            items = [value]
        parsed: list[Any] = []
        line_addresses: set[Any] = set()
        for item in items:
            try:
                if spec.field == "dns":
                    kind = "dns_servers" if t.is_dns_server(item) else "dns_search"
                    parse = t.parse_dns_server if kind == "dns_servers" else t.parse_search_domain
                    parsed.append((kind, parse(item)))
                else:
                    parsed.append(spec.parse(item))
            except t.ValueProblem as exc:
                self.issue(number, exc.reason, exc.message, section.kind, spec.name)
                return
            if spec.field == "dns" and self.dialect is Dialect.ANDROID:
                self.android_dns(number, item, parsed[-1])
            if spec.name == "Address":
                if parsed[-1] in section.addresses or parsed[-1] in line_addresses:
                    # wg-quick adds each address to the interface: the second add fails
                    self.issue(
                        number, Reason.DUPLICATE,
                        f"{parsed[-1]} is listed twice (wg-quick would fail adding it again)",
                        section.kind, spec.name)
                    return
                line_addresses.add(parsed[-1])
            if spec.name == "AllowedIPs" and t.host_bits_set(item):
                self.issue(
                    number, Reason.INVALID_VALUE,
                    f"{item!r} has a nonzero host part; wg uses {parsed[-1]}",
                    section.kind, spec.name, warning=True,
                )
        section.addresses |= line_addresses
        previous = section.lines.setdefault(spec.name, [])
        if spec.multi:
            if spec.field == "dns":
                for kind, v in parsed:
                    section.values.setdefault(kind, []).append(v)
            else:
                section.values.setdefault(spec.field, []).extend(parsed)
            section.item_lines.setdefault(spec.name, []).extend([number] * len(parsed))
        else:
            if previous:
                self.issue(
                    number, Reason.DUPLICATE,
                    f"is set again (first at line {previous[0]}); this later value wins",
                    section.kind, spec.name, warning=True,
                )
            section.values[spec.field] = parsed[0]
        previous.append(number)
        if self.dialect is Dialect.ANDROID and spec.android is not OnAndroid.READS:
            self.dialect_issue(number, spec.name, spec.android_note)

    def android_dns(self, number: int, item: str, parsed: tuple[str, Any]) -> None:
        """The phone's own rule for a DNS entry (sh/android.sh an_parse and
        an_is_ip, which every Android bring-up runs): a server is digits and
        dots, or hex digits, colons and dots; anything else must be a search
        domain of letters, digits, '.' and '-'. The parser's own rules
        already keep domains inside that; a server's scope id (`fe80::1%wlan0`,
        which glibc takes) is what the phone refuses, at enable."""
        kind, value = parsed
        if kind == "dns_servers" and getattr(value, "scope_id", None):
            self.dialect_issue(
                number, "DNS",
                f"{quote_value(item)} has a scope id: the phone takes DNS servers as "
                "plain addresses only (its bring-up refuses it at enable)",
            )

    # whole file
    def finish(self, final_newline: bool) -> TunnelConfig | None:
        interfaces = [s for s in self.sections if s.kind == "Interface"]
        peers = [s for s in self.sections if s.kind == "Peer"]
        if not interfaces:
            self.issue(1, Reason.MISSING_SECTION, "there is no [Interface] section")
            return None
        iface_sec = interfaces[0]  # later [Interface] headers share this object
        if "PrivateKey" not in iface_sec.seen:
            self.issue(
                iface_sec.header_line, Reason.MISSING_ATTRIBUTE, "is missing",
                "Interface", "PrivateKey",
            )
        included = iface_sec.values.get("included_applications")
        if included and iface_sec.values.get("excluded_applications"):
            self.issue(
                iface_sec.lines["IncludedApplications"][0], Reason.INVALID_KEY,
                "can't be combined with ExcludedApplications", "Interface", "IncludedApplications",
            )
        for sec in peers:
            if "PublicKey" not in sec.seen:
                self.issue(
                    sec.header_line, Reason.MISSING_ATTRIBUTE, "is missing", "Peer", "PublicKey"
                )
        if self.errors:
            return None
        interface = self._build(Interface, iface_sec)
        peer_models = [self._build(Peer, sec) for sec in peers]
        if interface is None or any(p is None for p in peer_models):
            return None
        config = TunnelConfig.model_construct(interface=interface, peers=peer_models)
        for conflict in cross_field_conflicts(config):
            sec = peers[conflict.peer_index] if conflict.peer_index is not None else iface_sec
            line = sec.lines.get(conflict.key, [sec.header_line])[-1]
            spec = SPEC_BY_KEY[conflict.key.lower()]
            values = sec.values.get(spec.field, [])
            if conflict.value is not None and conflict.value in values:  # the item's own line
                line = sec.item_lines[conflict.key][values.index(conflict.value)]
            self.issue(line, Reason.INVALID_KEY, conflict.message, sec.kind, conflict.key)
        if self.errors:
            return None
        return TunnelConfig(interface=interface, peers=peer_models)

    def _build(self, model: type[Any], sec: _Section) -> Any:
        try:
            return model.model_validate(sec.values)
        except ValidationError as exc:  # rules inside the model: name the section
            for err in exc.errors(include_input=False):
                self.issue(sec.header_line, Reason.INVALID_VALUE, err["msg"], sec.kind)
            return None


# -- entry points -------------------------------------------------------------


def _decode(data: bytes, filename: str) -> str:
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        raise ConfigError(
            [ConfigIssue(filename, line, _BINARY, Reason.NOT_TEXT)]
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [ConfigIssue(filename, line, "not UTF-8 text", Reason.NOT_TEXT)]
        ) from None


def parse(
    data: str | bytes,
    *,
    filename: str = "<stdin>",
    dialect: Dialect = Dialect.ANDROID,
    strict: bool = False,
) -> Parsed:
    """Parse a config; raise ConfigError listing every error (warnings ride along
    as `.warnings`). `strict` turns dialect warnings into errors."""
    size = len(data)
    if size > MAX_CONFIG_BYTES:
        raise ConfigError([ConfigIssue(
            filename, 1,
            f"file is larger than {MAX_CONFIG_BYTES // 1024} KiB: not a config",
            Reason.NOT_TEXT,
        )])
    if isinstance(data, str):
        text = data
        if "\0" in text:
            line = text[: text.index("\0")].count("\n") + 1
            raise ConfigError([ConfigIssue(filename, line, _BINARY, Reason.NOT_TEXT)])
    else:
        text = _decode(data, filename)
    if text.startswith("\ufeff"):
        raise ConfigError([ConfigIssue(
            filename, 1, "starts with a byte-order mark, which wg rejects; save as plain UTF-8",
            Reason.NOT_TEXT,
        )])
    final_newline = text.endswith("\n")
    raw_lines = text.split("\n")
    if final_newline:
        raw_lines.pop()
    parser = _Parser(filename, dialect, strict)
    for number, raw in enumerate(raw_lines, start=1):
        parser.feed(number, raw)
    config = parser.finish(final_newline)
    if config is None:
        raise ConfigError(sorted(parser.errors, key=lambda i: i.line), parser.warnings)
    config._source = SourceDocument(
        tuple(parser.lines),
        tuple(
            SourceSection(s.kind, s.header_line, _peer_index(parser.sections, i))
            for i, s in enumerate(parser.sections)
        ),
        final_newline,
        config,
    )
    return Parsed(config, parser.warnings, filename)


def _peer_index(sections: list[_Section], index: int) -> int | None:
    if sections[index].kind != "Peer":
        return None
    return sum(1 for s in sections[:index] if s.kind == "Peer")


def read_config_bytes(path: Path | str) -> bytes:
    """A config file's bytes, never more than one past MAX_CONFIG_BYTES (parse
    refuses that); regular files only. A missing file is NotFoundError (exit 7),
    as for every command."""
    from wgdroid.fileio import read_input

    return read_input(path, limit=MAX_CONFIG_BYTES)


def parse_file(
    path: Path | str, *, dialect: Dialect = Dialect.ANDROID, strict: bool = False
) -> Parsed:
    return parse(read_config_bytes(path), filename=str(path), dialect=dialect, strict=strict)


def tunnel_name_for(path: Path | str) -> str:
    """The tunnel name a file implies: its name without `.conf`."""
    name = Path(path).name
    return name[: -len(".conf")] if name.endswith(".conf") else name
