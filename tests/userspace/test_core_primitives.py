"""Vectors for the core's primitives: KDF (wireguard-go kdf_test.go), the Noise
initial chaining key and hash, HChaCha20/XChaCha20-Poly1305 (draft-irtf-cfrg-
xchacha), X25519 low-order rejection, TAI64N."""

from __future__ import annotations

import pytest

from wgdroid.userspace.core.primitives import (
    INITIAL_CHAIN_KEY,
    INITIAL_HASH,
    StaticKey,
    hchacha20,
    kdf1,
    kdf2,
    kdf3,
    xaead_decrypt,
    xaead_encrypt,
)
from wgdroid.userspace.core.tai64n import is_after, tai64n

KDF_VECTORS = [
    (
        "746573742d6b6579",
        "746573742d696e707574",
        "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
        "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
        "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24",
    ),
    (
        "776972656775617264",
        "776972656775617264",
        "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
        "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
        "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160",
    ),
    (
        "",
        "",
        "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
        "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
        "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e",
    ),
]


@pytest.mark.parametrize(("key", "data", "t0", "t1", "t2"), KDF_VECTORS)
def test_kdf_vectors(key: str, data: str, t0: str, t1: str, t2: str) -> None:
    k, d = bytes.fromhex(key), bytes.fromhex(data)
    assert [x.hex() for x in kdf3(k, d)] == [t0, t1, t2]
    assert [x.hex() for x in kdf2(k, d)] == [t0, t1]
    assert kdf1(k, d).hex() == t0


def test_initial_chain_key_and_hash() -> None:
    assert INITIAL_CHAIN_KEY.hex() == (
        "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36"
    )
    assert INITIAL_HASH.hex() == (
        "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3"
    )


def test_hchacha20_draft_vector() -> None:
    out = hchacha20(bytes(range(32)), bytes.fromhex("000000090000004a0000000031415927"))
    assert out.hex() == "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"


def test_xchacha20poly1305_draft_vector() -> None:
    key = bytes(range(0x80, 0xA0))
    nonce = bytes(range(0x40, 0x58))
    aad = bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
    pt = (
        b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip "
        b"for the future, sunscreen would be it."
    )
    expected = bytes.fromhex(
        "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
        "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
        "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
        "21f9664c97637da9768812f615c68b13b52e"
        "c0875924c1c7987947deafd8780acf49"
    )
    assert xaead_encrypt(key, nonce, pt, aad) == expected
    assert xaead_decrypt(key, nonce, expected, aad) == pt
    assert xaead_decrypt(key, nonce, expected, aad + b"x") is None
    tampered = bytearray(expected)
    tampered[3] ^= 1
    assert xaead_decrypt(key, nonce, bytes(tampered), aad) is None


def test_x25519_rejects_low_order_points() -> None:
    me = StaticKey(bytes(range(32)))
    # All-zero and the order-1 point (1) give an all-zero shared secret.
    assert me.dh(bytes(32)) is None
    assert me.dh((1).to_bytes(32, "little")) is None
    other = StaticKey(bytes(range(1, 33)))
    assert me.dh(other.public) == other.dh(me.public)
    assert me.dh(other.public) is not None
    assert "private" in repr(me) and me.private.hex() not in repr(me)


def test_tai64n_layout_and_rounding() -> None:
    ts = tai64n(1_700_000_000 * 10**9 + 123_456_789)
    assert len(ts) == 12
    assert int.from_bytes(ts[:8], "big") == 0x400000000000000A + 1_700_000_000
    nsec = int.from_bytes(ts[8:], "big")
    assert nsec % (1 << 24) == 0
    assert nsec == 123_456_789 & ~((1 << 24) - 1)
    # Within one 2**24 ns bucket two timestamps are equal: the second is not "after".
    a = tai64n(5 * 10**9 + (1 << 24) * 3 + 1)
    b = tai64n(5 * 10**9 + (1 << 24) * 3 + 1000)
    c = tai64n(5 * 10**9 + (1 << 24) * 4)
    assert a == b and not is_after(b, a)
    assert is_after(c, b) and not is_after(b, c)
    assert is_after(tai64n(6 * 10**9), c)
