"""When the TUI module started importing: the app logs time to first paint from it."""

from __future__ import annotations

import time

START = time.perf_counter()
