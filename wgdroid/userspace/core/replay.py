"""The receive-side replay window: RFC 6479 without bit shifting (kernel counter.c).

A ring of 128 64-bit words (8192 bits) of which 8128 are usable. The stored
`counter` is the highest accepted counter + 1 (0 = nothing received), as in the
kernel. Call after decryption and in order: only authenticated counters may
move the window.
"""

from __future__ import annotations

from wgdroid.userspace.core.constants import (
    COUNTER_BITS_TOTAL,
    COUNTER_WINDOW_SIZE,
    COUNTER_WORD_BITS,
    REJECT_AFTER_MESSAGES,
)

_WORDS = COUNTER_BITS_TOTAL // COUNTER_WORD_BITS  # 128
_WORD_MASK = _WORDS - 1
_BIT_MASK = COUNTER_WORD_BITS - 1
_WORD_SHIFT = COUNTER_WORD_BITS.bit_length() - 1  # 6


class ReplayWindow:
    __slots__ = ("backtrack", "counter")

    def __init__(self) -> None:
        self.counter = 0
        self.backtrack = [0] * _WORDS

    def validate(self, their_counter: int) -> bool:
        """True (and mark as seen) if `their_counter` is new and inside the window."""
        counter = self.counter
        if counter >= REJECT_AFTER_MESSAGES + 1 or their_counter >= REJECT_AFTER_MESSAGES:
            return False
        their_counter += 1
        if COUNTER_WINDOW_SIZE + their_counter < counter:
            return False
        index = their_counter >> _WORD_SHIFT
        backtrack = self.backtrack
        if their_counter > counter:
            index_current = counter >> _WORD_SHIFT
            top = index - index_current  # words to clear (0 in order, in the same word)
            if top:
                for i in range(1, (top if top < _WORDS else _WORDS) + 1):
                    backtrack[(i + index_current) & _WORD_MASK] = 0
            self.counter = their_counter
        index &= _WORD_MASK
        bit = 1 << (their_counter & _BIT_MASK)
        word = backtrack[index]
        if word & bit:
            return False
        backtrack[index] = word | bit
        return True

    def validate_run(self, counters: list[int]) -> list[bool]:
        """`validate` for each counter in order. A run of consecutive counters all
        above the window's top (a bulk flow in order) is marked word by word
        instead of bit by bit, with the same result."""
        n = len(counters)
        first = counters[0] if n else 0
        if (
            n < 2
            or first < self.counter  # the stored counter is the top + 1
            or first + n > REJECT_AFTER_MESSAGES
            or self.counter >= REJECT_AFTER_MESSAGES + 1
            or counters != list(range(first, first + n))
        ):
            validate = self.validate
            return [validate(c) for c in counters]
        lo, hi = first + 1, first + n  # stored form: counter + 1
        backtrack = self.backtrack
        index_current = self.counter >> _WORD_SHIFT
        top = (hi >> _WORD_SHIFT) - index_current
        for i in range(1, (top if top < _WORDS else _WORDS) + 1):
            backtrack[(i + index_current) & _WORD_MASK] = 0
        self.counter = hi
        # Only the last _WORDS words are kept: older bits fall out of the window.
        start = max(lo, (hi >> _WORD_SHIFT) - _WORDS + 1 << _WORD_SHIFT)
        w = start >> _WORD_SHIFT
        last_w = hi >> _WORD_SHIFT
        while w <= last_w:
            a = start if w == start >> _WORD_SHIFT else w << _WORD_SHIFT
            b = hi if w == last_w else (w << _WORD_SHIFT) | _BIT_MASK
            bits = ((1 << (b - a + 1)) - 1) << (a & _BIT_MASK)
            backtrack[w & _WORD_MASK] |= bits
            w += 1
        return [True] * n
