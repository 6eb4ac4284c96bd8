"""Render a config: wg-quick text, the `wg setconf` form, JSON.

wg-quick text keeps the source's comments, blank lines and key order: lines
whose value did not change are written back untouched; changed keys are
rewritten in place; new keys go after the section's last key; new peers are
appended. A config parsed and rendered unchanged is byte-identical.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

from pydantic import BaseModel

from wgdroid.config.dialect import Dialect
from wgdroid.config.keyspec import INTERFACE_SPECS, PEER_SPECS, KeySpec, own_keys, render_lines
from wgdroid.config.models import Interface, Peer, TunnelConfig
from wgdroid.config.parser import SourceDocument, SourceLine

_Lines = Callable[[Any], list[str]]


def _table(specs: tuple[KeySpec, ...]) -> dict[str, _Lines]:
    return {s.name: partial(render_lines, s) for s in specs}


# key name -> the lines it renders to; in the order a fresh section is written
INTERFACE_KEYS: dict[str, _Lines] = _table(INTERFACE_SPECS)
PEER_KEYS: dict[str, _Lines] = _table(PEER_SPECS)


def _fresh_section(header: str, obj: BaseModel, keys: dict[str, _Lines]) -> list[str]:
    lines = [header]
    for render in keys.values():
        lines.extend(render(obj))
    return lines


def _fresh(config: TunnelConfig) -> str:
    lines = _fresh_section("[Interface]", config.interface, INTERFACE_KEYS)
    for peer in config.peers:
        lines += ["", *_fresh_section("[Peer]", peer, PEER_KEYS)]
    return "\n".join(lines) + "\n"


def _merge_section(
    body: list[SourceLine],
    old: BaseModel,
    new: BaseModel,
    keys: dict[str, _Lines],
    written: set[str] | None = None,
    present: set[str] | None = None,
) -> list[str]:
    """Merge one section's lines. `written`/`present` are shared by the
    sections of one [Interface] split over several headers, so a changed key
    is written once, and new keys go to the first."""
    wanted = {k: render(new) for k, render in keys.items()}
    changed = {k: wanted[k] != render(old) for k, render in keys.items()}
    out: list[str] = []
    written = set() if written is None else written
    last_key_at = 0  # index in out after the last key line, where new keys go
    for line in body:
        if line.key is None:
            out.append(line.raw)
            continue
        if not changed[line.key]:
            out.append(line.raw)
        elif line.key not in written:
            out.extend(wanted[line.key])
        written.add(line.key)
        last_key_at = len(out)
    if present is None:
        present = {line.key for line in body if line.key is not None}
    added = [x for k in keys if k not in present for x in wanted[k]]
    present.update(keys)  # shared: later split sections add nothing more
    return out[:last_key_at] + added + out[last_key_at:]


def _match_peers(config: TunnelConfig, source: SourceDocument) -> dict[int, Peer]:
    """Source peer index -> the model peer it became: same key first, then by order."""
    old_peers = source.config.peers
    matched: dict[int, Peer] = {}
    unmatched: list[Peer] = []
    by_key = {p.public_key: i for i, p in enumerate(old_peers)}
    for peer in config.peers:
        index = by_key.get(peer.public_key)
        if index is not None and index not in matched:
            matched[index] = peer
        else:
            unmatched.append(peer)
    free = [i for i in range(len(old_peers)) if i not in matched]
    for index, peer in zip(free, list(unmatched), strict=False):
        matched[index] = peer
        unmatched.remove(peer)
    return matched


def _merged(config: TunnelConfig, source: SourceDocument) -> str:
    matched = _match_peers(config, source)
    placed = {id(p) for p in matched.values()}
    out: list[str] = []
    blocks: dict[int, list[SourceLine]] = {}
    for line in source.lines:
        blocks.setdefault(line.section, []).append(line)
    out.extend(line.raw for line in blocks.get(-1, []))
    iface_written: set[str] = set()
    iface_present: set[str] = {
        line.key for line in source.lines
        if line.key and source.sections[line.section].kind == "Interface"
    }
    for index, section in enumerate(source.sections):
        if index not in blocks:
            continue
        header, *body = blocks[index]
        if section.kind == "Interface":
            old_iface: Interface = source.config.interface
            out.append(header.raw)
            out.extend(_merge_section(
                body, old_iface, config.interface, INTERFACE_KEYS, iface_written, iface_present
            ))
        elif section.kind == "Peer" and section.peer_index in matched:
            old_peer = source.config.peers[section.peer_index]
            out.append(header.raw)
            out.extend(_merge_section(body, old_peer, matched[section.peer_index], PEER_KEYS))
    for peer in config.peers:
        if id(peer) not in placed:
            if out and out[-1].strip():
                out.append("")
            out.extend(_fresh_section("[Peer]", peer, PEER_KEYS))
    text = "\n".join(out)
    return text + "\n" if source.final_newline or not text else text


def to_wg_quick(config: TunnelConfig) -> str:
    """The config as wg-quick text (contains the private key: write it 0600)."""
    source: SourceDocument | None = config._source
    if source is None:
        return _fresh(config)
    if config == source.config:
        return _merged(source.config, source)  # exactly the source text
    return _merged(config, source)


# -- strip: what `wg-quick strip` prints --------------------------------------

_C_SPACE = " \t\n\v\f\r"


def strip_text(text: str, dialect: Dialect = Dialect.LINUX) -> str:
    """Byte for byte what wg-quick's parse_options + `echo "$WG_CONFIG"` print.

    `read -r line` trims blanks and tabs at both ends; a key is the text before
    `#` and `=`, trimmed; wg-quick's own keys are dropped inside [Interface].
    """
    own = own_keys(dialect)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out: list[str] = []
    in_interface = False
    for raw in lines:
        line = raw.replace("\0", "").strip(" \t")
        key = line.split("#", 1)[0].split("=", 1)[0].strip(_C_SPACE)
        if key.startswith("["):
            in_interface = False
        if key.lower() == "[interface]":
            in_interface = True
        if in_interface and key.lower() in own:
            continue
        out.append(line + "\n")
    return "".join(out) + "\n"


def to_setconf(config: TunnelConfig, dialect: Dialect = Dialect.LINUX) -> str:
    """The `wg setconf` form: wg-quick text without wg-quick's own keys."""
    return strip_text(to_wg_quick(config), dialect)


def to_json(config: TunnelConfig, *, reveal_secrets: bool = False, name: str | None = None) -> str:
    data: dict[str, Any] = {}
    if name is not None:
        data["name"] = name
    data.update(config.to_json_dict(reveal_secrets=reveal_secrets))
    return json.dumps(data, indent=2)
