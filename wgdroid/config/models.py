"""The config models: every key of wg(8) and wg-quick(8), plus the Android
app's IncludedApplications/ExcludedApplications. Each field's description is
its key's documentation in the one key table (config.keyspec).

Models are frozen; an edit is `model_copy(update=...)`, which keeps the parsed
source so rendering can preserve its comments and key order. Secrets are
`SecretKey`s: redacted in repr, str and errors (`hide_input_in_errors`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from pydantic_core import PydanticCustomError

from wgdroid.config import types as t
from wgdroid.config.keyspec import doc
from wgdroid.config.types import Endpoint, PresharedKey, PrivateKey, PublicKey

_MODEL_CONFIG = ConfigDict(
    extra="forbid", frozen=True, hide_input_in_errors=True, validate_default=False
)


class Interface(BaseModel):
    model_config = _MODEL_CONFIG

    private_key: PrivateKey = Field(description=doc("PrivateKey"))
    listen_port: t.ListenPort | None = Field(None, description=doc("ListenPort"))
    fwmark: t.FwMark | None = Field(None, description=doc("FwMark"))
    addresses: t.AddressList = Field(default_factory=list, description=doc("Address"))
    dns_servers: t.DnsServerList = Field(default_factory=list, description=doc("DNS"))
    dns_search: t.SearchDomainList = Field(default_factory=list, description=doc("DNS"))
    mtu: t.Mtu | None = Field(None, description=doc("MTU"))
    table: t.Table | None = Field(None, description=doc("Table"))
    pre_up: list[t.Hook] = Field(default_factory=list, description=doc("PreUp"))
    post_up: list[t.Hook] = Field(default_factory=list, description=doc("PostUp"))
    pre_down: list[t.Hook] = Field(default_factory=list, description=doc("PreDown"))
    post_down: list[t.Hook] = Field(default_factory=list, description=doc("PostDown"))
    save_config: t.SaveConfig | None = Field(None, description=doc("SaveConfig"))
    included_applications: t.PackageList = Field(
        default_factory=list, description=doc("IncludedApplications")
    )
    excluded_applications: t.PackageList = Field(
        default_factory=list, description=doc("ExcludedApplications")
    )

    @property
    def public_key(self) -> PublicKey:
        return self.private_key.public_key()

    @model_validator(mode="after")
    def _apps_exclusive(self) -> Interface:
        if self.included_applications and self.excluded_applications:
            raise PydanticCustomError(
                "invalid_key",
                "IncludedApplications and ExcludedApplications can't both be set",
            )
        return self


class Peer(BaseModel):
    model_config = _MODEL_CONFIG

    public_key: PublicKey = Field(description=doc("PublicKey"))
    preshared_key: PresharedKey | None = Field(None, description=doc("PresharedKey"))
    allowed_ips: t.AllowedIPList = Field(default_factory=list, description=doc("AllowedIPs"))
    endpoint: Endpoint | None = Field(None, description=doc("Endpoint"))
    persistent_keepalive: t.Keepalive | None = Field(
        None, description=doc("PersistentKeepalive")
    )


@dataclass(frozen=True)
class Conflict:
    """A rule across fields, located so the parser can name the line."""

    peer_index: int | None  # None: the interface
    key: str
    message: str
    value: object | None = None  # the offending item of a list key, to name its line


class TunnelConfig(BaseModel):
    model_config = _MODEL_CONFIG

    interface: Interface
    peers: list[Peer] = Field(default_factory=list)

    # The parsed text this config came from, so rendering keeps its comments
    # and key order; kept through model_copy, ignored by equality.
    _source: Any = PrivateAttr(default=None)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TunnelConfig):
            return NotImplemented
        return self.interface == other.interface and self.peers == other.peers

    __hash__ = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _cross_checks(self) -> TunnelConfig:
        problems = cross_field_conflicts(self)
        if problems:
            raise PydanticCustomError("invalid_value", problems[0].message)
        return self

    def peer(self, public_key: PublicKey) -> Peer | None:
        return next((p for p in self.peers if p.public_key == public_key), None)

    def to_json_dict(self, *, reveal_secrets: bool = False) -> dict[str, Any]:
        data = self.model_dump(mode="json", context={"reveal_secrets": reveal_secrets})
        data["interface"]["public_key"] = self.interface.public_key.base64()
        return data


def cross_field_conflicts(config: TunnelConfig) -> list[Conflict]:
    """Rules between fields that wg or the kernel would enforce, or get wrong
    without a word: no peer twice, no peer with our own key, no network routed
    to two peers (wg would silently move it to the last), no MTU too small for
    an IPv6 address (the kernel disables IPv6 below 1280)."""
    found: list[Conflict] = []
    iface = config.interface
    own = iface.public_key
    seen: set[PublicKey] = set()
    routed: dict[t.IPNetwork, int] = {}
    for index, peer in enumerate(config.peers):
        if peer.public_key == own:
            found.append(Conflict(index, "PublicKey", "is this interface's own public key"))
        elif peer.public_key in seen:
            found.append(Conflict(index, "PublicKey", "this peer is already listed above"))
        seen.add(peer.public_key)
        for net in peer.allowed_ips:
            if routed.setdefault(net, index) != index:
                found.append(Conflict(
                    index, "AllowedIPs",
                    f"{net} is already routed to peer {routed[net] + 1}; wg would silently "
                    "move it to this one", net))
    v6 = next((a for a in iface.addresses if a.version == 6), None)
    if iface.mtu is not None and iface.mtu < IPV6_MIN_MTU and v6 is not None:
        found.append(Conflict(
            None, "MTU", f"{iface.mtu} is below {IPV6_MIN_MTU}, the least IPv6 allows, "
            f"but Address has {v6}: the kernel would disable IPv6 on the tunnel"))
    return found


IPV6_MIN_MTU = 1280  # RFC 8200 section 5
