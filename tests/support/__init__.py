"""Helpers every test directory imports (`from support import wait_until`).

Tests wait on an observable effect, never for a fixed time: a loaded 2-core
machine turns a guessed sleep into a flake. Importable from every test dir
because tests/conftest.py puts tests/ on sys.path (pytest's prepend mode).
"""

from support.cli import wgdroid_main
from support.device import adb_state, wait_for_adb_state, wait_for_handshake, wgdroid
from support.wait import wait_until, wait_until_async

__all__ = ["adb_state", "wait_for_adb_state", "wait_for_handshake", "wait_until",
           "wait_until_async", "wgdroid", "wgdroid_main"]
