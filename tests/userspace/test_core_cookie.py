"""mac1/mac2 and cookie replies: keys, secret rotation, cookie lifetime."""

from __future__ import annotations

from core_harness import seeded_rng

from wgdroid.userspace.core.constants import MSG_INITIATION, MSG_RESPONSE
from wgdroid.userspace.core.cookie import CookieChecker, CookieGenerator
from wgdroid.userspace.core.messages import unpack_cookie_reply
from wgdroid.userspace.core.primitives import StaticKey

RESPONDER = StaticKey(bytes(range(32)))
SRC = ("192.0.2.7", 51820)


def checker() -> CookieChecker:
    c = CookieChecker(seeded_rng(5))
    c.set_public_key(RESPONDER.public)
    return c


def initiation_from(gen: CookieGenerator, now: float) -> bytes:
    msg = bytearray(b"\x01\x00\x00\x00" + bytes(range(4, 148)))
    gen.add_macs(msg, MSG_INITIATION, now)
    return bytes(msg)


def test_mac1_binds_the_receiver_key() -> None:
    chk = checker()
    gen = CookieGenerator(RESPONDER.public)
    msg = initiation_from(gen, 0.0)
    assert chk.check_mac1(msg, MSG_INITIATION)
    assert msg[132:] == bytes(16)  # no cookie yet: mac2 is zero
    other = CookieGenerator(StaticKey(bytes(32)).public)
    assert not chk.check_mac1(initiation_from(other, 0.0), MSG_INITIATION)
    resp = bytearray(b"\x02\x00\x00\x00" + bytes(88))
    gen.add_macs(resp, MSG_RESPONSE, 0.0)
    assert chk.check_mac1(bytes(resp), MSG_RESPONSE)
    none = CookieChecker(seeded_rng(1))  # no private key: nothing passes
    assert not none.check_mac1(msg, MSG_INITIATION)


def test_cookie_round_trip_and_lifetimes() -> None:
    chk = checker()
    gen = CookieGenerator(RESPONDER.public)
    msg = initiation_from(gen, 10.0)
    assert not chk.check_mac2(msg, MSG_INITIATION, SRC, 10.0)
    reply = chk.create_reply(msg, MSG_INITIATION, 0x1234, SRC, 10.0)
    assert reply is not None and len(reply) == 64
    parsed = unpack_cookie_reply(reply)
    assert parsed.receiver_index == 0x1234
    assert gen.consume_reply(parsed, 10.0)
    msg2 = initiation_from(gen, 11.0)
    assert msg2[132:] != bytes(16)
    assert chk.check_mac2(msg2, MSG_INITIATION, SRC, 11.0)
    # the cookie is bound to the source address and port
    assert not chk.check_mac2(msg2, MSG_INITIATION, ("192.0.2.8", 51820), 11.0)
    assert not chk.check_mac2(msg2, MSG_INITIATION, (SRC[0], 1), 11.0)
    # the sender uses a cookie for 120 - 5 s only
    assert gen.has_cookie(10.0 + 114.9)
    assert initiation_from(gen, 10.0 + 115.1)[132:] == bytes(16)
    # the checker's secret rotates after 120 s: old cookies stop working
    late = initiation_from(gen, 11.0)
    assert not chk.check_mac2(late, MSG_INITIATION, SRC, 10.0 + 120.5)


def test_reply_needs_the_matching_mac1() -> None:
    chk = checker()
    gen = CookieGenerator(RESPONDER.public)
    first = initiation_from(gen, 0.0)
    reply = chk.create_reply(first, MSG_INITIATION, 1, SRC, 0.0)
    assert reply is not None
    assert not CookieGenerator(RESPONDER.public).consume_reply(
        unpack_cookie_reply(reply), 0.0
    )  # nothing outstanding
    # a newer message (different mac1) is outstanding: the old reply does not open
    newer = bytearray(b"\x01\x00\x00\x00" + bytes(144))
    gen.add_macs(newer, MSG_INITIATION, 1.0)
    assert not gen.consume_reply(unpack_cookie_reply(reply), 1.0)
    reply2 = chk.create_reply(bytes(newer), MSG_INITIATION, 1, SRC, 1.0)
    assert reply2 is not None
    assert gen.consume_reply(unpack_cookie_reply(reply2), 1.0)
    assert not gen.consume_reply(unpack_cookie_reply(reply2), 1.0)  # once only
