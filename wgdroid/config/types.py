"""Value types of a WireGuard config, and the one parser of each from text.

The INI parser and pydantic validation (the TUI's form fields) call the same
`parse_*` functions, so a value means the same thing wherever it is typed.
Messages never contain the text of a private or preshared key.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Self, TypeVar

from pydantic import BeforeValidator, GetCoreSchemaHandler, PlainSerializer, SerializationInfo
from pydantic_core import PydanticCustomError, core_schema

from wgdroid.config import keys
from wgdroid.config.issues import Reason
from wgdroid.config.names import name_problem
from wgdroid.errors import KeyFormatError
from wgdroid.redact import quote_value

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
_IPV6ISH_RE = re.compile(r"[0-9A-Fa-f:.]{2,45}")
_PACKAGE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*$")
_TABLE_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ValueProblem(ValueError):
    """A value that does not parse; `message` is safe to show (holds no secret)."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# -- keys ---------------------------------------------------------------------


class PublicKey:
    """A 32-byte Curve25519 public key. Its text form is the base64 wg uses."""

    __slots__ = ("raw",)
    secret: ClassVar[bool] = False
    raw: bytes

    def __init__(self, raw: bytes) -> None:
        if len(raw) != keys.KEY_LEN:
            raise ValueError("a WireGuard key is 32 bytes")
        object.__setattr__(self, "raw", bytes(raw))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("keys are immutable")

    @classmethod
    def from_base64(cls, text: str) -> Self:
        try:
            return cls(keys.decode(text))
        except KeyFormatError as exc:
            raise ValueProblem(Reason.INVALID_KEY, f"{cls._shown(text)}{exc.message}") from None

    @classmethod
    def _shown(cls, text: str) -> str:
        return f"{quote_value(text)} "

    def base64(self) -> str:
        return keys.encode(self.raw)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and keys.equal(self.raw, other.raw)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.raw))

    def __str__(self) -> str:
        return self.base64()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base64()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.raw,))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: Any) -> PublicKey:
            if isinstance(value, cls):
                return value
            if isinstance(value, str):
                try:
                    return cls.from_base64(value.strip())
                except ValueProblem as exc:
                    raise PydanticCustomError("invalid_key", exc.message) from None
            raise PydanticCustomError("invalid_key", "must be a base64 key")

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                cls._serialize, info_arg=True
            ),
        )

    @classmethod
    def _serialize(cls, value: PublicKey, info: SerializationInfo) -> str | None:
        return value.base64()


class SecretKey(PublicKey):
    """A key that must stay secret: its repr and str are redacted, and it
    serialises as None unless the context says `reveal_secrets`."""

    secret = True

    @classmethod
    def _shown(cls, text: str) -> str:
        return ""  # never echo secret material, even malformed

    def reveal(self) -> str:
        """The base64 text, for the few places that must write it (config files, wg)."""
        return self.base64()

    def __str__(self) -> str:
        return "(hidden)"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<hidden>)"

    @classmethod
    def _serialize(cls, value: PublicKey, info: SerializationInfo) -> str | None:
        ctx = info.context or {}
        return value.base64() if ctx.get("reveal_secrets") else None


class PrivateKey(SecretKey):
    def public_key(self) -> PublicKey:
        return PublicKey(keys.public_raw(self.raw))

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(keys.generate_private_raw())


class PresharedKey(SecretKey):
    @classmethod
    def generate(cls) -> PresharedKey:
        return cls(keys.decode(keys.genpsk()))


# -- endpoints ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    """`host:port`, `[v6]:port`; host is an IP address or a hostname resolved later."""

    host: IPAddress | str
    port: int

    def __str__(self) -> str:
        if isinstance(self.host, ipaddress.IPv6Address):
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"

    @property
    def is_hostname(self) -> bool:
        return isinstance(self.host, str)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _pyd(parse_endpoint, cls),
            serialization=core_schema.to_string_ser_schema(),
        )


def parse_endpoint(text: str) -> Endpoint:
    text = text.strip()
    if not text:
        raise ValueProblem(Reason.SYNTAX_ERROR, "has no value")
    if text.startswith("["):
        close = text.find("]")
        if close < 0 or text[close + 1 : close + 2] != ":":
            raise ValueProblem(
                Reason.INVALID_VALUE, f"{quote_value(text)} is not '[IPv6]:port'"
            )
        host_text, port_text = text[1:close], text[close + 2 :]
        try:
            v6 = ipaddress.IPv6Address(host_text)
        except ValueError:
            raise ValueProblem(
                Reason.INVALID_VALUE, f"{quote_value(host_text)} is not an IPv6 address"
            ) from None
        _check_scope(v6)
        host: IPAddress | str = v6
    else:
        host_text, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueProblem(Reason.INVALID_VALUE, f"{quote_value(text)} has no ':port'")
        if ":" in host_text:
            # The hint repeats the parts only when they are what they seem: a
            # key pasted after the address must not come back in the message.
            like = "[ADDRESS]:PORT"
            if _IPV6ISH_RE.fullmatch(host_text) and port_text.isdigit() and len(port_text) <= 5:
                like = f"[{host_text}]:{port_text}"
            raise ValueProblem(
                Reason.INVALID_VALUE,
                f"{quote_value(text)}: an IPv6 endpoint needs brackets, like {like!r}",
            )
        try:
            host = ipaddress.IPv4Address(host_text)
        except ValueError:
            if re.fullmatch(r"[0-9.]+", host_text) or not _HOSTNAME_RE.match(host_text):
                raise ValueProblem(
                    Reason.INVALID_VALUE,
                    f"{quote_value(host_text)} is neither an IP address nor a hostname",
                ) from None
            host = host_text.lower()
    port = _parse_int(port_text, 1, 65535, "a port")
    return Endpoint(host, port)


def _check_scope(host: ipaddress.IPv6Address) -> None:
    """A scope id (`[fe80::1%wlan0]`) names an interface, for a link-local address.
    Anything else would reach wg's resolver, and the phone's shell, as typed."""
    scope = host.scope_id
    if scope is None:
        return
    if not host.is_link_local:
        raise ValueProblem(
            Reason.INVALID_VALUE,
            f"a scope id ('%...') only belongs to a link-local address (fe80::/10), not {host}",
        )
    if not (scope.isdigit() and len(scope) <= 10) and name_problem(scope) is not None:
        raise ValueProblem(
            Reason.INVALID_VALUE,
            f"scope id {quote_value(scope)} is not an interface name or index",
        )


# -- numbers ------------------------------------------------------------------


def _parse_int(text: str, low: int, high: int, what: str) -> int:
    text = text.strip()
    if re.fullmatch(r"-[0-9]{1,20}", text):  # a number, only not one wg takes
        raise ValueProblem(Reason.INVALID_NUMBER,
                           f"{text} is out of range for {what} ({low}-{high})")
    if not re.fullmatch(r"[0-9]+", text):
        raise ValueProblem(Reason.INVALID_NUMBER, f"{quote_value(text)} is not a number ({what})")
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(high)):  # also spares int() its 4300-digit limit
        raise ValueProblem(
            Reason.INVALID_NUMBER,
            f"a {len(digits)}-digit number is out of range for {what} ({low}-{high})",
        )
    value = int(digits)
    if not low <= value <= high:
        raise ValueProblem(
            Reason.INVALID_NUMBER, f"{value} is out of range for {what} ({low}-{high})"
        )
    return value


def parse_listen_port(text: str) -> int:
    return _parse_int(text, 0, 65535, "a port")


def parse_fwmark(text: str) -> int:
    """wg accepts `off`, decimal or 0x hex; `off` is 0."""
    text = text.strip()
    if text.lower() == "off":
        return 0
    if re.fullmatch(r"0[xX][0-9a-fA-F]{1,8}", text):
        return int(text, 16)
    return _parse_int(text, 0, 0xFFFFFFFF, "a fwmark")


def parse_keepalive(text: str) -> int:
    """Seconds between keepalives; `off` (or 0) disables them."""
    text = text.strip()
    if text.lower() == "off":
        return 0
    return _parse_int(text, 0, 65535, "a keepalive interval")


def parse_mtu(text: str) -> int:
    return _parse_int(text, 68, 65535, "an MTU")


def parse_table(text: str) -> int | str:
    text = text.strip()
    if re.fullmatch(r"[0-9]+", text):
        return _parse_int(text, 0, 0xFFFFFFFF, "a routing table")
    if text in ("off", "auto") or _TABLE_NAME_RE.match(text):
        return text
    raise ValueProblem(Reason.INVALID_VALUE, f"{quote_value(text)} is not a routing table")


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueProblem(Reason.INVALID_VALUE, f"{quote_value(text)} is neither true nor false")


# -- addresses and lists ------------------------------------------------------


def split_list(text: str) -> list[str]:
    """Split like wg-quick: commas and whitespace both separate items."""
    return [item for item in re.split(r"[,\s]+", text.strip()) if item]


def parse_address(text: str) -> IPInterface:
    try:
        address = ipaddress.ip_interface(text)
    except ValueError:
        raise ValueProblem(
            Reason.INVALID_VALUE, f"{quote_value(text)} is not an IP address with optional /prefix"
        ) from None
    if address.ip.is_multicast or address.ip.is_unspecified:
        kind = "a multicast" if address.ip.is_multicast else "the unspecified"
        raise ValueProblem(
            Reason.INVALID_VALUE, f"{address.ip} is {kind} address, not an interface's"
        )
    return address


def parse_allowed_ip(text: str) -> IPNetwork:
    """Host bits are allowed (wg masks them off, and says so: see host_bits_set)."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueProblem(
            Reason.INVALID_VALUE, f"{quote_value(text)} is not an IP network"
        ) from None


def host_bits_set(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=True)
    except ValueError:
        return True
    return False


def is_dns_server(item: str) -> bool:
    """wg-quick's own rule: digits and dots, or anything with a colon, is a server."""
    return bool(re.fullmatch(r"[0-9.]+", item) or ":" in item)


def parse_dns_server(text: str) -> IPAddress:
    try:
        server = ipaddress.ip_address(text)
    except ValueError:
        raise ValueProblem(
            Reason.INVALID_VALUE, f"{quote_value(text)} is not an IP address of a DNS server"
        ) from None
    if isinstance(server, ipaddress.IPv6Address):
        _check_scope(server)  # as an Endpoint's: link-local only, an interface name or index
    return server


def parse_search_domain(text: str) -> str:
    if not _HOSTNAME_RE.match(text):
        raise ValueProblem(
            Reason.INVALID_VALUE,
            f"{quote_value(text)} is neither a DNS server address nor a search domain",
        )
    return text


def parse_package(text: str) -> str:
    if not _PACKAGE_RE.match(text):
        raise ValueProblem(
            Reason.INVALID_VALUE, f"{quote_value(text)} is not an Android package name"
        )
    return text


def parse_hook(text: str) -> str:
    if "\n" in text or "\0" in text:
        raise ValueProblem(Reason.INVALID_VALUE, "a hook is one line of shell")
    return text.strip()


# -- pydantic glue ------------------------------------------------------------

T = TypeVar("T")


def _pyd(parse: Callable[[str], T], typ: type | tuple[type, ...]) -> Callable[[Any], T]:
    """Wrap a text parser as a pydantic validator that also accepts typed values."""

    def validate(value: Any) -> T:
        if isinstance(value, bool):
            if typ is bool:
                return value  # type: ignore[return-value]
            raise PydanticCustomError("invalid_type", "must not be true/false")
        if isinstance(value, int):
            if not -(10**12) < value < 10**12:  # str() of a huge int raises, past 4300 digits
                raise PydanticCustomError("invalid_number", "is out of range")
            value = str(value)  # numbers go through the parser too: ranges apply
        elif isinstance(value, _IP_VALUES):
            # Through the parser as text: its rules (no multicast Address,
            # scope ids) hold for built models too (`new` made configs `check` refused).
            value = str(value)
        elif not isinstance(value, str) and typ and isinstance(value, typ):
            return value  # type: ignore[return-value]
        if not isinstance(value, str):
            raise PydanticCustomError("invalid_type", "must be text")
        try:
            return parse(value)
        except ValueProblem as exc:
            raise PydanticCustomError(exc.reason.value, exc.message) from None

    return validate


def _pyd_list(parse: Callable[[str], T], typ: type | tuple[type, ...]) -> Callable[[Any], list[T]]:
    item = _pyd(parse, typ)

    def validate(value: Any) -> list[T]:
        items: Iterable[Any] = split_list(value) if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise PydanticCustomError("invalid_type", "must be a list")
        return dedupe(item(v) for v in items)

    return validate


def dedupe(items: Iterable[T]) -> list[T]:
    """Repeated values collapse to the first, in order (as the Android app does).
    A set, not a list, remembers what was seen: 20000 AllowedIPs took minutes."""
    seen: set[T] = set()
    kept: list[T] = []
    for value in items:
        if value not in seen:
            seen.add(value)
            kept.append(value)
    return kept


_ip_types = (ipaddress.IPv4Interface, ipaddress.IPv6Interface)
_net_types = (ipaddress.IPv4Network, ipaddress.IPv6Network)
_addr_types = (ipaddress.IPv4Address, ipaddress.IPv6Address)
_IP_VALUES = (*_ip_types, *_net_types, *_addr_types)


def _ser_str(v: object) -> str:
    return str(v)


ListenPort = Annotated[int, BeforeValidator(_pyd(parse_listen_port, int))]
FwMark = Annotated[int, BeforeValidator(_pyd(parse_fwmark, int))]
Keepalive = Annotated[int, BeforeValidator(_pyd(parse_keepalive, int))]
Mtu = Annotated[int, BeforeValidator(_pyd(parse_mtu, int))]
Table = Annotated[int | str, BeforeValidator(_pyd(parse_table, int))]
SaveConfig = Annotated[bool, BeforeValidator(_pyd(parse_bool, bool))]
Hook = Annotated[str, BeforeValidator(_pyd(parse_hook, ()))]
AddressList = Annotated[
    list[IPInterface],
    BeforeValidator(_pyd_list(parse_address, _ip_types)),
    PlainSerializer(lambda v: [str(x) for x in v]),
]
AllowedIPList = Annotated[
    list[IPNetwork],
    BeforeValidator(_pyd_list(parse_allowed_ip, _net_types)),
    PlainSerializer(lambda v: [str(x) for x in v]),
]
DnsServerList = Annotated[
    list[IPAddress],
    BeforeValidator(_pyd_list(parse_dns_server, _addr_types)),
    PlainSerializer(lambda v: [str(x) for x in v]),
]
SearchDomainList = Annotated[list[str], BeforeValidator(_pyd_list(parse_search_domain, ()))]
PackageList = Annotated[list[str], BeforeValidator(_pyd_list(parse_package, ()))]
