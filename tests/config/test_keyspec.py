"""The one key table: the parser, renderers, strip, models, dialect check and
the editor form all derive from it, so a key added there is everywhere."""

from __future__ import annotations

import pytest

from wgdroid.config import keys
from wgdroid.config.dialect import Dialect
from wgdroid.config.keyspec import (
    HOOK_KEYS,
    INTERFACE_SPECS,
    PEER_SPECS,
    SPECS,
    OnAndroid,
    android_refused_keys,
    own_keys,
)
from wgdroid.config.models import Interface, Peer
from wgdroid.config.parser import parse
from wgdroid.config.render import to_wg_quick
from wgdroid.tui.form import INTERFACE_FIELDS, PEER_FIELDS

PUB = keys.pubkey(keys.genkey())
VALUES = {
    "PrivateKey": keys.genkey(), "Address": "10.0.0.2/32, fd00::2/128", "DNS": "1.1.1.1, lan",
    "ListenPort": "51820", "MTU": "1420", "FwMark": "0x1234", "Table": "off",
    "PreUp": "true", "PostUp": "echo up", "PreDown": "true", "PostDown": "echo down",
    "SaveConfig": "false", "IncludedApplications": "com.example.app",
    "ExcludedApplications": "com.example.other",
    "PublicKey": PUB, "PresharedKey": keys.genpsk(), "AllowedIPs": "0.0.0.0/0, ::/0",
    "Endpoint": "[2001:db8::1]:51820", "PersistentKeepalive": "25",
}


def test_every_model_field_is_a_key_of_the_table() -> None:
    fields = {s.field for s in INTERFACE_SPECS} - {"dns"} | {"dns_servers", "dns_search"}
    assert set(Interface.model_fields) == fields
    assert set(Peer.model_fields) == {s.field for s in PEER_SPECS}
    for spec in INTERFACE_SPECS:
        names = ("dns_servers", "dns_search") if spec.field == "dns" else (spec.field,)
        for name in names:
            assert Interface.model_fields[name].description == spec.doc
    for spec in PEER_SPECS:
        assert Peer.model_fields[spec.field].description == spec.doc
    assert set(VALUES) == {s.name for s in SPECS}


def test_the_form_is_the_table() -> None:
    assert {f.key for f in INTERFACE_FIELDS} == {s.name for s in INTERFACE_SPECS}
    assert [f.key for f in PEER_FIELDS] == [s.name for s in PEER_SPECS]
    by_key = {s.name: s for s in SPECS}
    for f in (*INTERFACE_FIELDS, *PEER_FIELDS):
        spec = by_key[f.key]
        assert (f.attr, f.help, f.secret, f.multiline, f.advanced) == (
            spec.field, spec.hint, spec.secret, spec.per_line, spec.advanced)
    # what the phone reads first, then the folded keys
    advanced = [f.advanced for f in INTERFACE_FIELDS]
    assert advanced == sorted(advanced)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_each_key_parses_and_renders_back(spec: object) -> None:
    from wgdroid.config.keyspec import KeySpec

    assert isinstance(spec, KeySpec)
    iface = {"PrivateKey": VALUES["PrivateKey"]}
    peer = {"PublicKey": PUB}
    (iface if spec.section == "Interface" else peer)[spec.name] = VALUES[spec.name]
    text = "[Interface]\n" + "".join(f"{k} = {v}\n" for k, v in iface.items())
    text += "\n[Peer]\n" + "".join(f"{k} = {v}\n" for k, v in peer.items())
    parsed = parse(text, dialect=Dialect.LINUX if spec.name not in (
        "IncludedApplications", "ExcludedApplications") else Dialect.ANDROID).config
    fresh = parsed.model_copy()
    fresh._source = None  # rendered from the table, not from the source text
    again = parse(to_wg_quick(fresh), dialect=Dialect.NONE).config
    assert again == parsed
    assert f"{spec.name} = " in to_wg_quick(fresh)


def test_dialect_facts_come_from_the_table() -> None:
    assert {"PreUp", "PostUp", "PreDown", "PostDown"} == HOOK_KEYS
    assert android_refused_keys() == HOOK_KEYS | {"Table", "SaveConfig"}
    assert {s.name for s in SPECS if s.android is OnAndroid.OVERRIDES} == {"FwMark"}
    assert own_keys(Dialect.LINUX) == {
        "address", "mtu", "dns", "table", "preup", "predown", "postup", "postdown", "saveconfig"}
    assert own_keys(Dialect.ANDROID) == {
        "address", "dns", "mtu", "includedapplications", "excludedapplications"}
