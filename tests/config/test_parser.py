"""Parser, models and renderers: dialect rules, round trips, fuzz, secrets."""

from __future__ import annotations

import contextlib
import ipaddress
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from wgdroid.config import keys
from wgdroid.config.dialect import Dialect
from wgdroid.config.issues import ConfigError
from wgdroid.config.models import Interface, Peer, TunnelConfig
from wgdroid.config.parser import parse
from wgdroid.config.render import strip_text, to_json, to_setconf, to_wg_quick
from wgdroid.config.types import Endpoint, PresharedKey, PrivateKey, PublicKey

PRIV = keys.genkey()
PUB = keys.pubkey(keys.genkey())
PSK = keys.genpsk()

SAMPLE = f"""# office tunnel
[Interface]
PrivateKey = {PRIV}  # never share
Address = 10.0.0.2/32, fd00::2/128
DNS = 10.0.0.1, corp.example
MTU = 1380

[Peer]
# gateway
PublicKey = {PUB}
PresharedKey = {PSK}
AllowedIPs = 10.0.0.0/16
AllowedIPs = fd00::/64
Endpoint = [2001:db8::1]:51820
PersistentKeepalive = 25
"""


def test_values_are_typed_and_multi_keys_accumulate() -> None:
    cfg = parse(SAMPLE, filename="office.conf").config
    iface, peer = cfg.interface, cfg.peers[0]
    assert iface.addresses == [
        ipaddress.ip_interface("10.0.0.2/32"), ipaddress.ip_interface("fd00::2/128")
    ]
    assert iface.dns_servers == [ipaddress.ip_address("10.0.0.1")]
    assert iface.dns_search == ["corp.example"]
    assert iface.mtu == 1380
    assert peer.allowed_ips == [
        ipaddress.ip_network("10.0.0.0/16"), ipaddress.ip_network("fd00::/64")
    ]
    assert peer.endpoint == Endpoint(ipaddress.IPv6Address("2001:db8::1"), 51820)
    assert peer.persistent_keepalive == 25
    assert iface.public_key.base64() == keys.pubkey(PRIV)


def test_keys_are_case_insensitive_and_blanks_follow_wg() -> None:
    text = (
        f"[interface]\nprivatekey={PRIV}\n\t LISTENPORT =  51820 \n"
        f"[PEER]\nPublic Key = {PUB}\n"
    )
    parsed = parse(text)
    assert parsed.config.interface.listen_port == 51820
    assert parsed.config.peers[0].public_key.base64() == PUB
    # wg accepts "Public Key"; the Android app does not, so it is a warning
    assert any(w.key == "PublicKey" and w.line == 5 for w in parsed.warnings)


def test_repeated_single_key_last_wins_with_warning() -> None:
    parsed = parse(f"[Interface]\nPrivateKey = {PRIV}\nListenPort = 1\nListenPort = 2\n")
    assert parsed.config.interface.listen_port == 2
    assert [w.line for w in parsed.warnings] == [4]


def test_several_interface_sections_merge_like_wg() -> None:
    text = (
        f"[Interface]\nPrivateKey = {PRIV}\n[Peer]\nPublicKey = {PUB}\n"
        "[Interface]\nListenPort = 51820\nAddress = 10.9.0.2/32\n"
    )
    parsed = parse(text)
    assert parsed.config.interface.listen_port == 51820
    assert [w.line for w in parsed.warnings] == [5]
    assert to_wg_quick(parsed.config) == text
    edited = parsed.config.model_copy(
        update={"interface": parsed.config.interface.model_copy(update={"listen_port": 1})}
    )
    assert "[Interface]\nListenPort = 1\n" in to_wg_quick(edited)
    assert parse(to_wg_quick(edited)).config == edited


def test_keepalive_and_fwmark_off() -> None:
    text = (
        f"[Interface]\nPrivateKey = {PRIV}\nFwMark = off\n"
        f"[Peer]\nPublicKey = {PUB}\nPersistentKeepalive = off\n"
    )
    cfg = parse(text, dialect=Dialect.LINUX).config
    assert cfg.interface.fwmark == 0
    assert cfg.peers[0].persistent_keepalive == 0


def test_dialects() -> None:
    linux_only = (
        f"[Interface]\nPrivateKey = {PRIV}\nTable = off\nSaveConfig = true\nPostUp = echo hi\n"
    )
    assert parse(linux_only, dialect=Dialect.LINUX).warnings == []
    android = parse(linux_only, dialect=Dialect.ANDROID)
    assert {w.key for w in android.warnings} == {"Table", "SaveConfig", "PostUp"}
    with pytest.raises(ConfigError) as err:
        parse(linux_only, dialect=Dialect.ANDROID, strict=True)
    assert [i.line for i in err.value.issues] == [3, 4, 5]


def test_unchanged_round_trip_is_byte_identical() -> None:
    crlf = SAMPLE.replace("\n", "\r\n")
    for text in (SAMPLE, SAMPLE.rstrip("\n"), crlf):
        assert to_wg_quick(parse(text).config) == text


def test_edit_keeps_comments_and_order() -> None:
    cfg = parse(SAMPLE).config
    new_peer = Peer(public_key=keys.pubkey(keys.genkey()), allowed_ips="192.168.9.0/24")
    edited = cfg.model_copy(update={
        "interface": cfg.interface.model_copy(update={"mtu": 1280, "listen_port": 40000}),
        "peers": [*cfg.peers, new_peer],
    })
    text = to_wg_quick(edited)
    lines = text.splitlines()
    assert lines[0] == "# office tunnel"
    assert f"PrivateKey = {PRIV}  # never share" in lines
    assert lines.index("MTU = 1280") < lines.index("ListenPort = 40000") < lines.index("[Peer]")
    assert "# gateway" in lines
    assert parse(text).config == edited


def test_removing_a_peer_drops_its_section() -> None:
    cfg = parse(SAMPLE).config
    text = to_wg_quick(cfg.model_copy(update={"peers": []}))
    assert "[Peer]" not in text and PUB not in text
    assert parse(text).config.peers == []


@pytest.mark.sim  # wg-quick re-runs itself through sudo unless it is root
def test_strip_drops_wg_quick_keys_and_is_accepted_by_wg(tmp_path: Path) -> None:
    stripped = to_setconf(parse(SAMPLE).config)
    assert "Address" not in stripped and "DNS" not in stripped and "MTU" not in stripped
    assert "# gateway" in stripped
    if shutil.which("wg-quick"):
        path = tmp_path / "office.conf"
        path.write_text(SAMPLE)
        path.chmod(0o600)
        ref = subprocess.run(["wg-quick", "strip", str(path)], capture_output=True, text=True)
        assert ref.returncode == 0, ref.stderr
        assert strip_text(SAMPLE) == ref.stdout


def test_secrets_stay_hidden() -> None:
    cfg = parse(SAMPLE).config
    for text in (repr(cfg), str(cfg), to_json(cfg), str(cfg.interface.private_key)):
        assert PRIV not in text and PSK not in text
    assert PRIV in to_json(cfg, reveal_secrets=True)
    with pytest.raises(ValidationError) as err:
        Interface.model_validate({"private_key": PRIV[:-2] + "x="})
    assert PRIV[:20] not in str(err.value)
    with pytest.raises(ConfigError) as cerr:
        parse(f"[Interface]\nPrivateKey = {PRIV[:-2]}!=\n")
    assert PRIV[:20] not in str(cerr.value)


def test_form_values_validate_like_the_parser() -> None:
    iface = Interface.model_validate(
        {"private_key": PRIV, "listen_port": "51820", "addresses": "10.1.0.2/24, fd01::2/64"}
    )
    assert iface.listen_port == 51820 and len(iface.addresses) == 2
    with pytest.raises(ValidationError) as err:
        Interface.model_validate({"private_key": PRIV, "listen_port": 70000})
    assert err.value.errors()[0]["loc"] == ("listen_port",)
    assert "out of range" in err.value.errors()[0]["msg"]
    with pytest.raises(ValidationError):
        Interface(private_key=PRIV, included_applications=["a.b"], excluded_applications=["c.d"])
    with pytest.raises(ValidationError):
        TunnelConfig(interface=Interface(private_key=PRIV),
                     peers=[Peer(public_key=PUB), Peer(public_key=PUB)])


# -- properties ---------------------------------------------------------------

_keys = st.binary(min_size=32, max_size=32)
_v4net = st.builds(
    lambda a, p: ipaddress.IPv4Network((a, p), strict=False),
    st.integers(0, 2**32 - 1), st.integers(0, 32),
)
_v6net = st.builds(
    lambda a, p: ipaddress.IPv6Network((a, p), strict=False),
    st.integers(0, 2**128 - 1), st.integers(0, 128),
)
_v4if = st.builds(
    lambda a, p: ipaddress.IPv4Interface((a, p)), st.integers(1, 2**32 - 2), st.integers(1, 32)
).filter(lambda i: not i.ip.is_multicast)  # an interface can't have a multicast address
_endpoint = st.one_of(
    st.builds(lambda a, p: Endpoint(ipaddress.IPv4Address(a), p), st.integers(0, 2**32 - 1),
              st.integers(1, 65535)),
    st.builds(lambda a, p: Endpoint(ipaddress.IPv6Address(a), p), st.integers(0, 2**128 - 1),
              st.integers(1, 65535)),
    st.builds(lambda h, p: Endpoint(h, p),
              st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]\.example", fullmatch=True),
              st.integers(1, 65535)),
)
_peer = st.builds(
    lambda k, psk, nets, ep, ka: Peer(
        public_key=PublicKey(k), preshared_key=PresharedKey(psk) if psk else None,
        allowed_ips=nets, endpoint=ep, persistent_keepalive=ka,
    ),
    _keys, st.one_of(st.none(), _keys), st.lists(st.one_of(_v4net, _v6net), max_size=4),
    st.one_of(st.none(), _endpoint), st.one_of(st.none(), st.integers(0, 65535)),
)
_interface = st.builds(
    lambda k, port, mark, addrs, mtu, hooks, apps: Interface(
        private_key=PrivateKey(keys.clamp(k)), listen_port=port, fwmark=mark, addresses=addrs,
        mtu=mtu, post_up=hooks, excluded_applications=apps,
    ),
    _keys, st.one_of(st.none(), st.integers(0, 65535)),
    st.one_of(st.none(), st.integers(0, 2**32 - 1)), st.lists(_v4if, max_size=3),
    st.one_of(st.none(), st.integers(68, 65535)),
    st.lists(st.from_regex(r"[a-z][a-z0-9 %=;'\"-]{0,20}[a-z0-9]", fullmatch=True), max_size=2),
    st.lists(st.from_regex(r"com\.[a-z]{1,8}", fullmatch=True), max_size=3),
)


_CONFIGISH = "[]=#,:/. \t\nPeerInterfacekyAllowedIPs0123456789abcdef+"


def _config(iface: Interface, peers: list[Peer]) -> TunnelConfig | None:
    unique = {p.public_key: p for p in peers if p.public_key != iface.public_key}
    routed: set[object] = set()  # a network routed to two peers is refused: keep the first
    kept = []
    for p in unique.values():
        nets = [n for n in p.allowed_ips if n not in routed]
        routed.update(nets)
        kept.append(p.model_copy(update={"allowed_ips": nets}))
    return TunnelConfig(interface=iface, peers=kept)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(_interface, st.lists(_peer, max_size=3))
def test_model_text_model_round_trip(iface: Interface, peers: list[Peer]) -> None:
    cfg = _config(iface, peers)
    text = to_wg_quick(cfg)
    again = parse(text, dialect=Dialect.ANDROID).config
    assert again == cfg
    assert to_wg_quick(again) == text  # and the text is stable


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_parser_only_raises_its_own_error_on_bytes(data: bytes) -> None:
    with contextlib.suppress(ConfigError):
        parse(data)


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(list(_CONFIGISH)), max_size=300))
def test_parser_only_raises_its_own_error_on_config_like_text(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse(text)


@settings(max_examples=500)
@given(st.integers(0, len(SAMPLE) - 1), st.integers(0, len(SAMPLE)), st.text(max_size=8))
def test_mutated_configs_never_crash(start: int, length: int, insert: str) -> None:
    mutated = SAMPLE[:start] + insert + SAMPLE[start + length:]
    try:
        parsed = parse(mutated)
    except ConfigError as exc:
        assert all(i.line >= 1 for i in exc.issues)
        shown = " ".join(i.format() for i in [*exc.issues, *exc.warnings])
        for secret in (PRIV, PSK):  # not even a fragment, whatever field it landed in
            assert not any(secret[i : i + 16] in shown for i in range(0, 29))
    else:
        to_wg_quick(parsed.config)
