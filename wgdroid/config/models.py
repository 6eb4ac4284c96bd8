"""The config models: every key of wg(8) and wg-quick(8), plus the Android
app's IncludedApplications/ExcludedApplications.

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
from wgdroid.config.types import Endpoint, PresharedKey, PrivateKey, PublicKey

_MODEL_CONFIG = ConfigDict(
    extra="forbid", frozen=True, hide_input_in_errors=True, validate_default=False
)


class Interface(BaseModel):
    model_config = _MODEL_CONFIG

    private_key: PrivateKey
    "PrivateKey: this tunnel's Curve25519 private key."
    listen_port: t.ListenPort | None = None
    "ListenPort: UDP port; unset or 0 picks a random one."
    fwmark: t.FwMark | None = None
    "FwMark: mark on outgoing packets; 0 means off. The Android wg-quick overrides it."
    addresses: t.AddressList = Field(default_factory=list)
    "Address: IPs of the tunnel interface, with prefix."
    dns_servers: t.DnsServerList = Field(default_factory=list)
    "DNS: server addresses."
    dns_search: t.SearchDomainList = Field(default_factory=list)
    "DNS: search domains (non-address entries of DNS)."
    mtu: t.Mtu | None = None
    "MTU: unset means automatic (route MTU - 80)."
    table: t.Table | None = None
    "Table: routing table (Linux wg-quick only): off, auto, a number or a name."
    pre_up: list[t.Hook] = Field(default_factory=list)
    post_up: list[t.Hook] = Field(default_factory=list)
    pre_down: list[t.Hook] = Field(default_factory=list)
    post_down: list[t.Hook] = Field(default_factory=list)
    save_config: t.SaveConfig | None = None
    "SaveConfig: Linux wg-quick writes the live state back on down."
    included_applications: t.PackageList = Field(default_factory=list)
    "IncludedApplications (Android): only these apps use the tunnel."
    excluded_applications: t.PackageList = Field(default_factory=list)
    "ExcludedApplications (Android): these apps bypass the tunnel."

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

    public_key: PublicKey
    "PublicKey: the peer's public key."
    preshared_key: PresharedKey | None = None
    "PresharedKey: optional extra symmetric key."
    allowed_ips: t.AllowedIPList = Field(default_factory=list)
    "AllowedIPs: networks routed to and accepted from this peer."
    endpoint: Endpoint | None = None
    "Endpoint: where to reach the peer: IPv4:port, [IPv6]:port or hostname:port."
    persistent_keepalive: t.Keepalive | None = None
    "PersistentKeepalive: seconds between keepalives; 0 or off disables."


@dataclass(frozen=True)
class Conflict:
    """A rule across fields, located so the parser can name the line."""

    peer_index: int | None  # None: the interface
    key: str
    message: str


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
    """Rules between fields: no peer twice, no peer with our own key."""
    found: list[Conflict] = []
    own = config.interface.public_key
    seen: set[PublicKey] = set()
    for index, peer in enumerate(config.peers):
        if peer.public_key == own:
            found.append(Conflict(index, "PublicKey", "is this interface's own public key"))
        elif peer.public_key in seen:
            found.append(Conflict(index, "PublicKey", "this peer is already listed above"))
        seen.add(peer.public_key)
    return found
