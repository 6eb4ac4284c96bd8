"""Protocol constants (the WireGuard specification) and implementation limits.

Kept apart like wireguard-go's constants.go: the first block must match every
other WireGuard implementation; the second is our own choice and may change.
"""

from __future__ import annotations

# --- Specification ---------------------------------------------------------

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"
LABEL_COOKIE = b"cookie--"

KEY_LEN = 32
HASH_LEN = 32
TAG_LEN = 16  # Poly1305
COOKIE_LEN = 16
COOKIE_NONCE_LEN = 24
TIMESTAMP_LEN = 12

MSG_INITIATION = 1
MSG_RESPONSE = 2
MSG_COOKIE_REPLY = 3
MSG_TRANSPORT = 4

INITIATION_LEN = 148
RESPONSE_LEN = 92
COOKIE_REPLY_LEN = 64
TRANSPORT_HEADER_LEN = 16  # type 4, receiver index 4, counter 8
TRANSPORT_MIN_LEN = TRANSPORT_HEADER_LEN + TAG_LEN  # 32 = a keepalive
PADDING_MULTIPLE = 16

REKEY_AFTER_MESSAGES = 1 << 60
# Kernel value (messages.h: U64_MAX - COUNTER_WINDOW_SIZE - 1); wireguard-go uses
# 2**64 - 2**13 - 1. Our replay window is the kernel's algorithm, so take its value.
COUNTER_BITS_TOTAL = 8192
COUNTER_WORD_BITS = 64
COUNTER_WINDOW_SIZE = COUNTER_BITS_TOTAL - COUNTER_WORD_BITS  # 8128
REJECT_AFTER_MESSAGES = (1 << 64) - 1 - COUNTER_WINDOW_SIZE - 1
REKEY_AFTER_TIME = 120.0
REJECT_AFTER_TIME = 180.0
REKEY_ATTEMPT_TIME = 90.0
REKEY_TIMEOUT = 5.0
REKEY_TIMEOUT_JITTER_MAX = 0.333  # seconds, uniform in [0, 1/3 s)
MAX_TIMER_HANDSHAKES = int(REKEY_ATTEMPT_TIME / REKEY_TIMEOUT)  # 18
KEEPALIVE_TIMEOUT = 10.0
COOKIE_SECRET_MAX_AGE = 120.0
COOKIE_SECRET_LATENCY = 5.0
INITIATIONS_PER_SECOND = 50
INITIATION_MIN_INTERVAL = 1.0 / INITIATIONS_PER_SECOND  # 20 ms between consumed initiations
ZERO_KEY_MATERIAL_AFTER = REJECT_AFTER_TIME * 3  # 540 s
# receive.c keep_key_fresh: the initiator rekeys once when a received key gets this old.
LAST_MINUTE_REKEY_AGE = REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT  # 165 s
PERSISTENT_KEEPALIVE_MAX = 65535

TAI64_BASE = 0x400000000000000A
# The kernel rounds the nanoseconds down to a multiple of 2**24 ns so that the
# timestamp leaks no fine-grained clock (and stays monotonic enough).
TAI64N_NSEC_MASK = ~((1 << 24) - 1) & 0xFFFFFFFF

DEFAULT_MTU = 1420

# Rate limiter for handshakes under load (ratelimiter.c).
RATELIMIT_PACKETS_PER_SECOND = 20
RATELIMIT_BURST = 5

# --- Implementation limits -------------------------------------------------

MAX_STAGED_PACKETS = 128  # per peer; the oldest is dropped beyond this
MAX_PEERS = 1 << 16  # as wireguard-go
MAX_INDICES = 1 << 20  # receiver-index table entries (3 keypairs + 1 handshake per peer)
RATELIMIT_MAX_ENTRIES = 8192  # source addresses tracked by the rate limiter
RATELIMIT_GC_INTERVAL = 1.0
UNDER_LOAD_STICKY = 1.0  # seconds a "under load" report lasts (receive.c)
