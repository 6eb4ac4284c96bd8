"""su prompts counted on a simulated phone (`from support.su import su_prompts`):
what "one su per user operation" is measured by in the device and TUI tests."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any


class Prompts:
    """How many su prompts the phone showed (each tapped Grant)."""

    def __init__(self) -> None:
        self.count = 0


@contextlib.contextmanager
def su_prompts(phone: Any) -> Iterator[Prompts]:
    """Every su invocation meanwhile, counted: Magisk's policy is `pending`
    (each root request of the shell user shows a prompt, sim/phone/zygote.py
    su_request), and a tapper grants each prompt and counts it."""
    seen = Prompts()
    stop = threading.Event()
    phone.set_su_policy("pending", timeout=120)

    def tap() -> None:
        while not stop.is_set():
            seen.count += phone.answer_su(True)
            stop.wait(0.05)

    tapper = threading.Thread(target=tap, daemon=True)
    tapper.start()
    try:
        yield seen
    finally:
        stop.set()
        tapper.join(10)
        seen.count += phone.answer_su(True)
        phone.set_su_policy("grant")
