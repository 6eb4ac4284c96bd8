"""A `wg show all dump` with made-up keys, for the status parser and script."""

PRIV = "cGhvbmVwcml2YXRla2V5cGhvbmVwcml2YXRla2V5MDA="
PSK = "cHJlc2hhcmVka2V5cHJlc2hhcmVka2V5cHJlc2hhcmU="
PUB = "wHzIT1+FS2NdN+UHc9UzbT0rnOteP4XXCHUoLzIRxhU="
PEER1 = "jmh4BwJcAmle7DRhdyyjlOh8FbJne14f09foGMEphgs="
PEER2 = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="

DUMP = [
    f"wg0\t{PRIV}\t{PUB}\t51820\toff",
    f"wg0\t{PEER1}\t{PSK}\t198.51.100.1:51820\t10.0.0.0/24,fd00::/64\t1700000000\t1372\t1460\t25",
    f"wg0\t{PEER2}\t(none)\t(none)\t(none)\t0\t0\t0\toff",
    f"wg1\t{PRIV}\t{PUB}\t0\t0x20000",
]
